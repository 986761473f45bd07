import diagnostics_channel from 'node:diagnostics_channel';

/**
 * No-op subscribers to every diagnostics channel roletalk publishes on (src/engine/tracing.ts):
 * the five of the `roletalk:request` TracingChannel and the plain channels. roletalk builds a
 * message only for a channel with subscribers, so this is what tracing costs a process that has
 * a tracer attached, less the tracer's own work.
 */

export const PLAIN_CHANNELS = [
  'roletalk:request:handled',
  'roletalk:message',
  'roletalk:connection:open',
  'roletalk:connection:close',
  'roletalk:handshake',
  'roletalk:stream:open',
  'roletalk:stream:close',
] as const;

const noop = (): void => {};
const handlers = { start: noop, end: noop, asyncStart: noop, asyncEnd: noop, error: noop };
const request = diagnostics_channel.tracingChannel('roletalk:request');
let subscribed = false;

/** Subscribes the no-op handlers to every roletalk channel in this process, or takes them off. */
export function setTracing(on: boolean): void {
  if (on === subscribed) return;
  subscribed = on;
  if (on) {
    request.subscribe(handlers);
    for (const name of PLAIN_CHANNELS) diagnostics_channel.subscribe(name, noop);
  } else {
    request.unsubscribe(handlers);
    for (const name of PLAIN_CHANNELS) diagnostics_channel.unsubscribe(name, noop);
  }
}
