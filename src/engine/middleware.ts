import type { Context } from './context';

/**
 * Runs a handler behind its middleware (peer onData, peer on<Kind>, role onData,
 * role on<Kind>, then the event's handler), Koa style, with the unwinding order of 1.1.x.
 *
 * Every layer is called as `(ctx, reply)`. `ctx.next()` runs the next layer and returns a
 * Promise that settles once the reply is decided *and* every layer inside has unwound: the
 * layers' `next()` Promises are settled innermost first, one layer per turn of the event
 * loop, and a layer's own returned Promise (its code after `next()`) is waited for before the
 * layer outside it goes on. So each layer's "after" part runs before those outside it, whether
 * or not a layer awaited its `next()`. The reply goes out when the outermost layer is done.
 *
 * A layer that finishes without calling `next()` or `reply` passes on to the next layer. A
 * thrown error or rejected Promise rejects the request with it (also from a layer's code after
 * `next()`, which may still change the outcome). A handler that takes the `reply` parameter
 * replies through it only (what it returns is ignored, as in 1.1.x); one that takes no `reply`
 * parameter replies with what it returns (or what its Promise resolves to), `undefined` included.
 *
 * With no middleware and a handler that answers synchronously, no Promise is created.
 */

export type Reply = (err?: unknown, data?: unknown) => void;
/** A handler or middleware layer; the API types `ctx` as its own Context. */
export type Handler<C = Context> = (ctx: C, reply: Reply) => unknown;

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** A thrown falsy value becomes an Error so that it rejects, with a message. */
function asError(err: unknown): unknown {
  return err ? err : new Error('The handler failed');
}

/** A `next()` waiting to be settled, and the layer that asked. */
interface Waiting {
  layer: number;
  settle: () => void;
}

/**
 * A handler run without middleware: the reply goes out as soon as it is decided. Kept apart from
 * ChainRun so that the common case allocates none of the middleware bookkeeping.
 */
class HandlerRun {
  protected decided = false;

  constructor(
    protected readonly ctx: Context,
    private readonly handler: Handler,
    protected readonly done: (ctx: Context) => void,
  ) {}

  readonly reply: Reply = (err, data) => {
    if (this.decided) return;
    this.decided = true;
    // Any falsy err (null, undefined, false, 0, '') answers with data, as in 1.1.x.
    if (err) this.ctx.error = err;
    else this.ctx.response = data;
    this.decidedNow();
  };

  start(): void {
    this.invokeHandler();
  }

  /** The reply is decided: with no middleware, it goes out at once. */
  protected decidedNow(): void {
    this.done(this.ctx);
  }

  protected invokeHandler(): void {
    const handler = this.handler;
    let result: unknown;
    try {
      result = handler(this.ctx, this.reply);
    } catch (err) {
      this.reply(asError(err));
      return;
    }
    // A handler that takes `reply` answers through it, as in 1.1.x, which ignored what handlers
    // returned: `(ctx, cb) => setTimeout(...)` or `(ctx, cb) => http.get(..., cb)` must not answer
    // with the timer or the request object. A throw or a rejection still rejects.
    const repliesByReturn = handler.length < 2;
    if (isThenable(result)) {
      result.then(
        (value) => {
          if (repliesByReturn) this.reply(null, value);
        },
        (err: unknown) => this.reply(asError(err)),
      );
    } else if (repliesByReturn) {
      this.reply(null, result);
    }
  }
}

class ChainRun extends HandlerRun {
  private unwound = false;
  /** The deepest layer started so far; `next()` runs the one after it. */
  private cursor = -1;
  /** The `next()` calls not yet settled, innermost last. */
  private readonly waiting: Waiting[] = [];
  /** What each layer's function returned: its code after `next()` is done when this settles. */
  private readonly returned: unknown[] = [];
  /** Layers that asked for the rest of the chain with `next()`. */
  private readonly asked: boolean[] = [];

  constructor(
    ctx: Context,
    private readonly layers: readonly Handler[],
    handler: Handler,
    done: (ctx: Context) => void,
  ) {
    super(ctx, handler, done);
  }

  override start(): void {
    this.ctx._next = () => this.next();
    this.dispatch(0);
  }

  private next(): Promise<void> {
    const layer = this.cursor;
    if (this.unwound) return Promise.resolve();
    const promise = new Promise<void>((settle) => this.waiting.push({ layer, settle }));
    if (!this.asked[layer]) {
      this.asked[layer] = true;
      this.dispatch(layer + 1);
    }
    return promise;
  }

  private dispatch(index: number): void {
    if (index > this.cursor) this.cursor = index;
    if (this.decided) return;
    if (index >= this.layers.length) {
      this.invokeHandler();
      return;
    }
    let result: unknown;
    try {
      result = this.layers[index]!(this.ctx, this.reply);
    } catch (err) {
      this.reply(asError(err));
      return;
    }
    this.returned[index] = result;
    const passOn = (): void => {
      if (!this.asked[index] && !this.decided) {
        this.asked[index] = true;
        this.dispatch(index + 1);
      }
    };
    if (isThenable(result)) result.then(passOn, (err: unknown) => this.fail(err));
    else passOn();
  }

  /** A layer failed: before the decision that is the decision; after it, it overrides it. */
  private fail(err: unknown): void {
    if (!this.decided) {
      this.reply(asError(err));
    } else if (!this.unwound) {
      this.ctx.error = asError(err);
    }
  }

  /** Unwinds on a later turn, as 1.1.x does: code right after reply() still belongs to its layer. */
  protected override decidedNow(): void {
    setImmediate(() => this.unwindStep());
  }

  /** Settles the innermost waiting `next()`, waits for that layer's code after it, repeats. */
  private unwindStep(): void {
    const waiting = this.waiting.pop();
    if (waiting === undefined) {
      this.unwound = true;
      this.done(this.ctx);
      return;
    }
    waiting.settle();
    const returned = this.returned[waiting.layer];
    // A layer that returned a Promise is done when it settles (failures are taken by `fail`);
    // one that did not is given a turn for whatever it chained on `next()`.
    const after = (): void => void setImmediate(() => this.unwindStep());
    if (isThenable(returned)) returned.then(after, after);
    else after();
  }
}

/** Runs `handler` behind `layers`; calls `done(ctx)` once the reply is decided and the chain unwound. */
export function runChain(ctx: Context, layers: readonly Handler[], handler: Handler, done: (ctx: Context) => void): void {
  const run = layers.length === 0 ? new HandlerRun(ctx, handler, done) : new ChainRun(ctx, layers, handler, done);
  run.start();
}
