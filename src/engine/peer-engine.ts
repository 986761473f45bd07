import type { Unit } from '../api/unit';
import type { AcquaintFrame } from '../protocol/decoder';
import type { FrameEncoder } from '../protocol/encoder';
import type { Connection } from '../transport/connection';
import type { RoletalkError } from '../errors';
import type { Dispatcher } from './dispatcher';

/** What a Unit needs from the peer that owns it. The Peer implements it. */
export interface PeerEngine {
  readonly encoder: FrameEncoder;
  readonly requestTimeout: number;
  readonly dispatcher: Dispatcher;
  readonly acquaintance: { receive(frame: AcquaintFrame): void };
  closeUnit(unit: Unit): void;
  /** The user closed this connection with `{ redial: false }`: if this side dialed it, do not redial (§8). */
  stopRedial(conn: Connection): void;
  protocolError(unit: Unit, conn: Connection, error: RoletalkError): void;
  unitRolesChanged(unit: Unit): void;
}
