import { app, EventHubFunctionOptions, HttpFunctionOptions, TimerFunctionOptions } from '@azure/functions';

/**
 * Every function registers through here. Each call registers with the real Functions host (`app.*`)
 * and also records the registration, so the local host (local/host.ts) serves exactly the routes,
 * bindings and handlers that `func start` and Azure serve: one source of truth.
 */
export type Registration =
  | { kind: 'http'; name: string; options: HttpFunctionOptions }
  | { kind: 'eventHub'; name: string; options: EventHubFunctionOptions }
  | { kind: 'timer'; name: string; options: TimerFunctionOptions };

const registrations: Registration[] = [];
const shutdownHooks: Array<() => Promise<void>> = [];

export function registerHttp(name: string, options: HttpFunctionOptions): void {
  registrations.push({ kind: 'http', name, options });
  app.http(name, options);
}

export function registerEventHub(name: string, options: EventHubFunctionOptions): void {
  registrations.push({ kind: 'eventHub', name, options });
  app.eventHub(name, options);
}

export function registerTimer(name: string, options: TimerFunctionOptions): void {
  registrations.push({ kind: 'timer', name, options });
  app.timer(name, options);
}

export function listRegistrations(): readonly Registration[] {
  return registrations;
}

/**
 * Process-wide clients register their close here. The real host calls it on `appTerminate`;
 * the local host calls it when it stops.
 */
export function onShutdown(hook: () => Promise<void>): void {
  shutdownHooks.push(hook);
}

export async function runShutdownHooks(): Promise<void> {
  const hooks = shutdownHooks.splice(0).reverse();
  const results = await Promise.allSettled(hooks.map((hook) => hook()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length > 0) {
    throw new AggregateError(
      failures.map((f) => f.reason as unknown),
      'some clients failed to close',
    );
  }
}

app.hook.appTerminate(async () => {
  await runShutdownHooks();
});
