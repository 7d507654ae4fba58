import { Timer, TimerFunctionOptions } from '@azure/functions';
import { resolveBindingExpression, RunningTrigger } from './eventHubTrigger';
import { Invocations } from './invocations';
import { nextOccurrence, parseSchedule } from '../shared/hosting/ncrontab';
import { invokeWithRetry, retryPolicy } from './retryPolicy';

/** An occurrence that starts this much later than scheduled is reported as past due. */
const PAST_DUE_AFTER_MS = 1000;
/** setTimeout cannot wait longer than about 24.8 days; longer waits are taken in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface TimerTriggerOptions {
  name: string;
  options: TimerFunctionOptions;
  env: Readonly<Record<string, string | undefined>>;
  invocations: Invocations;
}

/**
 * Runs a timer-triggered function on its NCRONTAB schedule (UTC), plus once at start when
 * runOnStartup is set. Occurrences never overlap: the next one is scheduled after the current
 * invocation ends (its retries included, with a `retry` policy), as the real host's singleton lock ensures.
 */
export function startTimerTrigger(trigger: TimerTriggerOptions): RunningTrigger {
  const { name, options, invocations } = trigger;
  const expression = resolveBindingExpression(options.schedule, trigger.env, `function ${name} schedule`);
  const schedule = parseSchedule(expression);
  let timeout: NodeJS.Timeout | undefined;
  let last: Date | undefined;
  let current: Promise<void> | undefined;
  const retry = retryPolicy(name, options.retry);
  const stopped = new AbortController();

  async function invoke(due: Date, isPastDue: boolean): Promise<void> {
    const next = nextOccurrence(schedule, new Date(Math.max(Date.now(), due.getTime())));
    const timer: Timer = {
      isPastDue,
      schedule: { adjustForDST: false },
      scheduleStatus: {
        last: (last ?? new Date(0)).toISOString(),
        next: (next ?? due).toISOString(),
        lastUpdated: new Date().toISOString(),
      },
    };
    last = due;
    await invokeWithRetry({
      invocations,
      functionName: name,
      trigger: { type: 'timerTrigger', name: 'timer' },
      retry,
      stopped: stopped.signal,
      run: (context) => options.handler(timer, context),
    });
  }

  function arm(after: Date): void {
    if (stopped.signal.aborted) return;
    const due = nextOccurrence(schedule, after);
    if (due === undefined) {
      invocations.log('warning', `schedule '${expression}' never fires; function ${name} will not run`);
      return;
    }
    const wait = () => {
      const remaining = due.getTime() - Date.now();
      if (remaining > 0) {
        timeout = setTimeout(wait, Math.min(remaining, MAX_TIMEOUT_MS));
        return;
      }
      // The next occurrence after the invocation ends, as the real host schedules it: occurrences that
      // passed during a long run are skipped, not fired back to back.
      current = invoke(due, -remaining > PAST_DUE_AFTER_MS).then(() => arm(new Date()));
    };
    wait();
  }

  if (options.runOnStartup) {
    const now = new Date();
    current = invoke(now, false).then(() => arm(new Date()));
  } else {
    arm(new Date());
  }

  return {
    async stop() {
      stopped.abort(new Error('the host is stopping'));
      if (timeout !== undefined) clearTimeout(timeout);
      await current;
    },
  };
}
