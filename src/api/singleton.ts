import { Peer, type PeerOptions } from './peer';

let shared: Peer | undefined;

/** One Peer shared by every module of a process: the first call's options make it. */
export function Singleton(options?: PeerOptions): Peer {
  if (shared === undefined) shared = new Peer(options);
  return shared;
}
