import { sleep } from '../resilience/retry';

/**
 * A token bucket: `ratePerSecond` tokens accrue continuously up to `capacity`; taking waits until enough
 * have accrued. Time is injected so tests can drive it with a virtual clock.
 */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep,
};

const MIN_SLEEP_MS = 5;

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  /** Takers queue so that a large request is not starved by a stream of small ones. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
      throw new RangeError('ratePerSecond must be positive');
    if (!(capacity >= 1) || !Number.isFinite(capacity)) throw new RangeError('capacity must be at least 1');
    // Start empty: the first second is not a burst above the rate.
    this.tokens = 0;
    this.updatedAt = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
  }

  /** Waits until `count` tokens (at most `capacity`) are available and takes them. */
  take(count: number, signal?: AbortSignal): Promise<void> {
    if (!(count > 0) || count > this.capacity) throw new RangeError(`count must be in (0, ${this.capacity}]`);
    const turn = this.queue.then(async () => {
      this.refill();
      while (this.tokens < count) {
        const waitMs = ((count - this.tokens) / this.ratePerSecond) * 1000;
        // Timers are coarse (a few ms under load): at high rates, sleeping for exactly one token would
        // spend the time waking up. Sleeping a little longer lets tokens accrue and leaves the rate intact.
        await this.clock.sleep(Math.max(MIN_SLEEP_MS, Math.ceil(waitMs)), signal);
        this.refill();
      }
      this.tokens -= count;
    });
    // A rejected turn (abort) must not block later takers.
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
