/** Marks a call the offer path gave up on; the caller degrades to the next best source. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/**
 * Resolves with the operation's result, or rejects with TimeoutError after `ms`. On the timeout the
 * operation's signal aborts (with that TimeoutError), so an operation that honours it stops there instead
 * of going on (requests, retries, backoff timers) after its caller has given up on it.
 */
export async function withTimeout<T>(
  operation: (signal: AbortSignal) => Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  const abandoned = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(`${what} took longer than ${ms} ms`);
      reject(error);
      abandoned.abort(error);
    }, ms);
  });
  try {
    return await Promise.race([operation(abandoned.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
