import { AuthError, ProtocolError, RoletalkError } from '../errors';
import { FrameType } from './constants';
import { decodeHandshakeFrame, type PeerInfo } from './decoder';

/**
 * The handshake of docs/protocol.md §2 as a pure state machine: frames in, actions out. It knows
 * nothing of sockets, time or how an HMAC is computed, so the same code runs on the main
 * thread and in an I/O thread, and its tests need no socket.
 *
 * HMACs are asked for with an `hmac` action; the driver computes them (inline or in a worker)
 * and hands the result to `hmacDone`. Frames that arrive meanwhile are queued here and handled
 * after, in arrival order. Frames that arrive after success (none should, but a fast remote may
 * pipeline) come back as `frame` actions, in order, for the engine.
 */

export type HandshakeAction =
  | { kind: 'send'; frame: Buffer }
  | { kind: 'hmac'; key: string; message: string }
  | { kind: 'success'; remote: PeerInfo }
  | { kind: 'fail'; error: RoletalkError; remoteRejected: boolean }
  | { kind: 'frame'; frame: Buffer };

export interface HandshakeOptions {
  /** Preshared keys by id, in the order they are offered. Empty: this side confirms at once. */
  keys: ReadonlyMap<string, string>;
  /** This side's CONFIRMED data, built when it is sent so that `time` and `roles` are fresh. */
  confirmation: () => object;
  /** 64 hex chars from 32 random bytes. */
  challenge: () => string;
  /** Constant-time comparison of two hex strings of equal length. */
  equal: (a: string, b: string) => boolean;
}

const enum State {
  Running,
  Done,
  Failed,
}

export class Handshake {
  private state = State.Running;
  private sentConfirmation = false;
  private remote: PeerInfo | null = null;
  private challengeSent: string | null = null;
  /** What the pending HMAC is for; while set, incoming frames wait in `queue`. */
  private pending: { purpose: 'prove'; id: string } | { purpose: 'verify'; id: string; proof: string } | null = null;
  private readonly queue: Buffer[] = [];

  constructor(private readonly options: HandshakeOptions) {}

  get done(): boolean {
    return this.state === State.Done;
  }

  get failed(): boolean {
    return this.state === State.Failed;
  }

  /** The first frames, sent as soon as the connection opens. */
  start(): HandshakeAction[] {
    const out: HandshakeAction[] = [];
    if (this.options.keys.size === 0) {
      this.confirm(out);
    } else {
      this.challengeSent = this.options.challenge();
      out.push(this.json(FrameType.HS_CHALLENGE, { challenge: this.challengeSent, ids: [...this.options.keys.keys()] }));
    }
    return out;
  }

  /** A frame received from the remote. */
  receive(frame: Buffer): HandshakeAction[] {
    const out: HandshakeAction[] = [];
    if (this.state === State.Failed) return out;
    if (this.state === State.Done) {
      out.push({ kind: 'frame', frame });
      return out;
    }
    // A refusal ends the handshake whatever waits: it is not queued behind a pending HMAC
    // (the remote closes right after sending it, and the reason must not be lost).
    if (this.pending !== null && frame[0] !== FrameType.HS_ERROR) {
      this.queue.push(frame);
      return out;
    }
    this.handle(frame, out);
    return out;
  }

  /** The result of the last `hmac` action, as lowercase hex. */
  hmacDone(hex: string): HandshakeAction[] {
    const out: HandshakeAction[] = [];
    const pending = this.pending;
    if (pending === null || this.state !== State.Running) return out;
    this.pending = null;
    if (pending.purpose === 'prove') {
      out.push(this.json(FrameType.HS_RESPONSE, { proof: hex, id: pending.id }));
    } else if (pending.proof.length === hex.length && this.options.equal(pending.proof, hex)) {
      this.confirm(out);
    } else {
      this.fail(out, new AuthError(`Preshared key mismatch. Chosen id: ${pending.id}`), true);
    }
    this.drain(out);
    return out;
  }

  /** The driver's timer ran out (§2: 4 s). */
  timeout(error: RoletalkError): HandshakeAction[] {
    const out: HandshakeAction[] = [];
    if (this.state === State.Running) this.fail(out, error, true);
    return out;
  }

  private drain(out: HandshakeAction[]): void {
    while (this.queue.length > 0 && this.pending === null && this.state !== State.Failed) {
      const frame = this.queue.shift()!;
      if (this.state === State.Done) out.push({ kind: 'frame', frame });
      else this.handle(frame, out);
    }
    if (this.state === State.Failed) this.queue.length = 0;
  }

  private handle(buf: Buffer, out: HandshakeAction[]): void {
    let frame;
    try {
      frame = decodeHandshakeFrame(buf);
    } catch (err) {
      this.fail(out, err instanceof RoletalkError ? err : new ProtocolError('RT_ERR_PROTOCOL', String(err)), true);
      return;
    }
    switch (frame.type) {
      case FrameType.HS_ERROR:
        this.fail(out, new AuthError(`The remote peer refused the handshake: ${frame.reason}`), false);
        return;
      case FrameType.HS_CHALLENGE: {
        const id = frame.ids.find((candidate) => this.options.keys.has(candidate));
        if (id === undefined) {
          this.fail(out, new AuthError(`The peer has not such proofs: ${frame.ids.join(',')}`), true);
          return;
        }
        this.pending = { purpose: 'prove', id };
        out.push({ kind: 'hmac', key: this.options.keys.get(id)!, message: frame.challenge });
        return;
      }
      case FrameType.HS_RESPONSE: {
        const key = this.options.keys.get(frame.id);
        if (key === undefined || this.challengeSent === null) {
          // 1.1.x's text for a proof under an id this side does not hold.
          this.fail(out, new AuthError(`Verification ID is not registered: ${frame.id}`), true);
          return;
        }
        this.pending = { purpose: 'verify', id: frame.id, proof: frame.proof.toLowerCase() };
        out.push({ kind: 'hmac', key, message: this.challengeSent });
        return;
      }
      case FrameType.HS_CONFIRMED:
        this.remote = frame;
        this.checkDone(out);
        return;
    }
  }

  private confirm(out: HandshakeAction[]): void {
    if (this.sentConfirmation) return;
    this.sentConfirmation = true;
    out.push(this.json(FrameType.HS_CONFIRMED, this.options.confirmation()));
    this.checkDone(out);
  }

  private checkDone(out: HandshakeAction[]): void {
    // A keyed side confirms only after a valid proof, so success needs both confirmations.
    if (this.sentConfirmation && this.remote !== null && this.state === State.Running) {
      this.state = State.Done;
      out.push({ kind: 'success', remote: this.remote });
    }
  }

  private fail(out: HandshakeAction[], error: RoletalkError, tellRemote: boolean): void {
    this.state = State.Failed;
    this.pending = null;
    this.queue.length = 0;
    if (tellRemote) {
      const reason = error instanceof AuthError ? error.message : `Handshake error: ${error.message}`;
      out.push(this.json(FrameType.HS_ERROR, reason));
    }
    out.push({ kind: 'fail', error, remoteRejected: !tellRemote });
  }

  private json(type: number, value: unknown): HandshakeAction {
    const text = JSON.stringify(value);
    const frame = Buffer.allocUnsafe(1 + Buffer.byteLength(text));
    frame[0] = type;
    frame.write(text, 1, 'utf8');
    return { kind: 'send', frame };
  }
}
