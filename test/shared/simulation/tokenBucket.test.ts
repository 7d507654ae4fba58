import { Clock, TokenBucket } from '../../../shared/simulation/tokenBucket';

/** A clock whose sleeps advance virtual time at once, so the test sees how long the bucket waits. */
function virtualClock(): Clock & { elapsed: () => number; sleeps: number[] } {
  let now = 0;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: (ms, signal) => {
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
    elapsed: () => now,
    sleeps,
  };
}

describe('TokenBucket', () => {
  it('holds takers to the rate: 1000 tokens at 100/s take about 10 virtual seconds', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket(100, 10, clock);
    for (let i = 0; i < 1000; i++) await bucket.take(1);
    expect(clock.elapsed()).toBeGreaterThanOrEqual(10_000);
    // Waits round up to whole milliseconds (at least 5), never beyond what the rate needs plus that.
    expect(clock.elapsed()).toBeLessThanOrEqual(10_000 + clock.sleeps.length);
  });

  it('keeps high rates without waking for every token', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket(10_000, 2_500, clock);
    for (let i = 0; i < 20_000; i++) await bucket.take(1);
    expect(clock.elapsed()).toBeGreaterThanOrEqual(2_000);
    expect(clock.elapsed()).toBeLessThanOrEqual(2_005);
    // Each wait lasts at least 5 ms, so 50 tokens accrue per wake-up rather than one.
    expect(clock.sleeps.length).toBeLessThanOrEqual(401);
  });

  it('lets a burst up to capacity through at once after idling, then paces again', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket(10, 5, clock);
    // Idle for ten virtual seconds: the bucket fills to capacity, not to 100 tokens.
    await clock.sleep(10_000);
    const before = clock.elapsed();
    for (let i = 0; i < 5; i++) await bucket.take(1);
    expect(clock.elapsed()).toBe(before);
    await bucket.take(1);
    expect(clock.elapsed()).toBeGreaterThanOrEqual(before + 100);
  });

  it('serves concurrent takers in order and in total at the rate', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket(50, 1, clock);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => bucket.take(1).then(() => order.push(i))));
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(clock.elapsed()).toBeGreaterThanOrEqual(400);
  });

  it('stops waiting when the signal aborts, and later takers still proceed', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket(1, 1, clock);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(bucket.take(1, controller.signal)).rejects.toThrow('stop');
    await expect(bucket.take(1)).resolves.toBeUndefined();
  });

  it('rejects a bad rate, capacity or count', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(/rate/);
    expect(() => new TokenBucket(1, 0)).toThrow(/capacity/);
    expect(() => new TokenBucket(1, 2).take(3)).toThrow(/count/);
  });
});
