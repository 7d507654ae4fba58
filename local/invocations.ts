import { InvocationContext, LogLevel, RetryContext, TriggerMetadata } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { format } from 'node:util';

/**
 * Where the local host writes: the host's own lines (functionName undefined) and the functions' logs, with
 * the invocation that wrote them (as Application Insights records each log's InvocationId in Azure).
 */
export type HostLogger = (
  level: LogLevel,
  message: string,
  functionName?: string,
  invocationId?: string,
) => void;

/** Writes `[time] level [function invocation]: message` lines to stderr, as `func start` does to its console. */
export const stderrLogger: HostLogger = (level, message, functionName, invocationId) => {
  const source =
    functionName === undefined
      ? ''
      : ` [${functionName}${invocationId === undefined ? '' : ` ${invocationId}`}]`;
  process.stderr.write(`[${new Date().toISOString()}] ${level}${source}: ${message}\n`);
};

/**
 * Creates invocation contexts and tracks every invocation in flight, so the host can wait for them
 * before it stops.
 */
export class Invocations {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(readonly log: HostLogger) {}

  context(
    functionName: string,
    trigger: { type: string; name: string },
    triggerMetadata?: TriggerMetadata,
    retryContext?: RetryContext,
  ): InvocationContext {
    const log = this.log;
    const invocationId = randomUUID();
    return new InvocationContext({
      invocationId,
      functionName,
      ...(triggerMetadata === undefined ? {} : { triggerMetadata }),
      ...(retryContext === undefined ? {} : { retryContext }),
      options: { trigger },
      logHandler: (level, ...args) => log(level, format(...args), functionName, invocationId),
    });
  }

  /** Runs an invocation, tracked until it settles. */
  track<T>(invocation: Promise<T>): Promise<T> {
    this.inFlight.add(invocation);
    const forget = () => this.inFlight.delete(invocation);
    invocation.then(forget, forget);
    return invocation;
  }

  get count(): number {
    return this.inFlight.size;
  }

  /** Resolves once every invocation started so far (and any they start meanwhile) has settled. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
