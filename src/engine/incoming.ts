import type { Connection } from '../transport/connection';
import type { Context } from './context';

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
 * recent answers, so that a repeat of an answered request gets the same answer (`resend`);
 * and the deadlines announced by DEADLINE frames for requests still to come.
 */
export class IncomingRequests {
  private readonly running = new Map<number, Running>();
  /** Answers by correlation id, oldest first; null when only the id is kept. */
  private readonly answers = new Map<number, Buffer | null>();
  private answerBytes = 0;
  private readonly deadlines = new Map<number, number>();

  /** A DEADLINE frame: the request `corr` that follows is awaited until `at` (epoch ms). */
  announceDeadline(corr: number, at: number): void {
    // Bounded by what a sender could announce without sending the requests.
    if (this.deadlines.size >= ANSWER_MEMORY.entries) this.deadlines.clear();
    this.deadlines.set(corr, at);
  }

  /**
   * A REQUEST arrived on `conn`. Returns undefined when it is new (then it is registered as
   * running with `ctx`), 'running' for a repeat of one still running (its answer will go on the
   * repeat's connection, which the caller knows to be alive), or the remembered answer of a
   * repeat that was answered (null when only its id is remembered).
   */
  begin(corr: number, ctx: Context, conn: Connection): undefined | 'running' | Buffer | null {
    const running = this.running.get(corr);
    if (running !== undefined) {
      running.conn = conn;
      return 'running';
    }
    const answer = this.answers.get(corr);
    if (answer !== undefined) return answer;
    const deadline = this.deadlines.get(corr);
    if (deadline !== undefined) {
      this.deadlines.delete(corr);
      ctx.deadline = deadline;
    }
    this.running.set(corr, { ctx, conn });
    return undefined;
  }

  /**
   * The request is answered with `frame`; remembers a copy when `remember`. Returns the
   * connection its latest copy came on, where the answer goes; null when the caller cancelled
   * it meanwhile (nobody waits for the answer); undefined when it was not tracked.
   */
  finish(corr: number, frame: Buffer, remember: boolean): Connection | null | undefined {
    const running = this.running.get(corr);
    this.running.delete(corr);
    if (remember) this.remember(corr, Buffer.from(frame));
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
    this.deadlines.clear();
  }

  private remember(corr: number, frame: Buffer): void {
    this.answers.set(corr, frame);
    this.answerBytes += frame.length;
    // Oldest first: drop whole entries beyond the count, then bodies beyond the bytes.
    for (const [old, body] of this.answers) {
      if (this.answers.size <= ANSWER_MEMORY.entries) break;
      this.answers.delete(old);
      if (body !== null) this.answerBytes -= body.length;
    }
    if (this.answerBytes > ANSWER_MEMORY.bytes) {
      for (const [old, body] of this.answers) {
        if (this.answerBytes <= ANSWER_MEMORY.bytes) break;
        if (body === null) continue;
        this.answers.set(old, null);
        this.answerBytes -= body.length;
      }
    }
  }
}
