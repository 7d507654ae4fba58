/**
 * Retries with exponential backoff and full jitter for faults that may pass (throttling, 5xx, timeouts).
 * Anything else is thrown at once: retrying a 400 only delays the dead letter.
 */
export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  isTransient: (error: unknown) => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Once it aborts there is no further attempt and no backoff: the call rejects with its reason. */
  signal?: AbortSignal;
}

export const defaultRetry: Omit<RetryOptions, 'isTransient'> = {
  attempts: 6,
  baseDelayMs: 100,
  maxDelayMs: 5000,
};

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts (the timer is cleared). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal } = options;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await operation();
    } catch (error) {
      if (signal?.aborted) throw signal.reason as Error;
      if (attempt >= options.attempts || !options.isTransient(error)) throw error;
      const delayMs = Math.random() * Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs, signal);
    }
  }
}

/** Status codes of the Azure SDKs' RestError/ErrorResponse that are worth another try. */
export function isTransientStatus(error: unknown): boolean {
  const status =
    (error as { statusCode?: number; code?: number | string } | undefined)?.statusCode ??
    (error as { code?: number | string } | undefined)?.code;
  if (typeof status === 'number') return status === 408 || status === 429 || status === 449 || status >= 500;
  if (typeof status === 'string') {
    return ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'REQUEST_SEND_ERROR'].includes(
      status,
    );
  }
  return false;
}
