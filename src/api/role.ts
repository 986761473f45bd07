import { EventEmitter } from 'node:events';
import { InvalidArgumentError } from '../errors';
import type { Handler } from '../engine/middleware';
import type { Peer } from './peer';

/** Handlers and middleware of one kind (message, request, readable, writable). */
export class HandlerSet {
  readonly byEvent = new Map<string, Handler>();
  readonly middleware: Handler[] = [];
}

/**
 * A named service this peer serves. Remote peers see its name while it is active and send it
 * messages, requests and streams by event.
 */
export class Role extends EventEmitter {
  /** @internal */ readonly message = new HandlerSet();
  /** @internal */ readonly requests = new HandlerSet();
  /** @internal */ readonly readables = new HandlerSet();
  /** @internal */ readonly writables = new HandlerSet();
  /** @internal */ readonly dataMiddleware: Handler[] = [];
  private isActive: boolean;

  /** @internal use `peer.role(name)` */
  constructor(
    readonly name: string,
    readonly peer: Peer,
    active: boolean,
  ) {
    super();
    this.isActive = active;
  }

  get active(): boolean {
    return this.isActive;
  }

  enable(): void {
    if (this.isActive) return;
    this.isActive = true;
    this.peer._rolesChanged();
  }

  disable(): void {
    if (!this.isActive) return;
    this.isActive = false;
    this.peer._rolesChanged();
  }

  /** `onMessage(event, handler)` handles one event; `onMessage(handler)` is middleware for all. */
  onMessage(event: string | Handler, handler?: Handler): this {
    return this.register(this.message, 'onMessage', event, handler);
  }

  /** `onRequest(event, handler)`: handler `(ctx, reply)` replies once; `onRequest(handler)`: middleware. */
  onRequest(event: string | Handler, handler?: Handler): this {
    return this.register(this.requests, 'onRequest', event, handler);
  }

  /** The remote wants to write to us: `ctx.readable` is ours to read. */
  onReadable(event: string | Handler, handler?: Handler): this {
    return this.register(this.readables, 'onReadable', event, handler);
  }

  /** The remote wants to read from us: `ctx.writable` is ours to write. */
  onWritable(event: string | Handler, handler?: Handler): this {
    return this.register(this.writables, 'onWritable', event, handler);
  }

  /** Middleware for every kind of incoming data of this role. */
  onData(handler: Handler): this {
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler', 'a function', handler);
    this.dataMiddleware.push(handler);
    return this;
  }

  private register(set: HandlerSet, method: string, event: string | Handler, handler?: Handler): this {
    if (typeof event === 'function') {
      set.middleware.push(event);
      return this;
    }
    if (typeof event !== 'string') throw new InvalidArgumentError('event', `a string or a function (${method})`, event);
    if (typeof handler !== 'function') throw new InvalidArgumentError('handler', `a function (${method})`, handler);
    set.byEvent.set(event, handler);
    return this;
  }
}
