import type { ClientEvent } from '../../../shared/events/clickstreamEvent';
import { EventPoster, retryAfterMs } from '../../../shared/simulation/eventPoster';
import type { Clock } from '../../../shared/simulation/tokenBucket';
import { sendJson, startTestServer, TestServer } from './testServer';

function events(count: number): ClientEvent[] {
  return Array.from({ length: count }, (_, i) => ({
    schemaVersion: 1,
    type: 'product_view',
    userId: `u${i % 7}`,
    productId: `p${i % 13}`,
    eventId: `e${i}`,
  }));
}

/** Retry waits are recorded and skipped, so tests see which waits were asked for without waiting. */
function recordingClock(): Clock & { waits: number[] } {
  const waits: number[] = [];
  return {
    now: () => performance.now(),
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    waits,
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EventPoster', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('posts JSON arrays of at most the batch size with the function key to /api/server/events, each event once', async () => {
    server = await startTestServer((request, response) => {
      const batch = JSON.parse(request.body) as unknown[];
      sendJson(response, 202, { accepted: batch.length });
    });
    const poster = new EventPoster({
      baseUrl: server.baseUrl,
      functionKey: 'k3y',
      concurrency: 2,
      batchSize: 100,
    });
    for (const event of events(250)) await poster.add(event);
    const totals = await poster.close();

    expect(totals).toMatchObject({ accepted: 250, rejected: 0, failed: 0, retries: 0 });
    const ids: string[] = [];
    for (const request of server.requests) {
      expect(request.method).toBe('POST');
      // A function key makes the simulator a server-to-server caller: the keyed endpoint, not the browsers' one.
      expect(request.path).toBe('/api/server/events');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-functions-key']).toBe('k3y');
      const batch = JSON.parse(request.body) as ClientEvent[];
      expect(batch.length).toBeLessThanOrEqual(100);
      ids.push(...batch.map((e) => e.eventId!));
    }
    expect(ids.sort()).toEqual(
      events(250)
        .map((e) => e.eventId!)
        .sort(),
    );
  });

  it('posts to the anonymous /api/events without a key header when given no function key', async () => {
    server = await startTestServer((request, response) => {
      sendJson(response, 202, { accepted: (JSON.parse(request.body) as unknown[]).length });
    });
    const poster = new EventPoster({ baseUrl: `${server.baseUrl}/`, concurrency: 1, batchSize: 10 });
    for (const event of events(3)) await poster.add(event);
    expect(await poster.close()).toMatchObject({ accepted: 3, rejected: 0, failed: 0 });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.path).toBe('/api/events');
    expect(server.requests[0]!.headers['x-functions-key']).toBeUndefined();
  });

  it('never has more requests in flight than its concurrency', async () => {
    server = await startTestServer(async (request, response) => {
      await delay(15);
      sendJson(response, 202, { accepted: (JSON.parse(request.body) as unknown[]).length });
    });
    const poster = new EventPoster({ baseUrl: server.baseUrl, concurrency: 3, batchSize: 5 });
    for (const event of events(200)) await poster.add(event);
    const totals = await poster.close();
    expect(totals.accepted).toBe(200);
    expect(server.requests).toHaveLength(40);
    expect(server.maxInFlight()).toBeLessThanOrEqual(3);
  });

  it('retries 503 and 429 honouring Retry-After, then counts the batch accepted', async () => {
    const attempts = new Map<string, number>();
    server = await startTestServer((request, response) => {
      const batch = JSON.parse(request.body) as ClientEvent[];
      const key = batch[0]!.eventId!;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      if (attempt === 1) return sendJson(response, 503, { error: 'busy' }, { 'retry-after': '2' });
      if (attempt === 2) return sendJson(response, 429, { error: 'slow down' }, { 'retry-after': '7' });
      sendJson(response, 202, { accepted: batch.length });
    });
    const clock = recordingClock();
    const poster = new EventPoster({ baseUrl: server.baseUrl, concurrency: 1, batchSize: 10, clock });
    for (const event of events(20)) await poster.add(event);
    const totals = await poster.close();
    expect(totals).toMatchObject({ accepted: 20, failed: 0, rejected: 0, requests: 6, retries: 4 });
    expect(totals.statuses).toEqual({ '202': 2, '429': 2, '503': 2 });
    expect(clock.waits).toEqual([2000, 7000, 2000, 7000]);
  });

  it('on a 503 per-event report, sends again only the events marked unavailable', async () => {
    const bodies: string[][] = [];
    server = await startTestServer((request, response) => {
      const batch = JSON.parse(request.body) as ClientEvent[];
      bodies.push(batch.map((e) => e.eventId!));
      if (bodies.length === 1) {
        const results = batch.map((event, index) => ({
          index,
          eventId: event.eventId,
          status: index === 0 ? 'rejected' : index < 3 ? 'accepted' : 'unavailable',
        }));
        return sendJson(
          response,
          503,
          { status: 503, accepted: 2, rejected: 1, results },
          { 'retry-after': '2' },
        );
      }
      sendJson(response, 202, { status: 202, accepted: batch.length, rejected: 0 });
    });
    const poster = new EventPoster({
      baseUrl: server.baseUrl,
      concurrency: 1,
      batchSize: 5,
      clock: recordingClock(),
    });
    for (const event of events(5)) await poster.add(event);
    const totals = await poster.close();
    expect(bodies).toEqual([
      ['e0', 'e1', 'e2', 'e3', 'e4'],
      ['e3', 'e4'],
    ]);
    expect(totals).toMatchObject({ accepted: 4, rejected: 1, failed: 0, retries: 1 });
  });

  it('backs off without Retry-After and gives up after the last attempt, counting the events failed', async () => {
    server = await startTestServer((_request, response) => sendJson(response, 503, { error: 'down' }));
    const clock = recordingClock();
    const poster = new EventPoster({
      baseUrl: server.baseUrl,
      concurrency: 1,
      batchSize: 10,
      maxAttempts: 3,
      clock,
    });
    for (const event of events(10)) await poster.add(event);
    const totals = await poster.close();
    expect(totals).toMatchObject({ accepted: 0, failed: 10, requests: 3 });
    expect(clock.waits).toEqual([250, 500]);
    expect(totals.errors).toEqual(['HTTP 503']);
  });

  it('counts a 400 as rejected without retrying, and a partial 202 by its accepted count', async () => {
    let call = 0;
    server = await startTestServer((_request, response) => {
      call++;
      if (call === 1) return sendJson(response, 400, { error: 'userId: must not be empty' });
      sendJson(response, 202, { accepted: 3, rejected: 2 });
    });
    const poster = new EventPoster({ baseUrl: server.baseUrl, concurrency: 1, batchSize: 5 });
    for (const event of events(10)) await poster.add(event);
    const totals = await poster.close();
    expect(totals).toMatchObject({ accepted: 3, rejected: 7, failed: 0, requests: 2, retries: 0 });
    expect(totals.errors[0]).toContain('userId: must not be empty');
  });

  it('sends a partial batch after a short wait instead of holding it', async () => {
    server = await startTestServer((request, response) =>
      sendJson(response, 202, { accepted: (JSON.parse(request.body) as unknown[]).length }),
    );
    const settled: number[] = [];
    const poster = new EventPoster({
      baseUrl: server.baseUrl,
      concurrency: 1,
      batchSize: 100,
      maxBatchDelayMs: 5,
      onBatchSettled: (outcome) => settled.push(outcome.accepted),
    });
    for (const event of events(3)) await poster.add(event);
    while (settled.length === 0) await delay(5);
    expect(settled).toEqual([3]);
    await poster.close();
  });

  it('counts a refused connection as failed after its attempts', async () => {
    const gone = await startTestServer(() => undefined);
    const baseUrl = gone.baseUrl;
    await gone.close();
    const poster = new EventPoster({
      baseUrl,
      concurrency: 1,
      batchSize: 5,
      maxAttempts: 2,
      clock: recordingClock(),
    });
    for (const event of events(5)) await poster.add(event);
    expect(await poster.close()).toMatchObject({ failed: 5, requests: 2 });
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterMs('3', 0)).toBe(3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});
