/** What the bench client drives: one implementation's side of every case. */
export interface Driver {
  /** One request with `payload`; resolves on the answer. */
  request(payload: Buffer, unitIndex?: number): Promise<unknown>;
  burn(micros: number): Promise<unknown>;
  /** Subscribers to every roletalk diagnostics channel in this process and the servers' (true), or none. */
  tracing(on: boolean): Promise<void>;
  /** A `delayed` request (answered after `ms`, or a multiple on the slow unit); resolves with the name of the unit that answered. */
  delayed(ms: number): Promise<string>;
  /** Sends `count` one-way messages (to every unit for broadcast). */
  messages(payload: Buffer, count: number): Promise<void>;
  broadcast(payload: Buffer, count: number): Promise<void>;
  /** How many messages the servers got since last asked. */
  delivered(): Promise<number>;
  survey(payload: Buffer): Promise<number>;
  /** Uploads `bytes` in 64 KiB chunks; resolves once the server has them all. */
  stream(bytes: number): Promise<void>;
  /** Downloads `bytes` the server writes in 64 KiB chunks. */
  download(bytes: number): Promise<void>;
  /** Bytes a reader holds once it stops reading a download (streams.ts). */
  pausedHeld(): Promise<number>;
  units: number;
  close(): Promise<void>;
}

/**
 * A driver for the duties `what` has (most baselines only answer requests); the others reject,
 * naming it, so that a case asked of the wrong implementation fails loudly.
 */
export function partialDriver(what: string, duties: Partial<Driver> & Pick<Driver, 'close'>): Driver {
  const unsupported = (): Promise<never> => Promise.reject(new Error(`not measured for ${what}`));
  return {
    units: 1,
    request: unsupported,
    burn: unsupported,
    tracing: unsupported,
    delayed: unsupported,
    messages: unsupported,
    broadcast: unsupported,
    delivered: unsupported,
    survey: unsupported,
    stream: unsupported,
    download: unsupported,
    pausedHeld: unsupported,
    ...duties,
  };
}
