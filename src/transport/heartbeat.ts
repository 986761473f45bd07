import type { HeartbeatOptions } from './connection';

/**
 * Heartbeats of every connection (docs/protocol.md §1) on one timer: a timer wheel.
 *
 * A timer and a closure or two per connection cost memory and wakeups that grow with the
 * connections (issue 12: 10,000 idle connections). Here each connection sits in the slot of its
 * next deadline (its next ping, or the end of the wait for a pong), and one timer turns the
 * wheel a slot at a time, handling only the connections due. Deadlines are rounded up to the
 * slot width, so a ping comes every interval and a missed pong is noticed after the timeout,
 * each at most one slot late, never early. Connections spread over the slots by when they
 * joined, so the pings of many connections do not all go out in one tick.
 */

/** A connection as the scheduler sees it. */
export interface HeartbeatMember {
  /** Sends a ping now. */
  ping(): void;
  /** No pong came within the timeout. */
  pongMissed(): void;
  /** The scheduler's bookkeeping, in the member to spare an object per connection: its slot (-1: none). */
  heartbeatSlot: number;
  /** The tick its unanswered ping went out at; -1 when no pong is awaited. */
  pingTick: number;
}

/** Slots are at most this wide, in ms: how late a ping or a timeout may come. */
const MAX_SLOT_MS = 250;

export class HeartbeatScheduler {
  /** Ms per slot. */
  readonly slotMs: number;
  private readonly slots: Array<Set<HeartbeatMember>>;
  /** Slots from a ping to the next, and from a ping to its deadline. */
  private readonly intervalSlots: number;
  private readonly timeoutSlots: number;
  /** Ticks so far; the slot being handled is `tick % slots.length`. */
  private tick = 0;
  private members = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: HeartbeatOptions) {
    if (!(options.interval > 0)) throw new RangeError('A heartbeat scheduler needs an interval above 0');
    const shortest = options.timeout > 0 ? Math.min(options.interval, options.timeout) : options.interval;
    this.slotMs = Math.max(1, Math.min(MAX_SLOT_MS, Math.floor(shortest / 4)));
    this.intervalSlots = Math.max(1, Math.ceil(options.interval / this.slotMs));
    this.timeoutSlots = Math.max(1, Math.ceil(options.timeout / this.slotMs));
    this.slots = Array.from({ length: Math.max(this.intervalSlots, this.timeoutSlots) + 1 }, () => new Set<HeartbeatMember>());
  }

  /** Connections being watched. */
  get size(): number {
    return this.members;
  }

  /** Whether the wheel's timer runs (it stops when no connection is watched). */
  get running(): boolean {
    return this.timer !== null;
  }

  /** Starts watching: the first ping goes out an interval from now. */
  add(member: HeartbeatMember): void {
    if (member.heartbeatSlot !== -1) return;
    member.pingTick = -1;
    this.place(member, this.intervalSlots);
    if (++this.members === 1) {
      this.timer = setInterval(this.turn, this.slotMs);
      this.timer.unref();
    }
  }

  /** Stops watching (the connection is closing or gone). */
  remove(member: HeartbeatMember): void {
    if (member.heartbeatSlot === -1) return;
    this.slots[member.heartbeatSlot]!.delete(member);
    member.heartbeatSlot = -1;
    member.pingTick = -1;
    if (--this.members === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** A pong came: the next ping is due an interval after the last one went out. */
  pong(member: HeartbeatMember): void {
    if (member.heartbeatSlot === -1 || member.pingTick === -1) return;
    const due = member.pingTick + this.intervalSlots - this.tick;
    member.pingTick = -1;
    this.slots[member.heartbeatSlot]!.delete(member);
    this.place(member, Math.max(1, due));
  }

  /** `ahead` slots from the current one (1 to the wheel's size - 1). */
  private place(member: HeartbeatMember, ahead: number): void {
    const slot = (this.tick + ahead) % this.slots.length;
    member.heartbeatSlot = slot;
    this.slots[slot]!.add(member);
  }

  private readonly turn = (): void => {
    this.tick++;
    const slot = this.tick % this.slots.length;
    const due = this.slots[slot]!;
    if (due.size === 0) return;
    // Taken as a list first: pings and terminations move or remove members meanwhile (a
    // terminated connection may close others), and those are no longer due.
    for (const member of [...due]) {
      if (member.heartbeatSlot !== slot) continue;
      due.delete(member);
      member.heartbeatSlot = -1;
      if (member.pingTick !== -1) {
        this.members--;
        member.pingTick = -1;
        member.pongMissed();
        continue;
      }
      member.pingTick = this.tick;
      this.place(member, this.timeoutSlots);
      member.ping();
    }
    if (this.members === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  };
}

/** One scheduler per heartbeat setting in each thread, shared by its connections. */
const shared = new Map<string, HeartbeatScheduler>();

export function heartbeatScheduler(options: HeartbeatOptions): HeartbeatScheduler {
  const key = `${options.interval}/${options.timeout}`;
  let scheduler = shared.get(key);
  if (scheduler === undefined) {
    scheduler = new HeartbeatScheduler(options);
    shared.set(key, scheduler);
  }
  return scheduler;
}
