import { performance } from 'node:perf_hooks';
import { Fifo } from './fifo';

/** What the timers need of a request: when it expires, and whether it is still waiting. */
export interface Timed {
  /** performance.now() milliseconds at which it expires. */
  readonly deadline: number;
  /** The timeout it was sent with; requests that share one expire in the order they were sent. */
  readonly timeout: number;
  /** Answered, aborted or failed: its place in the queue is skipped. */
  readonly done: boolean;
}

/**
 * The timeouts of one remote's requests, on one timer rather than one per request (a timer per
 * request was a tenth of the per-request cost). Requests that share a timeout value expire in
 * the order they were sent, so each value keeps a FIFO queue and the one timer is armed for the
 * earliest head. A request that settles stays in its queue, marked `done`, until it reaches the
 * head; queues are trimmed of such heads as requests join. Behind a slow head they would pile up
 * (a request that waits 30 s at 100k requests/s): a queue that doubles is swept of settled
 * requests, so it stays within about twice the requests in flight, at O(1) amortized.
 */
export class RequestTimers<T extends Timed> {
  private readonly queues = new Map<number, Fifo<T>>();
  /** Per timeout value: the size at which its queue is next swept of settled requests. */
  private readonly sweepAt = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  /** The deadline the timer is armed for (Infinity: not armed). */
  private armedFor = Infinity;

  constructor(private readonly expire: (request: T) => void) {}

  add(request: T): void {
    let queue = this.queues.get(request.timeout);
    if (queue === undefined) this.queues.set(request.timeout, (queue = new Fifo<T>()));
    else dropDone(queue);
    queue.push(request);
    if (queue.size >= (this.sweepAt.get(request.timeout) ?? SWEEP_FROM)) {
      queue.retain((r) => !r.done);
      this.sweepAt.set(request.timeout, Math.max(SWEEP_FROM, 2 * queue.size));
    }
    if (request.deadline < this.armedFor) this.arm(request.deadline);
  }

  /** Requests held in the queues, settled ones not yet swept included (for tests). */
  get held(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.size;
    return n;
  }

  /** Stops the timer and forgets every request (the remote is gone). */
  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedFor = Infinity;
    this.queues.clear();
    this.sweepAt.clear();
  }

  private arm(deadline: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(deadline - performance.now())));
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.armedFor = Infinity;
    // Less than a millisecond early counts as due: timers have millisecond granularity.
    const due = performance.now() + 1;
    let next = Infinity;
    for (const [timeout, queue] of this.queues) {
      for (let head = queue.peek(); head !== undefined; head = queue.peek()) {
        if (!head.done && head.deadline >= due) {
          if (head.deadline < next) next = head.deadline;
          break;
        }
        queue.shift();
        if (!head.done) this.expire(head);
      }
      if (queue.size === 0) {
        this.queues.delete(timeout);
        this.sweepAt.delete(timeout);
      }
    }
    // `expire` may have sent requests that armed the timer already.
    if (next < this.armedFor) this.arm(next);
  };
}

/** Queues shorter than this are never swept: trimming their heads is enough. */
const SWEEP_FROM = 1024;

function dropDone<T extends Timed>(queue: Fifo<T>): void {
  while (queue.peek()?.done === true) queue.shift();
}
