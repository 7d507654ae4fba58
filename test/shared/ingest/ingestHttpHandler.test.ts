import { EventHubProducerClient } from '@azure/event-hubs';
import { HttpRequest, InvocationContext } from '@azure/functions';
import fc from 'fast-check';
import { clickstreamEventSchema } from '../../../shared/events/clickstreamEvent';
import { EventHubsPublisher, EventPublisher } from '../../../shared/ingest/eventPublisher';
import { partitionForKey } from '../../../shared/ingest/partitioning';
import { createIngestHandler, IngestHandlerDependencies } from '../../../shared/ingest/ingestHttpHandler';
import { createEventHubProducer } from '../../../shared/runtime/clients';
import { eventHubProducerFor, recordHubEvents, startTestStack, TestStack } from '../../support/localStack';

let stack: TestStack;
let producer: EventHubProducerClient;
let hub: ReturnType<typeof recordHubEvents>;

beforeAll(async () => {
  stack = await startTestStack({ partitionCount: 2 });
  producer = eventHubProducerFor(stack.settings);
  hub = recordHubEvents(stack.settings);
});

afterAll(async () => {
  await hub.close();
  await producer.close();
  await stack.stop();
});

const cors = {
  allowedOrigins: ['https://shop.example'],
  allowedMethods: ['POST', 'OPTIONS'],
  allowedHeaders: ['content-type'],
  maxAgeSeconds: 600,
};
const limits = { maxEventsPerRequest: 500, maxBodyBytes: 1024 * 1024 };

function handler(overrides: Partial<IngestHandlerDependencies> = {}) {
  return createIngestHandler({ publisher: new EventHubsPublisher(producer), limits, cors, ...overrides });
}

function post(
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  method = 'POST',
) {
  return new HttpRequest({ method, url: 'http://localhost/api/events', headers, body: { string: body } });
}

const context = () => new InvocationContext({ functionName: 'ingest', logHandler: () => undefined });

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

const view = (userId: string, productId = 'p1') => ({
  type: 'product_view',
  userId,
  productId,
  eventId: `${userId}-${productId}`,
});

describe('POST /api/events', () => {
  it('sends valid events to Event Hubs, a user to one partition, and answers 202 with a per-event report', async () => {
    const response = await handler()(
      post(JSON.stringify([view('ann', 'p1'), view('ann', 'p2'), view('ben')])),
      context(),
    );
    expect(response.status).toBe(202);
    expect(response.jsonBody).toMatchObject({ accepted: 3, rejected: 0 });
    await until(
      () =>
        hub.delivered.filter((e) => ['ann', 'ben'].includes((e.body as { userId: string }).userId)).length ===
        3,
      'events',
    );
    const ann = hub.delivered.filter((e) => (e.body as { userId: string }).userId === 'ann');
    expect(new Set(ann.map((e) => e.partitionId))).toEqual(
      new Set([partitionForKey('ann', await producer.getPartitionIds())]),
    );
    expect(ann.map((e) => (e.body as { productId: string }).productId)).toEqual(['p1', 'p2']);
    for (const e of ann) expect(clickstreamEventSchema.safeParse(e.body).success).toBe(true);
  });

  it('accepts the valid events of a mixed request and names the fields of the others', async () => {
    const response = await handler()(
      post(JSON.stringify([view('cat'), { type: 'product_view', userId: '' }])),
      context(),
    );
    expect(response.status).toBe(202);
    const body = response.jsonBody as {
      accepted: number;
      results: Array<{ status: string; errors?: Array<{ field: string }> }>;
    };
    expect(body.accepted).toBe(1);
    expect(body.results[1]!.status).toBe('rejected');
    expect(body.results[1]!.errors!.map((e) => e.field)).toEqual(
      expect.arrayContaining(['[1].userId', '[1].productId']),
    );
  });

  it('accepts text/plain bodies from navigator.sendBeacon', async () => {
    const response = await handler()(
      post(JSON.stringify(view('dan')), { 'content-type': 'text/plain;charset=UTF-8' }),
      context(),
    );
    expect(response.status).toBe(202);
    await until(
      () => hub.delivered.some((e) => (e.body as { userId: string }).userId === 'dan'),
      'the beacon event',
    );
  });

  it.each([
    ['malformed JSON', post('{"type":'), 400, 'invalid_json'],
    [
      'a wrong content type',
      post('{}', { 'content-type': 'application/xml' }),
      415,
      'unsupported_media_type',
    ],
    [
      'an oversized body',
      post('[]', { 'content-type': 'application/json', 'content-length': String(2 * 1024 * 1024) }),
      413,
      'payload_too_large',
    ],
    [
      'an empty userId',
      post(JSON.stringify({ type: 'product_view', userId: '', productId: 'p' })),
      400,
      undefined,
    ],
    ['an unknown event type', post(JSON.stringify({ type: 'teleport', userId: 'u' })), 400, undefined],
    ['a GET', post('', {}, 'GET'), 405, 'method_not_allowed'],
  ])('refuses %s and forwards nothing', async (_what, request, status, code) => {
    const before = hub.delivered.length;
    const response = await handler()(request, context());
    expect(response.status).toBe(status);
    const body = response.jsonBody as { error?: { code: string; field?: string }; results?: unknown[] };
    if (code !== undefined) expect(body.error?.code).toBe(code);
    else expect(body.results).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.delivered.length).toBe(before);
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const preflight = (origin: string) =>
      new HttpRequest({
        method: 'OPTIONS',
        url: 'http://localhost/api/events',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const allowed = await handler()(preflight('https://shop.example'), context());
    expect(allowed.status).toBe(204);
    expect((allowed.headers as Record<string, string>)['access-control-allow-origin']).toBe(
      'https://shop.example',
    );
    const refused = await handler()(preflight('https://evil.example'), context());
    expect(refused.status).toBe(403);
  });

  it('says Vary: Origin whatever the origin, and answers a plain OPTIONS with the methods it takes', async () => {
    const withOrigin = (origin?: string) =>
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost/api/events',
        headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: { string: JSON.stringify(view('vary')) },
      });
    for (const origin of ['https://shop.example', 'https://evil.example', undefined]) {
      const response = await handler()(withOrigin(origin), context());
      expect(response.status).toBe(202);
      expect((response.headers as Record<string, string>).vary).toBe('Origin');
    }
    const options = await handler()(post('', {}, 'OPTIONS'), context());
    expect(options.status).toBe(204);
    expect((options.headers as Record<string, string>).allow).toBe('POST, OPTIONS');
  });

  it('measures the 1 MB limit on the bytes received and refuses a body that is not UTF-8', async () => {
    const small = { maxEventsPerRequest: 500, maxBodyBytes: 64 };
    const bytes = (data: Uint8Array) =>
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost/api/events',
        headers: { 'content-type': 'application/json' },
        body: { bytes: data },
      });
    // 60 bytes of invalid UTF-8 would decode to 180 bytes of replacement characters: 400, not 413.
    const invalid = await handler({ limits: small })(bytes(new Uint8Array(60).fill(0xff)), context());
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.jsonBody)).toContain('not valid UTF-8');
    // A byte-order mark counts against the limit although decoding drops it.
    const event = Buffer.from(JSON.stringify({ type: 'product_view', userId: 'bom', productId: 'p' }));
    const padded = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      event,
      Buffer.alloc(64 - event.length, 0x20),
    ]);
    expect(padded.length).toBe(67);
    const tooLarge = await handler({ limits: small })(bytes(padded), context());
    expect(tooLarge.status).toBe(413);
  });

  it('answers 503 with Retry-After, never 2xx, when Event Hubs cannot be reached, without waiting out the SDK', async () => {
    // The app's own producer, with its retries: it gives up in 2-3 s, well within this test's 20 s limit
    // (below), where the SDK's defaults took about 90 s.
    const unreachable = createEventHubProducer(
      {
        kind: 'connectionString',
        connectionString:
          'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
      },
      'clickstream',
    );
    const warnings: string[] = [];
    const invocation = new InvocationContext({
      functionName: 'ingest',
      logHandler: (level, ...args) => {
        if (level === 'warning') warnings.push(args.join(' '));
      },
    });
    const response = await handler({ publisher: new EventHubsPublisher(unreachable) })(
      post(JSON.stringify([view('eve'), { type: 'nope' }])),
      invocation,
    );
    await unreachable.close();
    expect(response.status).toBe(503);
    expect((response.headers as Record<string, string>)['retry-after']).toBeDefined();
    // The body is the per-event report, as for any other 503: the valid event is named unavailable.
    expect(response.jsonBody).toMatchObject({
      status: 503,
      accepted: 0,
      rejected: 1,
      results: [
        { index: 0, status: 'unavailable', eventId: expect.any(String) as unknown },
        { index: 1, status: 'rejected' },
      ],
    });
    expect(warnings.join('\n')).toMatch(/event hub refused 1 events: .*ECONNREFUSED/);
  }, 20_000);

  it('never answers 5xx and never forwards an invalid event, whatever the body (fuzzed)', async () => {
    const forwarded: unknown[] = [];
    const recording: EventPublisher = {
      publish: async (events) => {
        forwarded.push(...events);
        return events.map(() => true);
      },
    };
    const fuzzHandler = handler({ publisher: recording });
    const eventLike = fc.record(
      {
        type: fc.oneof(fc.constantFrom('product_view', 'purchase', 'offer_click', 'nope'), fc.string()),
        userId: fc.oneof(fc.string({ maxLength: 140 }), fc.integer(), fc.constant('')),
        productId: fc.oneof(fc.string({ maxLength: 10 }), fc.constant(null)),
        offerId: fc.string({ maxLength: 5 }),
        decisionId: fc.string({ maxLength: 5 }),
        price: fc.oneof(fc.double(), fc.string()),
        timestamp: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.string(),
        ),
      },
      { requiredKeys: [] },
    );
    const bodies = fc.oneof(
      fc.string(),
      fc.json(),
      eventLike.map((e) => JSON.stringify(e)),
      fc.array(eventLike, { maxLength: 20 }).map((e) => JSON.stringify(e)),
    );
    await fc.assert(
      fc.asyncProperty(
        bodies,
        fc.constantFrom('application/json', 'text/plain', 'text/html'),
        async (body, type) => {
          const response = await fuzzHandler(post(body, { 'content-type': type }), context());
          expect(response.status).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
    for (const event of forwarded) expect(clickstreamEventSchema.safeParse(event).success).toBe(true);
  });
});
