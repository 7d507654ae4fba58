import { TimeoutError, withTimeout } from '../../../shared/resilience/timeout';

describe('withTimeout', () => {
  it('resolves with the result of an operation that finishes in time, its signal never aborted', async () => {
    let seen: AbortSignal | undefined;
    const result = await withTimeout(
      (signal) => {
        seen = signal;
        return Promise.resolve(42);
      },
      1_000,
      'the answer',
    );
    expect(result).toBe(42);
    expect(seen?.aborted).toBe(false);
  });

  it('rejects with a TimeoutError naming the operation, and aborts its signal with that error', async () => {
    let seen: AbortSignal | undefined;
    const never = (signal: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => undefined);
    };
    const error = await withTimeout(never, 5, 'profile read').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('profile read took longer than 5 ms');
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(error);
  });

  it('passes the operation its own failure unchanged', async () => {
    const failure = new Error('cosmos down');
    await expect(withTimeout(() => Promise.reject(failure), 1_000, 'read')).rejects.toBe(failure);
  });
});
