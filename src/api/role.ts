import { EventEmitter } from 'node:events';
import { InvalidArgumentError } from '../errors';
import type { Handler as EngineHandler } from '../engine/middleware';
import type { HandlerSet, RoleRoutes } from '../engine/routes';
import type { Context } from './context';
import type { Peer } from './peer';
import type { ContextForReadable, ContextForWritable } from './types';

/** A handler or middleware layer: `(ctx, reply)`; it may also reply by returning a value or a Promise. */
export type Handler = EngineHandler<Context>;
/** A handler of incoming streams, typed with the stream it gets (as 1.1.x's handler types). */
export type ReadableStreamHandler = EngineHandler<ContextForReadable>;
export type WritableStreamHandler = EngineHandler<ContextForWritable>;

/**
 * A named service this peer serves. Remote peers see its name while it is active and send it
 * messages, requests and streams by event.
 */
export class Role extends EventEmitter {
  /** @internal use `peer.role(name)` */
  constructor(
    readonly name: string,
    readonly peer: Peer,
    /** @internal what the engine routes to */ readonly routes: RoleRoutes,
  ) {
    super();
  }

  get active(): boolean {
    return this.routes.active;
  }

  enable(): void {
    if (this.routes.active) return;
    this.routes.active = true;
    this.peer._rolesChanged();
  }

  disable(): void {
    if (!this.routes.active) return;
    this.routes.active = false;
    this.peer._rolesChanged();
  }

  /** `onMessage(event, handler)` handles one event; `onMessage(handler)` is middleware for all. */
  onMessage(event: string | Handler, handler?: Handler): this {
    return this.register(this.routes.message, 'onMessage', event, handler);
  }

  /** `onRequest(event, handler)`: handler `(ctx, reply)` replies once; `onRequest(handler)`: middleware. */
  onRequest(event: string | Handler, handler?: Handler): this {
    return this.register(this.routes.request, 'onRequest', event, handler);
  }

  /** The remote wants to write to us: `ctx.readable` is ours to read. */
  onReadable(event: string | ReadableStreamHandler, handler?: ReadableStreamHandler): this {
    return this.register(this.routes.readable, 'onReadable', event as string | Handler, handler as Handler | undefined);
  }

  /** The remote wants to read from us: `ctx.writable` is ours to write. */
  onWritable(event: string | WritableStreamHandler, handler?: WritableStreamHandler): this {
    return this.register(this.routes.writable, 'onWritable', event as string | Handler, handler as Handler | undefined);
  }

  /** Middleware for every kind of incoming data of this role. */
  onData(handler: Handler): this {
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler', 'a function', handler);
    this.routes.data.push(handler as EngineHandler);
    return this;
  }

  private register(set: HandlerSet, method: string, event: string | Handler, handler?: Handler): this {
    if (typeof event === 'function') {
      set.middleware.push(event as EngineHandler);
      return this;
    }
    if (typeof event !== 'string') throw new InvalidArgumentError('event', `a string or a function (${method})`, event);
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler', `a function (${method})`, handler);
    set.on(event, handler as EngineHandler);
    return this;
  }
}
