import type { Connection } from '../transport/connection';
import type { Context } from './context';
import { Fifo } from './fifo';

/** A request being handled, and the connection its latest copy came on. */
interface Running {
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
 * the ones running, so that CANCEL reaches them and a repeat does not run them again; the
 * and the recent answers, so that a repeat of an answered request gets the same answer
 * (`resend`).
 */
export class IncomingRequests {
  private readonly running = new Map<number, Running>();
  /** Answers by correlation id, oldest first; null when only the id is kept. */
  private readonly answers = new Map<number, Buffer | null>();
  private answerBytes = 0;
  /** Every remembered id, oldest first. */
  private readonly order = new Fifo<number>();
  /** Ids of the answers whose bytes are kept, oldest first, to drop bytes in order. */
  private readonly kept = new Fifo<number>();

  /**
   * A REQUEST arrived on `conn`. Returns undefined when it is new (then it is registered as
   * running with `ctx`), 'running' for a repeat of one still running (its answer will go on the
   * repeat's connection, which the caller knows to be alive), or the remembered answer of a
   * repeat that was answered (null when only its id is remembered).
   */
  begin(corr: number, ctx: Context, conn: Connection): undefined | 'running' | Buffer | null {
    // Most requests are new: one look-up for them when nothing was answered yet.
    const running = this.running.get(corr);
    if (running !== undefined) {
      running.conn = conn;
      return 'running';
    }
    const answer = this.answers.get(corr);
    if (answer !== undefined) return answer;
    this.running.set(corr, { ctx, conn });
    return undefined;
  }

  /**
   * The request is answered with `frame`. Its id is remembered, and a copy of the answer when
   * `keepBytes` (a remote with more than one connection: only then can a repeat come). Returns
   * the connection its latest copy came on, where the answer goes; null when the caller cancelled
   * it meanwhile (nobody waits for the answer); undefined when it was not tracked.
   */
  finish(corr: number, frame: Buffer, keepBytes: boolean): Connection | null | undefined {
    const running = this.running.get(corr);
    this.running.delete(corr);
    this.remember(corr, keepBytes ? Buffer.from(frame) : null);
    if (running === undefined) return undefined;
    running.ctx._settled();
    return running.ctx._aborted ? null : running.conn;
  }

  /** CANCEL: the caller gave up on `corr`. */
  cancel(corr: number, reason: Error): void {
    this.running.get(corr)?.ctx._abort(reason);
  }

  /** The remote is gone: every running request is called off. */
  abortAll(reason: Error): void {
    for (const running of this.running.values()) running.ctx._abort(reason);
    this.running.clear();
  }

  private remember(corr: number, frame: Buffer | null): void {
    const answers = this.answers;
    answers.set(corr, frame);
    this.order.push(corr);
    if (frame !== null) {
      this.answerBytes += frame.length;
      this.kept.push(corr);
    }
    // Oldest first, from queues: iterating a Map from its start after many deletions skips
    // their holes, which made this O(entries) per answer.
    if (answers.size > ANSWER_MEMORY.entries) {
      const oldest = this.order.shift()!;
      const body = answers.get(oldest);
      answers.delete(oldest);
      if (body) this.answerBytes -= body.length;
    }
    while (this.answerBytes > ANSWER_MEMORY.bytes && this.kept.size > 0) {
      const old = this.kept.shift()!;
      const body = answers.get(old);
      if (body) {
        answers.set(old, null);
        this.answerBytes -= body.length;
      }
    }
    // Ids past the entry count are gone from `answers` anyway.
    while (this.kept.size > ANSWER_MEMORY.entries) this.kept.shift();
  }
}
