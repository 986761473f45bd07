/**
 * Every error this library raises. One base class; each kind has a stable `code` string that
 * users can match on, and, where the error ends a connection, the WebSocket close code to use.
 */

/** WebSocket close codes this library sends (docs/protocol.md §1). Peers must not depend on them. */
export const CloseCode = {
  /** Closed on purpose (`unit.close()`, `peer.close()`); the original's code. */
  INTENTIONAL: 4000,
  /** No pong within the heartbeat timeout; the original's code. */
  HEARTBEAT_TIMEOUT: 4001,
  /** The handshake failed (auth refused, malformed or too slow); the original's code. */
  HANDSHAKE_FAILED: 4002,
  /** A frame that does not follow the protocol; roletalk-go uses the same number. */
  PROTOCOL_ERROR: 4006,
  /** RFC 6455 "Message Too Big": a frame above `maxPayload` (ws sends it itself). */
  MESSAGE_TOO_BIG: 1009,
  /** RFC 6455 "Try Again Later": an inbound connection refused, `maxPendingHandshakes` being reached. */
  TRY_AGAIN_LATER: 1013,
} as const;

export type ErrorCode =
  | 'RT_ERR_PROTOCOL'
  | 'RT_ERR_FRAME_TRUNCATED'
  | 'RT_ERR_FRAME_TYPE'
  | 'RT_ERR_DATATYPE'
  | 'RT_ERR_VARNUM'
  | 'RT_ERR_JSON'
  | 'RT_ERR_AUTH'
  | 'RT_ERR_HANDSHAKE_TIMEOUT'
  | 'RT_ERR_INVALID_ARG'
  | 'RT_ERR_NO_UNIT'
  | 'RT_ERR_REQUEST_TIMEOUT'
  | 'RT_ERR_REJECTED'
  | 'RT_ERR_UNIT_CLOSED'
  | 'RT_ERR_CONNECTION_CLOSED'
  | 'RT_ERR_HEARTBEAT_TIMEOUT'
  | 'RT_ERR_STREAM'
  | 'RT_ERR_ALREADY_LISTENING'
  | 'RT_ERR_PEER_CLOSED'
  | 'RT_ERR_CONNECTION_LOST'
  | 'RT_ERR_ABORTED'
  | 'RT_ERR_PAYLOAD_TOO_LARGE'
  | 'RT_ERR_OVERLOADED';

/**
 * What `err.ctx` holds, typed without the API's classes so that this module stays a leaf. It is
 * a `Context` (and `ctx.unit` a `Unit`): `err.ctx as Context` gives the full type.
 */
export interface FailedRequestContext {
  readonly unit: { readonly id: string; readonly name: string };
  readonly role: string;
  readonly event: string;
  readonly data: unknown;
  readonly rtt: number | undefined;
}

export class RoletalkError extends Error {
  readonly code: ErrorCode;
  /** The WebSocket close code that goes with this error, when it ends a connection. */
  readonly closeCode: number | undefined;
  /**
   * On the failure of a request (rejected, timed out, unit gone): the request's context, the
   * same Context object that 1.1.x-style callbacks get as their second argument: `unit`,
   * `role`, `event`, `rtt`, and `data` (the rejection's reason, or null).
   */
  ctx?: FailedRequestContext;

  constructor(code: ErrorCode, message: string, closeCode?: number) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.closeCode = closeCode;
  }
}

/** Bytes from the network that break docs/protocol.md. Ends the one connection that sent them. */
export class ProtocolError extends RoletalkError {
  constructor(
    code:
      | 'RT_ERR_PROTOCOL'
      | 'RT_ERR_FRAME_TRUNCATED'
      | 'RT_ERR_FRAME_TYPE'
      | 'RT_ERR_DATATYPE'
      | 'RT_ERR_VARNUM'
      | 'RT_ERR_JSON',
    message: string,
  ) {
    super(code, message, CloseCode.PROTOCOL_ERROR);
  }
}

/** The handshake was refused by either side, or its proof did not verify. */
export class AuthError extends RoletalkError {
  constructor(message: string) {
    super('RT_ERR_AUTH', message, CloseCode.HANDSHAKE_FAILED);
  }
}

export class HandshakeTimeoutError extends RoletalkError {
  constructor(ms: number) {
    super('RT_ERR_HANDSHAKE_TIMEOUT', `The handshake did not complete within ${ms} ms`, CloseCode.HANDSHAKE_FAILED);
  }
}

/** A bad argument from the caller; the message names the argument. */
export class InvalidArgumentError extends RoletalkError {
  readonly argument: string;
  constructor(argument: string, expected: string, got?: unknown) {
    const tail = arguments.length > 2 ? `, got ${describe(got)}` : '';
    super('RT_ERR_INVALID_ARG', `The argument "${argument}" must be ${expected}${tail}`);
    this.argument = argument;
  }
}

export class NoUnitError extends RoletalkError {
  readonly role: string;
  constructor(role: string) {
    // 1.1.x's text.
    super('RT_ERR_NO_UNIT', `No connected units with role [${role}]`);
    this.role = role;
  }
}

export class RequestTimeoutError extends RoletalkError {
  constructor(ms: number) {
    // 1.1.x's text.
    super('RT_ERR_REQUEST_TIMEOUT', `Request timeout exceeded (${ms} ms)`);
  }
}

/** The remote peer rejected the request; `message` is the remote's reason as it sent it. */
export class RejectedError extends RoletalkError {
  constructor(reason: string) {
    super('RT_ERR_REJECTED', reason);
  }
}

/** The last connection to the unit closed before the answer came. */
export class UnitClosedError extends RoletalkError {
  readonly unitId: string;
  constructor(unitId: string) {
    // 1.1.x's text.
    super('RT_ERR_UNIT_CLOSED', "All unit's sockets have been closed");
    this.unitId = unitId;
  }
}

/**
 * The connection a request was sent on dropped before the answer came, and the request could
 * not be sent again (the remote does not offer the `resend` extension and the request was not
 * marked `idempotent`). The remote may or may not have run it.
 */
export class ConnectionLostError extends RoletalkError {
  constructor(unitId: string) {
    super('RT_ERR_CONNECTION_LOST', `The connection to unit ${unitId} dropped before the answer came`);
  }
}

/**
 * The caller aborted the request through its AbortSignal. Named `AbortError` like the DOM
 * error, so code that checks `err.name === 'AbortError'` treats it as any other abort.
 */
export class AbortError extends RoletalkError {
  constructor(reason?: unknown) {
    super('RT_ERR_ABORTED', reason instanceof Error ? `The request was aborted: ${reason.message}` : 'The request was aborted');
    this.name = 'AbortError';
    if (reason !== undefined) (this as { cause?: unknown }).cause = reason;
  }
}

export class ConnectionClosedError extends RoletalkError {
  readonly wsCode: number;
  constructor(wsCode: number, reason: string) {
    super('RT_ERR_CONNECTION_CLOSED', `The connection closed (${wsCode}${reason ? `: ${reason}` : ''})`);
    this.wsCode = wsCode;
  }
}

export class HeartbeatTimeoutError extends RoletalkError {
  constructor(ms: number) {
    super('RT_ERR_HEARTBEAT_TIMEOUT', `No pong within ${ms} ms`, CloseCode.HEARTBEAT_TIMEOUT);
  }
}

/** A stream was refused or destroyed by the remote, or lost with its connection. */
export class StreamError extends RoletalkError {
  constructor(message: string) {
    super('RT_ERR_STREAM', message);
  }
}

export class AlreadyListeningError extends RoletalkError {
  constructor() {
    // 1.1.x's text.
    super('RT_ERR_ALREADY_LISTENING', '.listen has been called already');
  }
}

export class PeerClosedError extends RoletalkError {
  constructor() {
    super('RT_ERR_PEER_CLOSED', 'The peer is closed');
  }
}

/**
 * A frame this peer was asked to send is larger than its `maxPayload`: raised at the call, before
 * anything is sent. A remote's frame above the limit closes its connection with 1009 instead.
 */
export class PayloadTooLargeError extends RoletalkError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super('RT_ERR_PAYLOAD_TOO_LARGE', `The frame would be ${size} bytes, more than maxPayload (${limit} bytes)`, CloseCode.MESSAGE_TOO_BIG);
    this.size = size;
    this.limit = limit;
  }
}

/**
 * A per-unit limit is reached: `maxInFlight` requests waiting for an answer, or `maxStreams` open
 * streams. Nothing was sent; the call may be tried again once some finish.
 */
export class OverloadedError extends RoletalkError {
  /** The option whose limit was reached. */
  readonly limit: 'maxInFlight' | 'maxStreams';
  readonly max: number;
  constructor(limit: 'maxInFlight' | 'maxStreams', max: number) {
    const what = limit === 'maxInFlight' ? 'requests in flight' : 'open streams';
    super('RT_ERR_OVERLOADED', `Too many ${what} on this unit (${limit} ${max})`);
    this.limit = limit;
    this.max = max;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
