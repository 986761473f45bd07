import type { EngineEvents } from '../engine/peer-engine';
import type { RemotePeer } from '../engine/remote-peer';
import type { Destination } from './destination';
import type { Peer } from './peer';
import { Unit } from './unit';

/** The public Unit of a remote peer (made by `face` when the remote was created). */
export function unitOf(remote: RemotePeer): Unit {
  return remote.face as Unit;
}

/** What the engine reports, turned into the objects and events of the public API. */
export function peerEvents(peer: Peer, destinations: ReadonlyMap<string, Destination>): EngineEvents {
  return {
    face: (remote) => new Unit(remote, peer.engine),
    rolesChanged: (remote) => {
      for (const dest of destinations.values()) dest._update(unitOf(remote), remote.roles.has(dest.name));
    },
    opened: (remote) => peer.emit('unit', unitOf(remote)),
    closed: (remote) => {
      const unit = unitOf(remote);
      for (const dest of destinations.values()) dest._update(unit, false);
      unit.emit('close');
    },
    connectionClosed: (remote, conn, code, reason) => unitOf(remote)._connectionClosed(conn, code, reason),
    wants: (role) => destinations.has(role),
    // `count` as in 1.1.x's events; `unit` and `delay` are ours.
    reconnected: (address, remote, count) => peer.emit('reconnect_success', { address, count, unit: unitOf(remote) }),
    reconnectFailed: (address, error, delay, count) => peer.emit('reconnect_fail', { address, count, error, delay }),
    authError: (error) => peer.emit('auth_error', error),
    protocolError: (error, remote) => peer.emit('protocol_error', error, unitOf(remote)),
    discovered: (target, added, removed, addresses) => peer.emit('discovery', { target, added, removed, addresses }),
    discoveryFailed: (target, error, address) => peer.emit('discovery_error', address === undefined ? { target, error } : { target, error, address }),
    // A message handler failed; reported as 'error' when someone listens.
    handlerError: (err, ctx) => {
      if (peer.listenerCount('error') > 0) peer.emit('error', err, ctx);
    },
  };
}
