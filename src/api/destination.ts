import { EventEmitter } from 'node:events';
import type { ReadableOptions, WritableOptions } from 'node:stream';
import { AbortError, InvalidArgumentError, NoUnitError, type RoletalkError } from '../errors';
import { balancer, type Balancer } from '../engine/balancer';
import { StreamReader } from '../streams/reader';
import { StreamWriter } from '../streams/writer';
import type { Context } from './context';
import type { Peer } from './peer';
import type { Unit } from './unit';
import { parseEvent, type DestinationOptions, type EventOptions, type ParsedEvent } from './event-options';

export type { EventOptions, DestinationOptions } from './event-options';

/**
 * `cb(null, ctx)` on a response; `cb(err, ctx)` on a failure, where `ctx` (also `err.ctx`) has
 * the unit asked, the role, the event and, for a rejection, the reason as `data`. Only when no
 * unit could be asked is `ctx` undefined.
 */
/** `ctx` is always given, on failures too (the request's context), as in 1.1.x. */
export type ResponseCallback = (err: Error | null, ctx: Context) => void;

/**
 * A remote role: the units that serve it, balanced by its strategy (`balance`, round-robin by
 * default, as 1.1.x). It is `ready` while at least
 * one unit serves the role; it emits `open` for the first unit, `unit` for each new one and
 * `close` when the last leaves.
 */
export class Destination extends EventEmitter {
  private readonly members: Unit[] = [];
  private readonly balancer: Balancer;

  /** @internal use `peer.destination(name)` */
  constructor(
    readonly name: string,
    readonly peer: Peer,
    private readonly options: DestinationOptions = {},
  ) {
    super();
    this.balancer = balancer(options.balance ?? 'round-robin');
  }

  get units(): Unit[] {
    return this.members.slice();
  }

  get ready(): boolean {
    return this.members.length > 0;
  }

  /** Sends a MESSAGE to one unit. Returns the Unit used, or undefined when none serves the role. */
  send(event: EventOptions, data?: unknown, cb?: (err?: Error) => void): Unit | undefined {
    const { name, unit: chosen } = this.parse(event);
    const unit = chosen === undefined ? this.next() : this.members.includes(chosen) ? chosen : undefined;
    const sent = unit !== undefined && unit.send(this.name, name, data);
    if (cb !== undefined) {
      const err = sent ? undefined : new NoUnitError(this.name);
      process.nextTick(cb, err);
    }
    return sent ? unit : undefined;
  }

  /** Sends the same MESSAGE to every unit; returns how many were sent. */
  broadcast(event: EventOptions, data?: unknown): number {
    const { name } = this.parse(event);
    return this.peer.engine.broadcast(
      this.members.map((unit) => unit.remote),
      this.name,
      name,
      data,
    );
  }

  /**
   * Sends a REQUEST to one unit (round-robin, or `unit` when given: then even a unit that does
   * not list the role is asked, and it rejects with the §4 text). Throws NoUnitError at once when
   * no unit serves the role.
   */
  request(event: EventOptions, data?: unknown, cb?: ResponseCallback): Promise<Context> {
    const { name, unit: chosen, request } = this.parse(event);
    const unit = chosen ?? this.next();
    if (unit === undefined) throw new NoUnitError(this.name);
    const promise = unit.request(this.name, name, data, request);
    if (cb !== undefined) {
      promise.then(
        (ctx) => cb(null, ctx),
        (err: RoletalkError) => cb(err, err.ctx as Context),
      );
      // The callback owns the outcome; the returned Promise must not also raise unhandled.
      promise.catch(() => {});
    }
    return promise;
  }

  /**
   * Sends the same REQUEST to every unit; `cb(err, ctx)` is called once per unit as each answers.
   * Returns how many units were asked.
   */
  survey(event: EventOptions, data: unknown, cb: ResponseCallback): number {
    if (typeof cb !== 'function') throw new InvalidArgumentError('cb', 'a function', cb);
    const { name, request } = this.parse(event);
    const units = this.members.slice();
    for (const unit of units) {
      unit.request(this.name, name, data, request).then(
        (ctx) => cb(null, ctx),
        (err: RoletalkError) => cb(err, err.ctx as Context),
      );
    }
    return units.length;
  }

  /** Like `survey`, as a Promise of every outcome, in unit order. */
  surveyAll(event: EventOptions, data?: unknown): Promise<Array<{ unit: Unit; ctx?: Context; error?: Error }>> {
    const { name, request } = this.parse(event);
    return Promise.all(
      this.members.map((unit) =>
        unit.request(this.name, name, data, request).then(
          (ctx) => ({ unit, ctx }),
          (error: Error) => ({ unit, error }),
        ),
      ),
    );
  }

  /**
   * Asks a unit to write to us: returns a Readable of what it writes. It emits 'ready' with the
   * response's Context once the remote accepts, and fails with a StreamError if it refuses.
   * Flow control follows our consumer: a paused Readable stops the remote writer.
   */
  Readable(event: EventOptions, data?: unknown, options?: ReadableOptions): StreamReader {
    return this.openStream(event, data, new StreamReader(this.peer.engine.limits.streamWindow, options));
  }

  /**
   * Asks a unit to read from us: returns a Writable whose data goes to it. Writes made before
   * the remote accepts are held; 'ready' is emitted with the response's Context.
   */
  Writable(event: EventOptions, data?: unknown, options?: WritableOptions): StreamWriter {
    return this.openStream(event, data, new StreamWriter(options));
  }

  private openStream<S extends StreamReader | StreamWriter>(event: EventOptions, data: unknown, stream: S): S {
    const { name, unit: chosen, request } = this.parse(event);
    const unit = chosen ?? this.next();
    if (unit === undefined) throw new NoUnitError(this.name);
    unit.remote.openStream(stream, this.name, name, data, request.timeout);
    const signal = request.signal;
    if (signal !== undefined) {
      // An abort ends the stream on both sides: destroying it tells the remote end (§6).
      const abort = (): void => void stream.destroy(new AbortError(signal.reason));
      if (signal.aborted) abort();
      else {
        signal.addEventListener('abort', abort, { once: true });
        stream.once('close', () => signal.removeEventListener('abort', abort));
      }
    }
    return stream;
  }

  private parse(event: EventOptions): ParsedEvent {
    return parseEvent(event, this.peer.requestTimeout, this.options);
  }

  /** @internal the next unit, by the destination's balancing strategy */
  next(): Unit | undefined {
    return this.balancer.pick(this.members);
  }

  /** @internal a unit joined or left this role */
  _update(unit: Unit, serves: boolean): void {
    const i = this.members.indexOf(unit);
    if (serves && i === -1) {
      this.members.push(unit);
      if (this.members.length === 1) this.emit('open');
      this.emit('unit', unit);
    } else if (!serves && i !== -1) {
      this.members.splice(i, 1);
      if (this.members.length === 0) this.emit('close');
    }
  }
}
