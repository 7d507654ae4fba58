import { InvocationContext, LogLevel, TriggerMetadata } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { format } from 'node:util';

/** Where the local host writes: the host's own lines (functionName undefined) and the functions' logs. */
export type HostLogger = (level: LogLevel, message: string, functionName?: string) => void;

/** Writes `[time] [level] [function] message` lines to stderr, as `func start` does to its console. */
export const stderrLogger: HostLogger = (level, message, functionName) => {
  const source = functionName === undefined ? '' : ` [${functionName}]`;
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
  ): InvocationContext {
    const log = this.log;
    return new InvocationContext({
      invocationId: randomUUID(),
      functionName,
      ...(triggerMetadata === undefined ? {} : { triggerMetadata }),
      options: { trigger },
      logHandler: (level, ...args) => log(level, format(...args), functionName),
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
