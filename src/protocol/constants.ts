/** Wire constants of the roletalk protocol 2.0.0. Section numbers refer to docs/protocol.md. */

export const PROTOCOL_VERSION = '2.0.0';

/** First byte of every frame (§2 handshake kinds, §3 frame types). */
export const FrameType = {
  HS_ERROR: 0,
  HS_CHALLENGE: 1,
  HS_RESPONSE: 2,
  HS_CONFIRMED: 3,
  MESSAGE: 100,
  REQUEST: 101,
  RESPONSE: 102,
  REQUEST_READABLE: 103,
  REQUEST_WRITABLE: 104,
  REJECT: 105,
  STREAM_DATA: 106,
  STREAM_RESOLVE: 107,
  STREAM_REJECT: 108,
  ACQUAINT: 200,
  ROLES: 201,
  /** Extension `cancel` (§9): the caller gave up on a request. Only toward peers that offer it. */
  CANCEL: 120,
  /** Extension `deadline` (§9): a REQUEST that carries the time it has left. */
  REQUEST_DEADLINE: 121,
} as const;
export type FrameTypeCode = (typeof FrameType)[keyof typeof FrameType];

/** First byte of a typed payload (§3 "Payloads"). */
export const DataType = {
  BINARY: 0,
  NULL: 1,
  BOOLEAN: 2,
  STRING: 3,
  NUMBER: 4,
  OBJECT: 5,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** The names the original API reports as `ctx.type`, indexed by datatype byte. */
export const DATA_TYPE_NAMES = ['binary', 'null', 'boolean', 'string', 'number', 'object'] as const;
export type DataTypeName = (typeof DATA_TYPE_NAMES)[number];

/** STREAM_DATA flag byte (§6). */
export const StreamFlag = {
  CHUNK: 0,
  FINISH: 1,
  ERROR: 2,
  QUOTA: 3,
} as const;
export type StreamFlagCode = (typeof StreamFlag)[keyof typeof StreamFlag];

/**
 * The extensions of §9 this library offers in CONFIRMED (`"ext": {"resend": 1, ...}`) and uses
 * only toward peers that offer them too.
 */
export const Extension = {
  /** Requests in flight on a lost connection are sent again on another; the server answers once. */
  RESEND: 'resend',
  /** CANCEL frames: the serving handler's `ctx.signal` aborts when the caller gives up. */
  CANCEL: 'cancel',
  /** REQUEST_DEADLINE frames: the serving handler learns how long the caller waits (`ctx.deadline`). */
  DEADLINE: 'deadline',
  /** The largest message the sender accepts, in bytes: frames to it stay within (its `maxPayload`). */
  MAX_PAYLOAD: 'maxPayload',
} as const;

/** Varnums are at most 7 bytes: ids stay below 2^53 (§4). */
export const MAX_VARNUM_BYTES = 7;

/** Timings of §1, §2 and §8, in milliseconds. */
export const Timing = {
  HEARTBEAT_INTERVAL: 5000,
  HEARTBEAT_TIMEOUT: 2000,
  HANDSHAKE_TIMEOUT: 4000,
  REQUEST_TIMEOUT: 5 * 60 * 1000,
  /** Reconnection delays after each failed attempt; the last one repeats (§8). */
  RECONNECT_DELAYS: [0, 1000, 2000, 3000, 4000, 5000, 10000, 30000, 60000] as readonly number[],
} as const;

/** The automatic REJECT texts of §4, which other peers may match on. */
export const RejectText = {
  roleNotRegistered: (role: string) => `The role "${role}" is not registered`,
  roleDisabled: (role: string) => `The role "${role}" is disabled`,
  eventNotHandled: (event: string) => `The event "${event}" is not handled`,
} as const;
