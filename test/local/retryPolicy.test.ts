import { durationMs, retryPolicy } from '../../local/retryPolicy';

describe('retryPolicy', () => {
  it('reads durations as the host does: milliseconds or a Duration object', () => {
    expect(durationMs(250)).toBe(250);
    expect(durationMs({ minutes: 1, seconds: 2, milliseconds: 3 })).toBe(62_003);
    expect(durationMs({ hours: 1 })).toBe(3_600_000);
  });

  it('waits the same delay before every retry with fixedDelay', () => {
    const policy = retryPolicy('f', {
      strategy: 'fixedDelay',
      maxRetryCount: 3,
      delayInterval: { seconds: 2 },
    });
    expect(policy.maxRetryCount).toBe(3);
    expect([1, 2, 3].map((n) => policy.delayMs(n))).toEqual([2000, 2000, 2000]);
  });

  it('doubles the delay per retry with exponentialBackoff, jittered, between the two intervals', () => {
    const at = (random: number) =>
      retryPolicy(
        'f',
        { strategy: 'exponentialBackoff', maxRetryCount: -1, minimumInterval: 1000, maximumInterval: 10_000 },
        () => random,
      );
    const middle = at(0.5);
    expect([1, 2, 3, 4, 5].map((n) => middle.delayMs(n))).toEqual([1000, 2000, 4000, 8000, 10_000]);
    // ±20% jitter, never below the minimum or above the maximum.
    expect(at(0).delayMs(2)).toBe(1600);
    expect(at(1).delayMs(2)).toBe(2400);
    expect(at(0).delayMs(1)).toBe(1000);
    expect(at(1).delayMs(4)).toBe(9600);
    expect(at(1).delayMs(1000)).toBe(10_000);
  });

  it('refuses a malformed policy, naming the function and the field', () => {
    expect(() =>
      retryPolicy('aggregate', { strategy: 'fixedDelay', maxRetryCount: -2, delayInterval: 1 }),
    ).toThrow('function aggregate: retry: maxRetryCount must be an integer of -1');
    expect(() =>
      retryPolicy('aggregate', { strategy: 'fixedDelay', maxRetryCount: 1.5, delayInterval: 1 }),
    ).toThrow(/maxRetryCount/);
    expect(() =>
      retryPolicy('aggregate', { strategy: 'fixedDelay', maxRetryCount: 1, delayInterval: -5 }),
    ).toThrow('function aggregate: retry: delayInterval must be a non-negative duration');
    expect(() =>
      retryPolicy('aggregate', {
        strategy: 'exponentialBackoff',
        maxRetryCount: 1,
        minimumInterval: { seconds: 10 },
        maximumInterval: { seconds: 5 },
      }),
    ).toThrow('maximumInterval must not be shorter than minimumInterval');
  });
});
