import { isThenable, type Handler, type Reply } from './middleware';

/** The kinds of incoming work a role handles (docs/protocol.md §4, §6). */
export type Kind = 'message' | 'request' | 'readable' | 'writable';

/** Handlers by event, and middleware, of one kind. */
export class HandlerSet {
  readonly byEvent = new Map<string, Handler>();
  readonly middleware: Handler[] = [];

  /** Adds a handler for `event`. Several for one event all run, as in 1.1.x (see `both`). */
  on(event: string, handler: Handler): void {
    const earlier = this.byEvent.get(event);
    this.byEvent.set(event, earlier === undefined ? handler : both(earlier, handler));
  }
}

/**
 * Two handlers of one event as one, run in the order registered, as 1.1.x ran the listeners of
 * its per-role EventEmitter: they share the reply, and the first reply wins. A handler that
 * takes `reply` replies through it; one that does not, by returning (or resolving to) a value
 * other than undefined, so that a handler that only looks does not answer for the others. A
 * synchronous throw is raised once every handler has run.
 */
function both(first: Handler, second: Handler): Handler {
  const run = (h: Handler, ctx: Parameters<Handler>[0], reply: Reply, pending: PromiseLike<unknown>[]): void => {
    const result = h(ctx, reply);
    const byReturn = h.length < 2;
    if (isThenable(result)) {
      pending.push(
        result.then((value) => {
          if (byReturn && value !== undefined) reply(null, value);
        }),
      );
    } else if (byReturn && result !== undefined) {
      reply(null, result);
    }
  };
  return (ctx, reply) => {
    const pending: PromiseLike<unknown>[] = [];
    let failure: { err: unknown } | undefined;
    for (const h of [first, second]) {
      try {
        run(h, ctx, reply, pending);
      } catch (err) {
        failure ??= { err };
      }
    }
    if (failure !== undefined) throw failure.err;
    // Settles undefined (no reply of its own) or rejects with the first handler that rejected.
    return pending.length === 0 ? undefined : Promise.all(pending).then(() => undefined);
  };
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
