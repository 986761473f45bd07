import { FrameType } from '../protocol/constants';
import type { AcquaintFrame } from '../protocol/decoder';
import type { FrameEncoder } from '../protocol/encoder';
import type { RemotePeer } from './remote-peer';

export interface AcquaintanceHost {
  readonly friendly: boolean;
  readonly encoder: FrameEncoder;
  units(): Iterable<RemotePeer>;
  isConnectedOrDialing(id: string, address: string): boolean;
  wantsAnyRole(roles: readonly string[]): boolean;
  dial(address: string): void;
}

/**
 * Acquaintance (docs/protocol.md §7): peers introduce the peers they dialed, so that a friendly peer
 * that needs one of their roles connects to them directly. An entry is never sent without an
 * address, and an entry without one is ignored (the original crashes on it).
 *
 * Only ws:// and wss:// addresses are introduced or followed: a `ws+unix:` path means something
 * only on its own host, and the peer told of it may be on another (where it names nothing, or
 * another peer).
 */
export class Acquaintance {
  constructor(private readonly host: AcquaintanceHost) {}

  /** A unit has just connected (its first connection). */
  introduce(newcomer: RemotePeer): void {
    const host = this.host;
    if (!host.friendly) return;
    for (const other of host.units()) {
      if (other === newcomer) continue;
      if (newcomer.friendly && introducible(other.address)) newcomer.sendFrame(this.entry(other, other.address));
      if (other.friendly && introducible(newcomer.address)) other.sendFrame(this.entry(newcomer, newcomer.address));
    }
  }

  receive(frame: AcquaintFrame): void {
    const host = this.host;
    if (!host.friendly || !introducible(frame.address)) return;
    if (host.isConnectedOrDialing(frame.id, frame.address)) return;
    if (!host.wantsAnyRole(frame.roles)) return;
    host.dial(frame.address);
  }

  private entry(unit: RemotePeer, address: string): Buffer {
    return this.host.encoder.json(FrameType.ACQUAINT, { id: unit.id, address, roles: [...unit.roles] });
  }
}

/** An address another host can dial: ws:// or wss://, never ws+unix:. */
function introducible(address: string | undefined): address is string {
  return address !== undefined && /^wss?:\/\//.test(address);
}
