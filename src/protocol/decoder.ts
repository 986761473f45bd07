import { ProtocolError } from '../errors';
import { FrameType } from './constants';
import { parseJson } from './payload';
import { readStreamId, readVarnum } from './varnum';

/**
 * Reads a received frame (one WebSocket binary message) into a plain object of views.
 *
 * Names are decoded once here; payloads stay views of the received Buffer (no copy) and are
 * decoded only when asked for (`decodePayload`). Every length is checked against the end of the
 * frame before it is used; anything off is a `ProtocolError`, never a read out of bounds or an
 * exception of another kind.
 */

export interface MessageFrame {
  type: typeof FrameType.MESSAGE;
  role: string;
  event: string;
  /** The typed payload, datatype byte first; a view of the received frame. */
  payload: Buffer;
}

export interface RequestFrame {
  type: typeof FrameType.REQUEST | typeof FrameType.REQUEST_DEADLINE;
  role: string;
  event: string;
  corr: number;
  payload: Buffer;
  /** REQUEST_DEADLINE (extension `deadline`): the milliseconds the caller still waits. */
  deadlineMs?: number;
}

export interface ReplyFrame {
  type: typeof FrameType.RESPONSE | typeof FrameType.REJECT;
  corr: number;
  payload: Buffer;
}

export interface StreamRequestFrame {
  type: typeof FrameType.REQUEST_READABLE | typeof FrameType.REQUEST_WRITABLE;
  role: string;
  event: string;
  corr: number;
  /** The requester's stream id; -1 when it was not written in minimal bytes. */
  chan: number;
  payload: Buffer;
}

export interface StreamReplyFrame {
  type: typeof FrameType.STREAM_RESOLVE | typeof FrameType.STREAM_REJECT;
  corr: number;
  chan: number;
  payload: Buffer;
}

export interface StreamDataFrame {
  type: typeof FrameType.STREAM_DATA;
  /** The receiving endpoint's id; -1 when not minimal (matches no stream, §6). */
  id: number;
  flag: number;
  /** Chunk bytes, error text or quota varnum, as a view. */
  body: Buffer;
}

export interface AcquaintFrame {
  type: typeof FrameType.ACQUAINT;
  id: string;
  /** Missing in entries some original peers send; such entries are ignored (§7). */
  address: string | undefined;
  roles: string[];
}

export interface RolesFrame {
  type: typeof FrameType.ROLES;
  i: number;
  roles: string[];
}

export interface HandshakeErrorFrame {
  type: typeof FrameType.HS_ERROR;
  reason: string;
}

export interface ChallengeFrame {
  type: typeof FrameType.HS_CHALLENGE;
  challenge: string;
  ids: string[];
}

export interface ProofFrame {
  type: typeof FrameType.HS_RESPONSE;
  proof: string;
  id: string;
}

export interface PeerInfo {
  id: string;
  roles: string[];
  friendly: boolean;
  name: string;
  meta: Record<string, unknown>;
  tags: Record<string, string>;
  /** Extensions the remote offers (§9); empty for original peers. */
  ext: Record<string, unknown>;
}

export interface ConfirmedFrame extends PeerInfo {
  type: typeof FrameType.HS_CONFIRMED;
}

export type HandshakeFrame = HandshakeErrorFrame | ChallengeFrame | ProofFrame | ConfirmedFrame;

/** CANCEL (120) of extension `cancel`. */
export interface CancelFrame {
  type: typeof FrameType.CANCEL;
  corr: number;
}

export type Frame =
  | CancelFrame
  | MessageFrame
  | RequestFrame
  | ReplyFrame
  | StreamRequestFrame
  | StreamReplyFrame
  | StreamDataFrame
  | AcquaintFrame
  | RolesFrame;

/**
 * The largest control frame (ROLES, ACQUAINT, handshake) read: they carry short lists, and JSON
 * that is large or deeply nested costs its reader time (200 KB nested 100,000 deep: 46 ms).
 */
export const MAX_CONTROL_FRAME = 64 * 1024;

function parseControl(buf: Buffer, what: string): unknown {
  if (buf.length > MAX_CONTROL_FRAME) {
    throw new ProtocolError('RT_ERR_PROTOCOL', `A ${what} frame of ${buf.length} bytes is over the ${MAX_CONTROL_FRAME}-byte limit`);
  }
  return parseJson(buf, 1, what);
}

function truncated(what: string): ProtocolError {
  return new ProtocolError('RT_ERR_FRAME_TRUNCATED', `Truncated ${what} frame`);
}

/** Decodes a frame of §3 (types 100 to 201). Handshake frames go to `decodeHandshakeFrame`. */
export function decodeFrame(buf: Buffer): Frame {
  const len = buf.length;
  if (len === 0) throw truncated('empty');
  const type = buf[0]!;
  switch (type) {
    case FrameType.MESSAGE: {
      if (len < 5) throw truncated('message');
      const roleEnd = 5 + buf.readUInt16BE(1);
      const eventEnd = roleEnd + buf.readUInt16BE(3);
      if (eventEnd > len) throw truncated('message');
      return {
        type,
        role: buf.toString('utf8', 5, roleEnd),
        event: buf.toString('utf8', roleEnd, eventEnd),
        payload: buf.subarray(eventEnd),
      };
    }
    case FrameType.REQUEST:
    case FrameType.REQUEST_DEADLINE: {
      // REQUEST_DEADLINE (extension `deadline`) has the milliseconds left, a u32, after corrLen.
      const header = type === FrameType.REQUEST ? 6 : 10;
      if (len < header) throw truncated('request');
      const roleEnd = header + buf.readUInt16BE(1);
      const eventEnd = roleEnd + buf.readUInt16BE(3);
      const corrLen = buf[5]!;
      const corrEnd = eventEnd + corrLen;
      if (corrEnd > len) throw truncated('request');
      const frame: RequestFrame = {
        type,
        role: buf.toString('utf8', header, roleEnd),
        event: buf.toString('utf8', roleEnd, eventEnd),
        corr: readVarnum(buf, eventEnd, corrLen),
        payload: buf.subarray(corrEnd),
      };
      if (header === 10) frame.deadlineMs = buf.readUInt32BE(6);
      return frame;
    }
    case FrameType.RESPONSE:
    case FrameType.REJECT: {
      if (len < 2) throw truncated(type === FrameType.RESPONSE ? 'response' : 'reject');
      const corrLen = buf[1]!;
      const corrEnd = 2 + corrLen;
      if (corrEnd > len) throw truncated(type === FrameType.RESPONSE ? 'response' : 'reject');
      return { type, corr: readVarnum(buf, 2, corrLen), payload: buf.subarray(corrEnd) };
    }
    case FrameType.REQUEST_READABLE:
    case FrameType.REQUEST_WRITABLE: {
      if (len < 7) throw truncated('stream request');
      const roleEnd = 7 + buf.readUInt16BE(1);
      const eventEnd = roleEnd + buf.readUInt16BE(3);
      const corrLen = buf[5]!;
      const chanLen = buf[6]!;
      const corrEnd = eventEnd + corrLen;
      const chanEnd = corrEnd + chanLen;
      if (chanEnd > len) throw truncated('stream request');
      return {
        type,
        role: buf.toString('utf8', 7, roleEnd),
        event: buf.toString('utf8', roleEnd, eventEnd),
        corr: readVarnum(buf, eventEnd, corrLen),
        chan: readStreamId(buf, corrEnd, chanLen),
        payload: buf.subarray(chanEnd),
      };
    }
    case FrameType.STREAM_RESOLVE:
    case FrameType.STREAM_REJECT: {
      if (len < 3) throw truncated('stream reply');
      const corrLen = buf[1]!;
      const chanLen = buf[2]!;
      const corrEnd = 3 + corrLen;
      const chanEnd = corrEnd + chanLen;
      if (chanEnd > len) throw truncated('stream reply');
      const corr = readVarnum(buf, 3, corrLen);
      // A STREAM_REJECT carries chan 0 (one byte) from the original; nothing reads it.
      const chan = type === FrameType.STREAM_REJECT && chanLen === 0 ? 0 : readStreamId(buf, corrEnd, chanLen);
      return { type, corr, chan, payload: buf.subarray(chanEnd) };
    }
    case FrameType.STREAM_DATA: {
      if (len < 2) throw truncated('stream data');
      const idLen = buf[1]!;
      const flagAt = 2 + idLen;
      if (flagAt >= len) throw truncated('stream data');
      const flag = buf[flagAt]!;
      if (flag > 3) throw new ProtocolError('RT_ERR_PROTOCOL', `Unknown stream flag ${flag}`);
      return { type, id: readStreamId(buf, 2, idLen), flag, body: buf.subarray(flagAt + 1) };
    }
    case FrameType.ACQUAINT: {
      const json = parseControl(buf, 'ACQUAINT') as Record<string, unknown>;
      if (!isObject(json) || typeof json.id !== 'string' || !isStringArray(json.roles)) {
        throw shape('ACQUAINT', '{"id": string, "address": string, "roles": string[]}');
      }
      const address = typeof json.address === 'string' ? json.address : undefined;
      return { type, id: json.id, address, roles: json.roles };
    }
    case FrameType.ROLES: {
      const json = parseControl(buf, 'ROLES') as Record<string, unknown>;
      if (!isObject(json) || typeof json.i !== 'number' || !isStringArray(json.roles)) {
        throw shape('ROLES', '{"i": number, "roles": string[]}');
      }
      return { type, i: json.i, roles: json.roles };
    }
    case FrameType.CANCEL: {
      if (len < 2 || 2 + buf[1]! !== len) throw truncated('cancel');
      return { type, corr: readVarnum(buf, 2, buf[1]!) };
    }
    default:
      throw new ProtocolError('RT_ERR_FRAME_TYPE', `Unknown frame type ${type}`);
  }
}

/** Decodes a handshake frame (§2): kinds 0 to 3, `[u8 kind][json]`. */
export function decodeHandshakeFrame(buf: Buffer): HandshakeFrame {
  if (buf.length === 0) throw truncated('empty');
  const type = buf[0]!;
  switch (type) {
    case FrameType.HS_ERROR: {
      // The reason is a JSON string; a peer that sends plain text is still understood.
      let reason: unknown;
      try {
        reason = JSON.parse(buf.toString('utf8', 1));
      } catch {
        reason = buf.toString('utf8', 1);
      }
      return { type, reason: typeof reason === 'string' ? reason : JSON.stringify(reason) };
    }
    case FrameType.HS_CHALLENGE: {
      const json = parseControl(buf, 'CHALLENGE') as Record<string, unknown>;
      if (!isObject(json) || typeof json.challenge !== 'string' || !isStringArray(json.ids)) {
        throw shape('CHALLENGE', '{"challenge": string, "ids": string[]}');
      }
      return { type, challenge: json.challenge, ids: json.ids };
    }
    case FrameType.HS_RESPONSE: {
      const json = parseControl(buf, 'RESPONSE') as Record<string, unknown>;
      if (!isObject(json) || typeof json.proof !== 'string' || typeof json.id !== 'string') {
        throw shape('RESPONSE', '{"proof": string, "id": string}');
      }
      return { type, proof: json.proof, id: json.id };
    }
    case FrameType.HS_CONFIRMED: {
      const json = parseControl(buf, 'CONFIRMED') as Record<string, unknown>;
      if (!isObject(json) || typeof json.id !== 'string' || !isStringArray(json.roles)) {
        throw shape('CONFIRMED', '{"id": string, "roles": string[], ...}');
      }
      return {
        type,
        id: json.id,
        roles: json.roles,
        // Absent means friendly, as the original's default.
        friendly: json.friendly !== false,
        name: typeof json.name === 'string' ? json.name : '',
        meta: isObject(json.meta) ? (json.meta as Record<string, unknown>) : {},
        tags: stringRecord(json.tags),
        ext: isObject(json.ext) ? (json.ext as Record<string, unknown>) : {},
      };
    }
    default:
      throw new ProtocolError('RT_ERR_FRAME_TYPE', `Unexpected frame type ${type} during the handshake`);
  }
}

function shape(what: string, expected: string): ProtocolError {
  return new ProtocolError('RT_ERR_JSON', `${what} must be ${expected}`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false;
  for (const item of value) if (typeof item !== 'string') return false;
  return true;
}

/** Tags are string to string; anything else in them is dropped rather than trusted. */
/** Peers without tags share one frozen empty record (an empty object is some 56 bytes). */
const NO_TAGS: Record<string, string> = Object.freeze({});

function stringRecord(value: unknown): Record<string, string> {
  if (!isObject(value)) return NO_TAGS;
  let out: Record<string, string> | undefined;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v === 'string') (out ??= {})[key] = v;
  }
  return out ?? NO_TAGS;
}
