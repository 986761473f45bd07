import type { Context } from '../api/context';

/**
 * Runs a handler behind its middleware (peer onData, peer on<Kind>, role onData,
 * role on<Kind>, then the event's handler), Koa style: `ctx.next()` runs the next layer and
 * resolves once the reply is decided and the inner layers have finished, innermost first.
 *
 * Every layer is called as `(ctx, reply)`. A layer that finishes without calling `next()` or
 * `reply` passes on to the next layer. A thrown error or rejected Promise rejects the request
 * with it. The handler replies with `reply(err, data)` or by returning a value or a Promise;
 * a handler that takes no `reply` parameter replies with what it returns, `undefined` included.
 *
 * With no middleware and a handler that answers synchronously, no Promise is created.
 */

export type Reply = (err?: unknown, data?: unknown) => void;
export type Handler = (ctx: Context, reply: Reply) => unknown;

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** A thrown non-error becomes an Error so a rejection always has a message. */
function asError(err: unknown): unknown {
  return err === undefined || err === null ? new Error('The handler failed') : err;
}

class ChainRun {
  private decided = false;
  private settledDecision: (() => void) | null = null;
  private decision: Promise<void> | null = null;
  private cursor = -1;
  private readonly nextRuns: Array<Promise<void> | undefined> = [];

  constructor(
    private readonly ctx: Context,
    private readonly layers: readonly Handler[],
    private readonly handler: Handler,
    private readonly done: (ctx: Context) => void,
  ) {}

  readonly reply: Reply = (err, data) => {
    if (this.decided) return;
    this.decided = true;
    if (err !== undefined && err !== null) this.ctx.error = err;
    else this.ctx.response = data;
    if (this.settledDecision !== null) this.settledDecision();
  };

  start(): void {
    if (this.layers.length === 0) {
      this.invokeHandler();
      if (this.decided) this.done(this.ctx);
      else this.whenDecided().then(() => this.done(this.ctx));
      return;
    }
    this.ctx._next = () => this.next();
    this.dispatch(0)
      .then(() => this.whenDecided())
      .then(() => this.done(this.ctx));
  }

  private whenDecided(): Promise<void> {
    if (this.decided) return Promise.resolve();
    if (this.decision === null) this.decision = new Promise<void>((resolve) => (this.settledDecision = resolve));
    return this.decision;
  }

  private next(): Promise<void> {
    const from = this.cursor;
    let run = this.nextRuns[from];
    if (run === undefined) {
      run = this.dispatch(from + 1);
      this.nextRuns[from] = run;
    }
    return run;
  }

  private dispatch(index: number): Promise<void> {
    if (index > this.cursor) this.cursor = index;
    if (this.decided) return Promise.resolve();
    if (index >= this.layers.length) {
      this.invokeHandler();
      return this.whenDecided();
    }
    let result: unknown;
    try {
      result = this.layers[index]!(this.ctx, this.reply);
    } catch (err) {
      this.reply(asError(err));
      return Promise.resolve();
    }
    return Promise.resolve(result).then(
      () => {
        if (this.nextRuns[index] === undefined && !this.decided) return this.next0(index);
        return undefined;
      },
      (err: unknown) => this.reply(asError(err)),
    );
  }

  /** Passes on from a layer that finished without calling `next()`. */
  private next0(index: number): Promise<void> {
    const run = this.dispatch(index + 1);
    this.nextRuns[index] = run;
    return run;
  }

  private invokeHandler(): void {
    const handler = this.handler;
    let result: unknown;
    try {
      result = handler(this.ctx, this.reply);
    } catch (err) {
      this.reply(asError(err));
      return;
    }
    const repliesByReturn = handler.length < 2;
    if (isThenable(result)) {
      result.then(
        (value) => {
          if (value !== undefined || repliesByReturn) this.reply(null, value);
        },
        (err: unknown) => this.reply(asError(err)),
      );
    } else if (result !== undefined || repliesByReturn) {
      this.reply(null, result);
    }
  }
}

/** Runs `handler` behind `layers`; calls `done(ctx)` once the reply is decided and the chain unwound. */
export function runChain(ctx: Context, layers: readonly Handler[], handler: Handler, done: (ctx: Context) => void): void {
  new ChainRun(ctx, layers, handler, done).start();
}
