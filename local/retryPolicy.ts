import { Duration, InvocationContext, RetryOptions } from '@azure/functions';
import { sleep } from '../shared/resilience/retry';
import { describeError, Invocations } from './invocations';

/** A function's `retry` option, checked and in milliseconds. */
export interface RetryPolicy {
  /** Retries after the first execution; -1 retries until the execution succeeds or the host stops. */
  maxRetryCount: number;
  /** The delay before retry `retryCount` (1 for the first retry). */
  delayMs(retryCount: number): number;
}

export function durationMs(value: Duration | number): number {
  if (typeof value === 'number') return value;
  return (
    (value.hours ?? 0) * 3_600_000 +
    (value.minutes ?? 0) * 60_000 +
    (value.seconds ?? 0) * 1_000 +
    (value.milliseconds ?? 0)
  );
}

/**
 * The retry policy the host applies to a function that throws (Timer, Event Hubs, Cosmos DB and Kafka
 * triggers in Azure), from its registration's `retry` option. A malformed option fails when the host starts,
 * naming the function, as `func start` refuses the function.
 *
 * Exponential back-off doubles the minimum interval per retry, with ±20% jitter so that partitions failing
 * together do not retry together, and never waits longer than the maximum interval.
 */
export function retryPolicy(functionName: string, options: RetryOptions, random?: () => number): RetryPolicy;
/** No `retry` option: no policy (the host checkpoints past a failed execution). */
export function retryPolicy(
  functionName: string,
  options: RetryOptions | undefined,
  random?: () => number,
): RetryPolicy | undefined;
export function retryPolicy(
  functionName: string,
  options: RetryOptions | undefined,
  random: () => number = Math.random,
): RetryPolicy | undefined {
  if (options === undefined) return undefined;
  const fail = (message: string) => new Error(`function ${functionName}: retry: ${message}`);
  const { maxRetryCount } = options;
  if (!Number.isInteger(maxRetryCount) || maxRetryCount < -1) {
    throw fail(`maxRetryCount must be an integer of -1 (retry indefinitely) or more, got ${maxRetryCount}`);
  }
  const checked = (field: string, value: Duration | number) => {
    const ms = durationMs(value);
    if (!Number.isFinite(ms) || ms < 0) throw fail(`${field} must be a non-negative duration`);
    return ms;
  };
  if (options.strategy === 'fixedDelay') {
    const delay = checked('delayInterval', options.delayInterval);
    return { maxRetryCount, delayMs: () => delay };
  }
  const minimum = checked('minimumInterval', options.minimumInterval);
  const maximum = checked('maximumInterval', options.maximumInterval);
  if (maximum < minimum) throw fail('maximumInterval must not be shorter than minimumInterval');
  return {
    maxRetryCount,
    delayMs: (retryCount) => {
      const exponential = minimum * 2 ** Math.min(retryCount - 1, 30);
      const jittered = exponential * (0.8 + 0.4 * random());
      return Math.round(Math.min(maximum, Math.max(minimum, jittered)));
    },
  };
}

export interface RetriedInvocation {
  invocations: Invocations;
  functionName: string;
  trigger: { type: string; name: string };
  triggerMetadata?: Record<string, unknown>;
  retry: RetryPolicy | undefined;
  /** Aborts when the host stops: a wait for the next retry ends there. */
  stopped: AbortSignal;
  run: (context: InvocationContext) => unknown;
}

/**
 * Runs one execution of a function, and again per its retry policy while it throws: each run a new
 * invocation whose `retryContext` counts the retries, each failure logged with its invocation id. Resolves
 * true once an execution succeeded or the retries ran out, false when the host stopped before either.
 */
export async function invokeWithRetry(call: RetriedInvocation): Promise<boolean> {
  const { invocations, functionName, retry } = call;
  for (let retryCount = 0; ; retryCount++) {
    const context = invocations.context(
      functionName,
      call.trigger,
      call.triggerMetadata,
      retry === undefined ? undefined : { retryCount, maxRetryCount: retry.maxRetryCount },
    );
    try {
      await invocations.track(Promise.resolve(call.run(context)));
      return true;
    } catch (error) {
      invocations.log(
        'error',
        `invocation ${context.invocationId} failed: ${describeError(error)}`,
        functionName,
      );
      if (retry === undefined || (retry.maxRetryCount !== -1 && retryCount >= retry.maxRetryCount)) {
        return true;
      }
      const delayMs = retry.delayMs(retryCount + 1);
      invocations.log(
        'warning',
        `retry ${retryCount + 1}${retry.maxRetryCount === -1 ? '' : ` of ${retry.maxRetryCount}`} in ${delayMs} ms`,
        functionName,
      );
      try {
        await sleep(delayMs, call.stopped);
      } catch {
        return false;
      }
    }
  }
}
