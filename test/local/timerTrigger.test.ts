import { LogLevel, Timer } from '@azure/functions';
import { startFunctionsHost } from '../../local/host';
import { listRegistrations, registerTimer } from '../../shared/hosting/registry';

// @azure/functions warns on every registration outside the real host; that is expected here.
jest.spyOn(console, 'warn').mockImplementation(() => undefined);

const ticks: Timer[] = [];
registerTimer('everySecond', {
  schedule: '%TICK_SCHEDULE%',
  runOnStartup: true,
  handler: (timer) => {
    ticks.push(timer);
    // Failing invocations must not stop the schedule.
    if (ticks.length === 2) throw new Error('tick failed on purpose');
  },
});
registerTimer('badSchedule', { schedule: '0 0 25 * * *', handler: () => undefined });

// Every 2 s, with a first run of 5 s: the occurrences that pass meanwhile must not fire back to back.
const slowRuns: Array<{ startedAt: number; endedAt: number; isPastDue: boolean }> = [];
registerTimer('slowOnStartup', {
  schedule: '*/2 * * * * *',
  runOnStartup: true,
  handler: async (timer) => {
    const startedAt = Date.now();
    if (slowRuns.length === 0) await new Promise((resolve) => setTimeout(resolve, 5000));
    slowRuns.push({ startedAt, endedAt: Date.now(), isPastDue: timer.isPastDue });
  },
});

const attempts: Array<number | undefined> = [];
registerTimer('retriedOnStartup', {
  // Once a year: only the run at startup happens during the test.
  schedule: '0 0 0 1 1 *',
  runOnStartup: true,
  retry: { strategy: 'fixedDelay', maxRetryCount: 2, delayInterval: { milliseconds: 50 } },
  handler: (_timer, context) => {
    attempts.push(context.retryContext?.retryCount);
    throw new Error('fails every time');
  },
});

async function eventually(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const only = (name: string) => listRegistrations().filter((r) => r.name === name);

/** A host running only the named timer, its log discarded. */
const quietHost = (name: string) =>
  startFunctionsHost({
    port: 0,
    registrations: only(name),
    log: () => undefined,
    runShutdownHooksOnStop: false,
  });

describe('local Functions host: timer trigger', () => {
  it('runs on startup, then on its schedule, with the Timer object, even after a failure', async () => {
    const logs: Array<{ level: LogLevel; message: string }> = [];
    const host = await startFunctionsHost({
      port: 0,
      registrations: only('everySecond'),
      env: { TICK_SCHEDULE: '* * * * * *' },
      log: (level, message) => logs.push({ level, message }),
      runShutdownHooksOnStop: false,
    });
    try {
      await eventually('three invocations', () => ticks.length >= 3);
    } finally {
      await host.stop();
    }
    const [startup, scheduled] = ticks;
    expect(startup!.isPastDue).toBe(false);
    expect(startup!.schedule).toEqual({ adjustForDST: false });
    for (const tick of ticks) {
      for (const field of ['last', 'next', 'lastUpdated'] as const) {
        expect(new Date(tick.scheduleStatus[field]).toISOString()).toBe(tick.scheduleStatus[field]);
      }
    }
    // Scheduled occurrences fall on whole seconds and follow each other.
    expect(scheduled!.scheduleStatus.next.endsWith('.000Z')).toBe(true);
    expect(Date.parse(ticks[2]!.scheduleStatus.last)).toBeGreaterThanOrEqual(
      Date.parse(ticks[1]!.scheduleStatus.last),
    );
    expect(logs.some((l) => l.level === 'error' && l.message.includes('tick failed on purpose'))).toBe(true);
  });

  it('runs a failing occurrence again per its retry policy, then gives up until the next one', async () => {
    const host = await quietHost('retriedOnStartup');
    try {
      await eventually('the retries', () => attempts.length >= 3);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await host.stop();
    }
    expect(attempts).toEqual([0, 1, 2]);
  });

  it('skips the occurrences that passed during a long run instead of firing them back to back', async () => {
    const host = await quietHost('slowOnStartup');
    try {
      await eventually('two runs after the slow one', () => slowRuns.length >= 3);
    } finally {
      await host.stop();
    }
    const [slow, next, after] = slowRuns as [
      (typeof slowRuns)[number],
      (typeof slowRuns)[number],
      (typeof slowRuns)[number],
    ];
    // Two occurrences passed during the slow run; a catch-up would start them at once, one after the
    // other. The next run waits for the next occurrence instead, on its own schedule.
    expect(next.startedAt - slow.endedAt).toBeGreaterThan(0);
    expect(after.startedAt - next.startedAt).toBeGreaterThanOrEqual(500);
  }, 20_000);

  it('fails to start, naming the problem, on a bad schedule or a missing setting', async () => {
    await expect(
      startFunctionsHost({ port: 0, registrations: only('badSchedule'), env: {} }),
    ).rejects.toThrow(/hour field: 25 is outside 0-23/);
    await expect(
      startFunctionsHost({ port: 0, registrations: only('everySecond'), env: {} }),
    ).rejects.toThrow(/app setting 'TICK_SCHEDULE'/);
  });
});
