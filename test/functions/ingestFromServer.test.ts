import { ClickstreamEvent } from '../../shared/events/clickstreamEvent';
import { listRegistrations, runShutdownHooks } from '../../shared/hosting/registry';
import { FunctionsHost, startFunctionsHost } from '../../local/host';
import { recordHubEvents, startTestStack, TestStack } from '../support/localStack';

/**
 * POST /api/server/events, the keyed server-to-server ingest, through the local host and the real (local)
 * Event Hubs, next to the browsers' POST /api/events. The function key itself is checked by the Functions
 * host in Azure, not by the function: the local host, like `func start`, does not check keys, so a missing
 * or wrong key cannot be tested here (docs/api.md).
 */

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

const SHOP = 'https://shop.example';
let stack: TestStack;
let host: FunctionsHost;
let hub: ReturnType<typeof recordHubEvents>;

beforeAll(async () => {
  stack = await startTestStack({ partitionCount: 2, extra: { CORS_ALLOWED_ORIGINS: SHOP } });
  Object.assign(process.env, stack.settings);
  hub = recordHubEvents(stack.settings);
  // Loading a function module is its registration (shared/hosting/registry.ts); settings are read then.
  await import('../../functions/ingestFromServer');
  await import('../../functions/ingest');
  host = await startFunctionsHost({
    port: 0,
    registrations: listRegistrations().filter((r) => r.name === 'ingestFromServer' || r.name === 'ingest'),
    enableNonHttpTriggers: false,
    log: () => undefined,
  });
}, 60_000);

afterAll(async () => {
  await hub?.close();
  if (host) await host.stop();
  else await runShutdownHooks();
  await stack?.stop();
});

function event(userId: string, eventId: string) {
  return { type: 'purchase', userId, productId: 'p7', price: 19.9, eventId };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const delivered = (prefix: string) =>
  hub.delivered.map((d) => d.body as ClickstreamEvent).filter((e) => e.eventId.startsWith(prefix));

describe('POST /api/server/events', () => {
  it('answers 202 with the per-event report and the events reach the hub', async () => {
    const response = await fetch(`${host.url}/api/server/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-functions-key': 'a-function-key' },
      body: JSON.stringify([event('server-u1', 'srv-1'), event('server-u2', 'srv-2')]),
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ status: 202, accepted: 2, rejected: 0 });
    await until(() => delivered('srv-').length === 2, 'both events on the hub');
    expect(
      delivered('srv-')
        .map((e) => [e.eventId, e.userId, e.type])
        .sort(),
    ).toEqual([
      ['srv-1', 'server-u1', 'purchase'],
      ['srv-2', 'server-u2', 'purchase'],
    ]);
  });

  it('takes one event object, the key in the code query parameter', async () => {
    const response = await fetch(`${host.url}/api/server/events?code=a-function-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event('server-u3', 'one-1')),
    });
    expect(response.status).toBe(202);
    await until(() => delivered('one-').length === 1, 'the event on the hub');
  });

  it('answers an invalid event as /api/events does: 400 with the report naming the field', async () => {
    const body = JSON.stringify([{ type: 'purchase', userId: 'u/1', productId: 'p7' }]);
    const answers = await Promise.all(
      ['server/events', 'events'].map(async (route) => {
        const response = await fetch(`${host.url}/api/${route}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
        return { status: response.status, body: await response.json() };
      }),
    );
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]).toMatchObject({
      status: 400,
      body: { rejected: 1, results: [{ index: 0, status: 'rejected', errors: [{ field: '[0].userId' }] }] },
    });
  });

  it('has no CORS, even for an origin that /api/events allows', async () => {
    const post = (route: string) =>
      fetch(`${host.url}/api/${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: SHOP },
        body: JSON.stringify(event('server-u4', `cors-${route.replace('/', '-')}`)),
      });
    const server = await post('server/events');
    expect(server.status).toBe(202);
    expect(server.headers.get('access-control-allow-origin')).toBeNull();
    const browser = await post('events');
    expect(browser.status).toBe(202);
    expect(browser.headers.get('access-control-allow-origin')).toBe(SHOP);
  });
});
