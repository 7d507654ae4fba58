/** Marks a call the offer path gave up on; the caller degrades to the next best source. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Resolves with the operation's result, or rejects with TimeoutError after `ms`. */
export async function withTimeout<T>(operation: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([operation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
