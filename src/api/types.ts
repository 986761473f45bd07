import type { Readable, Writable } from 'node:stream';
import type { Context } from './context';

/**
 * The type names that roletalk 1.1.x exported, so that TypeScript code written against it
 * compiles unchanged. The classes themselves (Peer, Role, Destination, Unit, Context) are the
 * real ones; these are aliases and shapes around them.
 */

/** Any value a message, request or response can carry (functions travel as null). */
type SendableDatum = string | number | object | Buffer | null | undefined;
export type sendableData = SendableDatum | SendableDatum[];

/** `{ event, unit?, timeout? }`: the object form of the event argument of Destination methods. */
export interface EmitOptions {
  event: string;
  /** Request and stream timeout in ms. */
  timeout?: number;
  /** The unit to use instead of the next one in turn. */
  unit?: import('./unit').Unit;
}

/** What a remote peer says about itself in the handshake (`unit.meta`). */
export interface PeerMetaData {
  os: string;
  runtime: string;
  time: number;
  uptime: number;
  protocol: string;
}

/** The context of an incoming stream the remote writes to: `readable` is ours to read. */
export type ContextForReadable = Context & { readable: Readable };
/** The context of an incoming stream the remote reads from: `writable` is ours to write. */
export type ContextForWritable = Context & { writable: Writable };

/** The reply callback of request and stream handlers: `cb(err)` rejects, `cb(null, data)` answers. */
export type RequestCallback = (err: Error | null, data?: sendableData) => void;

export type MessageHandler = (ctx: Context) => void;
export type RequestHandler = (ctx: Context, cb: RequestCallback) => void;
export type ReadableHandler = (ctx: ContextForReadable, cb: RequestCallback) => void;
export type WritableHandler = (ctx: ContextForWritable, cb: RequestCallback) => void;
