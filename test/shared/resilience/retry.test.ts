import { isTransientStatus, sleep, withRetry } from '../../../shared/resilience/retry';

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };
const throttled = () => Object.assign(new Error('throttled'), { statusCode: 429 });

describe('withRetry', () => {
  it('retries transient faults until the operation succeeds, reporting each retry', async () => {
    let calls = 0;
    const retries: number[] = [];
    const result = await withRetry(
      () => {
        calls += 1;
        return calls < 3 ? Promise.reject(throttled()) : Promise.resolve('done');
      },
      { ...fast, isTransient: isTransientStatus, onRetry: (_error, attempt) => retries.push(attempt) },
    );
    expect(result).toBe('done');
    expect(calls).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it('throws a permanent fault at once', async () => {
    let calls = 0;
    const badRequest = Object.assign(new Error('bad'), { statusCode: 400 });
    await expect(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(badRequest);
        },
        { ...fast, isTransient: isTransientStatus },
      ),
    ).rejects.toBe(badRequest);
    expect(calls).toBe(1);
  });

  it('gives up after the configured attempts with the last error', async () => {
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(throttled());
        },
        { ...fast, isTransient: isTransientStatus },
      ),
    ).rejects.toThrow('throttled');
    expect(calls).toBe(fast.attempts);
  });

  it('makes no further attempt once its signal aborts, rejecting with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    let calls = 0;
    const retrying = withRetry(
      () => {
        calls += 1;
        controller.abort(reason);
        return Promise.reject(throttled());
      },
      // A long backoff: only the abort can end this call quickly.
      {
        attempts: 6,
        baseDelayMs: 60_000,
        maxDelayMs: 60_000,
        isTransient: () => true,
        signal: controller.signal,
      },
    );
    await expect(retrying).rejects.toBe(reason);
    expect(calls).toBe(1);
  });

  it('does not start when its signal has already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    const operation = jest.fn(() => Promise.resolve(1));
    await expect(
      withRetry(operation, { ...fast, isTransient: () => true, signal: controller.signal }),
    ).rejects.toThrow('too late');
    expect(operation).not.toHaveBeenCalled();
  });
});

describe('sleep', () => {
  it('resolves after the delay when nothing aborts it', async () => {
    await expect(sleep(1, new AbortController().signal)).resolves.toBeUndefined();
  });

  it('rejects as soon as its signal aborts, without waiting out the delay', async () => {
    const controller = new AbortController();
    const waiting = sleep(60_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});

describe('isTransientStatus', () => {
  it.each([
    [{ statusCode: 429 }, true],
    [{ statusCode: 408 }, true],
    [{ statusCode: 449 }, true],
    [{ statusCode: 503 }, true],
    [{ code: 'ECONNRESET' }, true],
    [{ statusCode: 400 }, false],
    [{ statusCode: 412 }, false],
    [{ code: 'ENOENT' }, false],
    [new Error('plain'), false],
  ])('%p is transient: %p', (error, expected) => {
    expect(isTransientStatus(error)).toBe(expected);
  });
});
