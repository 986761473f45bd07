import type { Handler } from './middleware';

/** The kinds of incoming work a role handles (docs/protocol.md §4, §6). */
export type Kind = 'message' | 'request' | 'readable' | 'writable';

/** Handlers by event, and middleware, of one kind. */
export class HandlerSet {
  readonly byEvent = new Map<string, Handler>();
  readonly middleware: Handler[] = [];
}

/** What the engine routes to for one local role: its state and its handlers. `api/Role` fills it. */
export class RoleRoutes {
  readonly message = new HandlerSet();
  readonly request = new HandlerSet();
  readonly readable = new HandlerSet();
  readonly writable = new HandlerSet();
  /** Middleware for every kind of this role. */
  readonly data: Handler[] = [];

  constructor(
    readonly name: string,
    public active: boolean,
  ) {}

  of(kind: Kind): HandlerSet {
    return this[kind];
  }
}

/** The peer-wide middleware, run before any role's (`peer.onData`, `peer.onRequest`, ...). */
export class PeerMiddleware {
  readonly data: Handler[] = [];
  readonly message: Handler[] = [];
  readonly request: Handler[] = [];
  readonly readable: Handler[] = [];
  readonly writable: Handler[] = [];
}
