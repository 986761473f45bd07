import diagnostics_channel from 'node:diagnostics_channel';
import { StreamReader } from '../streams/reader';
import type { StreamWriter } from '../streams/writer';

/**
 * What roletalk publishes on `node:diagnostics_channel`. Nothing is built for a channel nobody
 * subscribes to: every publisher checks `hasSubscribers` first.
 *
 * - `roletalk:request` (TracingChannel, calling side): `start`, `end`, `asyncStart`, `asyncEnd`
 *   and `error` for every request; the message is a RequestTrace, with `result` (the response
 *   Context) or `error` once it settles.
 * - `roletalk:request:handled`: an incoming request was answered: `{ role, event, unitId, ok, error }`.
 * - `roletalk:message`: an incoming message reached a role: `{ role, event, unitId }`.
 * - `roletalk:connection:open` / `roletalk:connection:close`: `{ unitId, connectionId, outbound,
 *   remoteAddress }`, and `code`, `reason` on close.
 * - `roletalk:handshake`: `{ ok, unitId?, connectionId, remoteAddress, error? }`.
 * - `roletalk:stream:open` / `roletalk:stream:close`: `{ unitId, role, event, connectionId,
 *   side: 'requester' | 'handler', kind: 'readable' | 'writable' }`, and `error` on close.
 */

export interface RequestTrace {
  role: string;
  event: string;
  unitId: string;
  /** The connection the request went out on (known once it is sent). */
  connectionId: number | undefined;
  result?: unknown;
  error?: unknown;
}

export const requestChannel = diagnostics_channel.tracingChannel<unknown, RequestTrace>('roletalk:request');

export const channels = {
  handled: diagnostics_channel.channel('roletalk:request:handled'),
  message: diagnostics_channel.channel('roletalk:message'),
  connectionOpen: diagnostics_channel.channel('roletalk:connection:open'),
  connectionClose: diagnostics_channel.channel('roletalk:connection:close'),
  handshake: diagnostics_channel.channel('roletalk:handshake'),
  streamOpen: diagnostics_channel.channel('roletalk:stream:open'),
  streamClose: diagnostics_channel.channel('roletalk:stream:close'),
} as const;

/** Whether anyone listens to the request tracing channel (any of its five). */
export function requestTraced(): boolean {
  return (
    requestChannel.start.hasSubscribers ||
    requestChannel.end.hasSubscribers ||
    requestChannel.asyncStart.hasSubscribers ||
    requestChannel.asyncEnd.hasSubscribers ||
    requestChannel.error.hasSubscribers
  );
}

/** Publishes a stream's open, and its close when it comes, to `roletalk:stream:*` subscribers. */
export function traceStream(
  unitId: string,
  role: string,
  event: string,
  connectionId: number,
  side: 'requester' | 'handler',
  stream: StreamReader | StreamWriter,
): void {
  if (!channels.streamOpen.hasSubscribers && !channels.streamClose.hasSubscribers) return;
  const message = { unitId, role, event, connectionId, side, kind: stream instanceof StreamReader ? 'readable' : 'writable' };
  channels.streamOpen.publish(message);
  stream.once('close', () => channels.streamClose.publish({ ...message, error: stream.errored ?? undefined }));
}

