import type { ClientOptions, WebSocket } from 'ws';
import type { RemotePeer } from './remote-peer';
import { Timing } from '../protocol/constants';

/** The AuthError message of a handshake that reached this very peer. */
export const SELF_DIAL = 'The remote peer is this peer';

/** What a dialer needs from the peer: open one connection and run its handshake. */
export interface DialHost {
  open(address: string, wsOptions: ClientOptions, dialer: Dialer): Promise<{ unit: RemotePeer; ws: WebSocket }>;
  /** `count`: the redial's number since the connection was lost, from 1. */
  reconnected(dialer: Dialer, unit: RemotePeer, count: number): void;
  reconnectFailed(dialer: Dialer, error: Error, delay: number, count: number): void;
  forget(dialer: Dialer): void;
}

/**
 * One address this peer dials (docs/protocol.md §8). A permanent dialer redials after its
 * connection closes, unless this side closed it on purpose, with the backoff of §8 plus a
 * little jitter so that a restarted service is not hit by every client at the same instant.
 */
export class Dialer {
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  stopped = false;
  /** The unit the last successful connection reached. */
  unit: RemotePeer | undefined;

  constructor(
    private readonly host: DialHost,
    readonly address: string,
    private readonly wsOptions: ClientOptions,
    readonly permanent: boolean,
  ) {}

  /** The first connection: its failure rejects and ends the dialer. */
  async first(): Promise<{ unit: RemotePeer; ws: WebSocket }> {
    try {
      const result = await this.host.open(this.address, this.wsOptions, this);
      this.unit = result.unit;
      return result;
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /** The connection this dialer made has closed; `intentional` when this side closed it. */
  connectionClosed(intentional: boolean): void {
    if (this.stopped || intentional || !this.permanent) {
      if (!this.permanent || intentional) this.stop();
      return;
    }
    this.schedule();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.host.forget(this);
  }

  private schedule(): void {
    const delays = Timing.RECONNECT_DELAYS;
    const base = delays[Math.min(this.attempt, delays.length - 1)]!;
    // Up to 10% jitter on every delay but the first, immediate one.
    const delay = base === 0 ? 0 : Math.round(base * (1 + Math.random() * 0.1));
    this.attempt++;
    this.timer = setTimeout(() => this.redial(delay), delay);
  }

  private async redial(delay: number): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    const count = this.attempt;
    try {
      const { unit } = await this.host.open(this.address, this.wsOptions, this);
      this.unit = unit;
      this.attempt = 0;
      this.host.reconnected(this, unit, count);
    } catch (err) {
      if (this.stopped) return;
      this.host.reconnectFailed(this, err as Error, delay, count);
      this.schedule();
    }
  }
}
