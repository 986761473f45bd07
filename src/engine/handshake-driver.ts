import type { HmacFn } from '../auth/keyring';
import { equalHex, newChallenge } from '../auth/keyring';
import { AuthError, CloseCode, ConnectionClosedError, HandshakeTimeoutError, type RoletalkError } from '../errors';
import type { PeerInfo } from '../protocol/decoder';
import { Handshake, type HandshakeAction } from '../protocol/handshake';
import type { Connection } from '../transport/connection';

/** What the handshake hands a connection to once it succeeds (a remote peer). */
export interface FrameSink {
  handleFrame(frame: Buffer, conn: Connection): void;
}

export interface HandshakeHooks<T extends FrameSink> {
  keys: ReadonlyMap<string, string>;
  hmac: HmacFn;
  /** Milliseconds the handshake may take (docs/protocol.md §2: 4000). */
  timeout: number;
  /** This side's CONFIRMED data, built when it is sent. */
  confirmation(): { roles: string[] } & Record<string, unknown>;
  /**
   * Success: the unit that takes the connection from now on. `sent` is the CONFIRMED this
   * side sent on it. Throwing an AuthError refuses the connection after all.
   */
  accept(remote: PeerInfo, sent: { roles: string[] }): T;
  /** The handshake failed (both sides' refusals, timeouts, malformed frames). */
  failed(error: RoletalkError): void;
}

/**
 * Runs the pure handshake machine of src/protocol/handshake.ts over a connection: sends what it
 * says, computes its HMACs (inline or through `hooks.hmac`, in order), enforces the timeout,
 * and hands the connection, with any frames that came right behind the handshake, to the unit.
 * A failed handshake closes the connection with 4002 (§2).
 */
export function driveHandshake<T extends FrameSink>(conn: Connection, hooks: HandshakeHooks<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let sent: { roles: string[] } = { roles: [] };
    const handshake = new Handshake({
      keys: hooks.keys,
      confirmation: () => (sent = hooks.confirmation()),
      challenge: newChallenge,
      equal: equalHex,
    });
    let unit: T | undefined;
    let settled = false;
    const fail = (error: RoletalkError): void => {
      clearTimeout(timer);
      settled = true;
      hooks.failed(error);
      conn.close(CloseCode.HANDSHAKE_FAILED, error.message);
      reject(error);
    };
    const act = (actions: HandshakeAction[]): void => {
      for (const action of actions) {
        switch (action.kind) {
          case 'send':
            conn.send(action.frame);
            break;
          case 'hmac': {
            const result = hooks.hmac(action.key, action.message);
            if (typeof result === 'string') act(handshake.hmacDone(result));
            else result.then((hex) => act(handshake.hmacDone(hex)), (err: Error) => act(handshake.timeout(new AuthError(err.message))));
            break;
          }
          case 'success':
            clearTimeout(timer);
            try {
              unit = hooks.accept(action.remote, sent);
            } catch (err) {
              fail(err as RoletalkError);
              return;
            }
            settled = true;
            resolve(unit);
            break;
          case 'frame':
            unit?.handleFrame(action.frame, conn);
            break;
          case 'fail':
            fail(action.error);
            break;
        }
      }
    };
    const timer = setTimeout(() => act(handshake.timeout(new HandshakeTimeoutError(hooks.timeout))), hooks.timeout);
    conn.onFrame = (frame) => act(handshake.receive(frame));
    conn.onClose = (code, reason) => {
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        reject(new ConnectionClosedError(code, reason));
      }
    };
    act(handshake.start());
  });
}
