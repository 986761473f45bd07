import { copyFrame, messageLength } from '../protocol/payload';
import type { Connection } from '../transport/connection';
import type { Context } from './context';
import { AnsweredIds } from './answered-ids';
import { Fifo } from './fifo';

/** A request being handled, and the connection its latest copy came on. */
interface Running {
  readonly corr: number;
  ctx: Context;
  conn: Connection;
}

/** How much of its answers a serving peer remembers per remote, for requests sent again. */
export const ANSWER_MEMORY = {
  /** Answered requests remembered (by correlation id). */
  entries: 4096,
  /** Bytes of answer frames kept; beyond it the oldest answers are remembered as ids only. */
  bytes: 4 * 1024 * 1024,
} as const;

/**
 * The incoming requests of one remote peer that offers extensions (docs/protocol.md §9):
 * the ones running, so that CANCEL reaches them and a repeat does not run them again, and the
 * recent answers, so that a repeat of an answered request gets the same answer (`resend`).
 */
export class IncomingRequests {
  /** Requests whose handlers went async, by correlation id. */
  private readonly running = new Map<number, Running>();
  /** The request whose handler is being called (see `begin`). */
  private starting: Running | null = null;
  /** The ids of the last answers, whether or not their bytes are kept. */
  private readonly answered = new AnsweredIds(ANSWER_MEMORY.entries);
  /** The answers whose bytes are kept, by correlation id. */
  private readonly kept = new Map<number, Buffer>();
  private keptBytes = 0;
  /** Ids of the answers whose bytes were kept, oldest first, to drop bytes in order. */
  private readonly keptOrder = new Fifo<number>();

  /**
   * A REQUEST arrived on `conn`. Returns undefined when it is new (then it is registered as
   * running with `ctx`), 'running' for a repeat of one still running (its answer will go on the
   * repeat's connection, which the caller knows to be alive), or the remembered answer of a
   * repeat that was answered (null when only its id is remembered).
   *
   * A new request waits in the `starting` slot until `started` says its handler went async: most
   * handlers answer within the same turn, and then it never takes a Map entry.
   */
  begin(corr: number, ctx: Context, conn: Connection): undefined | 'running' | Buffer | null {
    const running = this.find(corr);
    if (running !== undefined) {
      running.conn = conn;
      return 'running';
    }
    if (this.answered.has(corr)) return this.kept.get(corr) ?? null;
    if (this.starting !== null) this.track(this.starting);
    this.starting = { corr, ctx, conn };
    return undefined;
  }

  /** The handler of `corr` returned: if it has not answered yet, it is tracked until it does. */
  started(corr: number): void {
    const starting = this.starting;
    if (starting !== null && starting.corr === corr) this.track(starting);
  }

  /**
   * The request is answered with `frame`. Its id is remembered, and a copy of the answer when
   * `keepBytes` (a remote that has had more than one connection: only then can a repeat come). Returns
   * the connection its latest copy came on, where the answer goes; null when the caller cancelled
   * it meanwhile (nobody waits for the answer); undefined when it was not tracked.
   */
  finish(corr: number, frame: Buffer, keepBytes: boolean): Connection | null | undefined {
    const running = this.find(corr);
    if (running === this.starting) this.starting = null;
    else if (running !== undefined) this.running.delete(corr);
    this.remember(corr, keepBytes ? copyFrame(frame) : null);
    if (running === undefined) return undefined;
    running.ctx._settled();
    return running.ctx._aborted ? null : running.conn;
  }

  /** CANCEL: the caller gave up on `corr`. */
  cancel(corr: number, reason: Error): void {
    this.find(corr)?.ctx._abort(reason);
  }

  /** The remote is gone: every running request is called off. */
  abortAll(reason: Error): void {
    if (this.starting !== null) this.track(this.starting);
    for (const running of this.running.values()) running.ctx._abort(reason);
    this.running.clear();
  }

  private find(corr: number): Running | undefined {
    const starting = this.starting;
    if (starting !== null && starting.corr === corr) return starting;
    return this.running.size > 0 ? this.running.get(corr) : undefined;
  }

  private track(running: Running): void {
    this.starting = null;
    this.running.set(running.corr, running);
  }

  private remember(corr: number, frame: Buffer | null): void {
    const forgotten = this.answered.add(corr);
    if (forgotten !== undefined && this.kept.size > 0) this.dropBytes(forgotten);
    if (frame === null) return;
    this.kept.set(corr, frame);
    this.keptBytes += messageLength(frame);
    this.keptOrder.push(corr);
    while (this.keptBytes > ANSWER_MEMORY.bytes && this.keptOrder.size > 0) this.dropBytes(this.keptOrder.shift()!);
    // Ids past the entry count are forgotten with their bytes anyway.
    while (this.keptOrder.size > ANSWER_MEMORY.entries) this.keptOrder.shift();
  }

  /** Keeps only the id of an answer: a repeat of it gets the REJECT of §9. */
  private dropBytes(corr: number): void {
    const body = this.kept.get(corr);
    if (body === undefined) return;
    this.kept.delete(corr);
    this.keptBytes -= messageLength(body);
  }
}
