import { InvalidArgumentError } from '../errors';
import { DEFAULT_STREAM_WINDOW, INITIAL_ALLOWANCE } from '../streams/window';

/**
 * Per-peer resource limits (the options `maxPayload`, `maxPendingHandshakes`, `maxInFlight`,
 * `maxStreams`, `streamWindow`). Each breach costs only the call or the connection that made it: a typed error
 * at the call, or a close of that one connection with a reason. README.md explains the defaults.
 */
export interface Limits {
  /**
   * The largest frame, in bytes, this peer accepts (given to ws on both sides, and offered to
   * remotes in CONFIRMED) or sends. A remote frame above it closes that connection with 1009; a
   * call whose frame would be larger than this or the remote's offered limit throws
   * PayloadTooLargeError (`RT_ERR_PAYLOAD_TOO_LARGE`). Default 16 MiB, at least 128 KiB.
   */
  maxPayload: number;
  /**
   * Inbound connections that may be in their handshake at once; beyond it new ones are closed
   * at once with 1013 (try again later). Default 4096.
   */
  maxPendingHandshakes: number;
  /** Requests to one unit waiting for an answer; beyond it `request` fails with `RT_ERR_OVERLOADED`. Default 65536. */
  maxInFlight: number;
  /**
   * Streams open (or being opened) with one unit, both directions together. Beyond it opening a
   * stream fails with `RT_ERR_OVERLOADED` and the remote's stream requests are refused. Default 1024.
   */
  maxStreams: number;
  /**
   * The most bytes one stream reader lets its writer have buffered here or in flight: the cap
   * of its flow-control window, which starts at 64 KiB and doubles while the consumer keeps up.
   * A reader whose consumer stops reading holds at most this much (plus a chunk the writer may
   * send beyond its allowance, as original 1.1.x writers do). Default 448 KiB, at least 16 KiB;
   * the environment variable ROLETALK_STREAM_WINDOW changes the default.
   */
  streamWindow: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxPayload: 16 * 1024 * 1024,
  maxPendingHandshakes: 4096,
  maxInFlight: 65536,
  maxStreams: 1024,
  streamWindow: Number(process.env.ROLETALK_STREAM_WINDOW) || DEFAULT_STREAM_WINDOW,
};

/** The smallest `maxPayload`: a stream CHUNK frame (64 KiB of data and its header) must fit. */
export const MIN_MAX_PAYLOAD = 128 * 1024;
/** The largest `maxPayload`: ws reads the option as a 32-bit signed integer. */
export const MAX_MAX_PAYLOAD = 0x7fffffff;
/**
 * The largest frame to send to a remote: our own `maxPayload`, or the smaller one the remote
 * offered in its CONFIRMED (docs/protocol.md §9 `maxPayload`). An offer that is not an integer of
 * at least MIN_MAX_PAYLOAD is ignored.
 */
export function sendLimit(offered: unknown, own: number): number {
  return typeof offered === 'number' && Number.isInteger(offered) && offered >= MIN_MAX_PAYLOAD && offered < own ? offered : own;
}

/** Stream ids are 16-bit (docs/protocol.md §6), so a unit never has more open streams. */
export const MAX_MAX_STREAMS = 0xffff;

/** Checks the limits among a Peer's options, naming a wrong one, and fills in the defaults. */
export function resolveLimits(options: Partial<Limits>): Limits {
  const limit = (name: keyof Limits, min: number, max: number): number => {
    const value = options[name] ?? DEFAULT_LIMITS[name];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(name, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, value);
    }
    return value;
  };
  return {
    maxPayload: limit('maxPayload', MIN_MAX_PAYLOAD, MAX_MAX_PAYLOAD),
    maxPendingHandshakes: limit('maxPendingHandshakes', 1, Number.MAX_SAFE_INTEGER),
    maxInFlight: limit('maxInFlight', 1, Number.MAX_SAFE_INTEGER),
    maxStreams: limit('maxStreams', 1, MAX_MAX_STREAMS),
    // QUOTA values fit 7 bytes, but a window beyond 1 GiB would only defeat its purpose.
    streamWindow: limit('streamWindow', INITIAL_ALLOWANCE, 1 << 30),
  };
}
