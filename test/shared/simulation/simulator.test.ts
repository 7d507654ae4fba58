import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientEvent, clientEventSchema } from '../../../shared/events/clickstreamEvent';
import { runSimulation, SimulationOptions } from '../../../shared/simulation/simulator';
import { generateWorld, plantedPreferences } from '../../../shared/simulation/world';
import { sendJson, startTestServer, TestServer } from './testServer';

const never = new AbortController().signal;

function readJsonLines(text: string): ClientEvent[] {
  return text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ClientEvent);
}

describe('runSimulation offline', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simulate-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function offline(name: string, options: Partial<SimulationOptions> = {}) {
    const out = join(dir, `${name}.jsonl`);
    const summary = await runSimulation(
      { seed: 7, users: 60, products: 48, maxEvents: 3000, outFile: out, ...options },
      never,
    );
    return { summary, text: await readFile(out, 'utf8') };
  }

  it('writes exactly maxEvents events that all pass the client event contract', async () => {
    const { summary, text } = await offline('a');
    const events = readJsonLines(text);
    expect(summary.events).toBe(3000);
    expect(summary.stoppedBy).toBe('events');
    expect(events).toHaveLength(3000);
    for (const event of events) {
      const parsed = clientEventSchema.safeParse(event);
      if (!parsed.success) throw new Error(`${JSON.stringify(event)}: ${parsed.error.message}`);
      expect(parsed.data).toEqual(event);
    }
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    const counted = Object.values(summary.eventsByType).reduce((a, b) => a + b, 0);
    expect(counted).toBe(3000);
  });

  it('follows the funnel within each session: one user, time moving forward, no purchase without a cart', async () => {
    const events = readJsonLines((await offline('funnel')).text);
    const sessions = new Map<string, ClientEvent[]>();
    for (const event of events)
      sessions.set(event.sessionId!, [...(sessions.get(event.sessionId!) ?? []), event]);
    for (const session of sessions.values()) {
      expect(new Set(session.map((e) => e.userId)).size).toBe(1);
      for (let i = 1; i < session.length; i++) {
        expect(Date.parse(session[i]!.timestamp!)).toBeGreaterThanOrEqual(
          Date.parse(session[i - 1]!.timestamp!),
        );
      }
      const carted = new Set<string>();
      for (const event of session) {
        if (event.type === 'add_to_cart') carted.add(event.productId);
        if (event.type === 'purchase') expect(carted.has(event.productId)).toBe(true);
      }
    }
    expect(events.some((e) => e.type === 'purchase')).toBe(true);
  });

  it('is deterministic for a seed and start time, and differs for another seed', async () => {
    const first = await offline('first');
    const second = await offline('second');
    const other = await offline('other', { seed: 8 });
    expect(second.text).toBe(first.text);
    expect(other.text).not.toBe(first.text);
    expect(first.summary.runId).toBe(second.summary.runId);
    const shifted = await offline('shifted', { startTime: '2026-05-01T00:00:00Z' });
    expect(readJsonLines(shifted.text)[0]!.timestamp!.startsWith('2026-05-01')).toBe(true);
  });

  it('plants preferences that the stream reveals: most-clicked categories are the favourites', async () => {
    const world = generateWorld(21, { users: 100, products: 120, categories: 12 });
    const out = join(dir, 'recovery.jsonl');
    await runSimulation(
      { seed: 21, users: 100, products: 120, categories: 12, maxEvents: 25_000, outFile: out },
      never,
    );
    const clicks = new Map<string, Map<string, number>>();
    for (const event of readJsonLines(await readFile(out, 'utf8'))) {
      if (event.type !== 'product_click' && event.type !== 'add_to_cart' && event.type !== 'purchase')
        continue;
      const perCategory = clicks.get(event.userId) ?? new Map<string, number>();
      perCategory.set(event.category!, (perCategory.get(event.category!) ?? 0) + 1);
      clicks.set(event.userId, perCategory);
    }
    let users = 0;
    let hits = 0;
    let chance = 0;
    for (const user of world.users) {
      const perCategory = clicks.get(user.userId);
      const total = [...(perCategory?.values() ?? [])].reduce((a, b) => a + b, 0);
      if (!perCategory || total < 10) continue;
      const top = [...perCategory.entries()].sort((a, b) => b[1] - a[1])[0]![0];
      users++;
      if (user.favouriteCategories.includes(top)) hits++;
      chance += user.favouriteCategories.length / world.categories.length;
    }
    expect(users).toBeGreaterThan(50);
    // Chance would be about 17%; planted preferences show in most active users (85% with this seed).
    expect(hits / users).toBeGreaterThan(0.75);
    expect(hits / users).toBeGreaterThan(3 * (chance / users));
  });

  it('writes interactions with funnel weights and the planted truth', async () => {
    const interactions = join(dir, 'interactions.csv');
    const truth = join(dir, 'truth.json');
    const { text, summary } = await offline('weights', { interactionsFile: interactions, truthFile: truth });
    const rows = (await readFile(interactions, 'utf8')).trim().split('\n');
    expect(rows[0]).toBe('userId,itemId,weight,timestamp');
    const events = readJsonLines(text);
    expect(rows.slice(1)).toEqual(
      events.map((e) => {
        const weight = { product_view: 1, product_click: 2, add_to_cart: 4, purchase: 8 }[
          e.type as 'purchase'
        ];
        return `${e.userId},${e.productId},${weight},${e.timestamp}`;
      }),
    );
    const written = JSON.parse(await readFile(truth, 'utf8')) as { seed: number; users: unknown[] };
    expect(written.seed).toBe(7);
    expect(written.users).toEqual(plantedPreferences(generateWorld(7, { users: 60, products: 48 })));
    expect(summary.files).toEqual({ out: join(dir, 'weights.jsonl'), interactions, truth });
  });

  it('leaves no file behind when a run fails part way', async () => {
    const interactions = join(dir, 'interactions.csv');
    // A folder cannot be made where a file is (missing folders themselves are created).
    await writeFile(join(dir, 'a-file'), '');
    const out = join(dir, 'a-file', 'events.jsonl');
    await expect(
      runSimulation(
        { seed: 1, users: 10, products: 10, maxEvents: 50_000, outFile: out, interactionsFile: interactions },
        never,
      ),
    ).rejects.toThrow(/ENOTDIR/);
    expect(await readdir(dir)).toEqual(['a-file']);
  });

  it('rejects options that cannot work, naming them', async () => {
    const bad = (options: SimulationOptions) => runSimulation(options, never);
    await expect(bad({ outFile: join(dir, 'x') })).rejects.toThrow(/maxEvents/);
    await expect(bad({ maxEvents: 10 })).rejects.toThrow(/nothing to do/);
    await expect(bad({ maxEvents: 10, outFile: join(dir, 'x'), offers: true })).rejects.toThrow(
      /offers needs baseUrl/,
    );
    await expect(bad({ baseUrl: 'ftp://x', maxEvents: 1 })).rejects.toThrow(/baseUrl/);
    await expect(bad({ baseUrl: 'http://x', eventsPerSecond: 0 })).rejects.toThrow(/eventsPerSecond/);
    await expect(bad({ baseUrl: 'http://x', users: 0 })).rejects.toThrow(/users/);
    await expect(bad({ baseUrl: 'http://x', batchSize: 101 })).rejects.toThrow(/batchSize/);
    await expect(
      bad({ maxEvents: 1, users: 100_000, products: 2000, truthFile: join(dir, 'truth.json') }),
    ).rejects.toThrow(/truthFile/);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('runSimulation against a server', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('posts every event, asks for offers and reacts to them by planted affinity', async () => {
    const seed = 5;
    const world = generateWorld(seed, { users: 40, products: 60 });
    const usersById = new Map(world.users.map((u) => [u.userId, u]));
    const decisions = new Map<string, { userId: string; favourite: boolean }>();
    const posted: ClientEvent[] = [];
    server = await startTestServer((request, response) => {
      if (request.path === '/api/events') {
        const batch = JSON.parse(request.body) as ClientEvent[];
        posted.push(...batch);
        return sendJson(response, 202, { accepted: batch.length });
      }
      // Alternate offers for one of the user's favourite categories and for a category they do not favour.
      const userId = request.query.get('userId')!;
      const user = usersById.get(userId)!;
      const favourite = decisions.size % 2 === 0;
      const category = favourite
        ? user.favouriteCategories[0]!
        : world.categories.find((c) => !user.favouriteCategories.includes(c))!;
      const decisionId = `d${decisions.size}`;
      decisions.set(decisionId, { userId, favourite });
      sendJson(response, 200, {
        decisionId,
        userId,
        source: favourite ? 'model' : 'cold-start',
        offer: {
          offerId: `offer-${category}`,
          title: category,
          productIds: [],
          categories: [category],
          score: 1,
        },
        score: 1,
        propensity: 1,
        runnersUp: [],
      });
    });

    const before = Date.now();
    const summary = await runSimulation(
      {
        seed,
        users: 40,
        products: 60,
        baseUrl: server.baseUrl,
        eventsPerSecond: 20_000,
        maxEvents: 3000,
        offers: true,
        concurrency: 4,
      },
      never,
    );
    const after = Date.now();

    expect(summary.events).toBe(3000);
    expect(summary.posting).toMatchObject({ accepted: 3000, rejected: 0, failed: 0 });
    expect(posted).toHaveLength(3000);
    expect(server.maxInFlight()).toBeLessThanOrEqual(4);
    for (const event of posted) {
      expect(clientEventSchema.safeParse(event).success).toBe(true);
      // Posted events carry the time they happened, as the ingest endpoint expects.
      expect(Date.parse(event.timestamp!)).toBeGreaterThanOrEqual(before);
      expect(Date.parse(event.timestamp!)).toBeLessThanOrEqual(after);
    }

    const shown = { favourite: 0, other: 0 };
    const clicked = { favourite: 0, other: 0 };
    for (const event of posted.filter((e) => e.type.startsWith('offer_'))) {
      const decision = decisions.get(event.decisionId!);
      expect(decision?.userId).toBe(event.userId);
      const kind = decision!.favourite ? 'favourite' : 'other';
      if (event.type === 'offer_impression') shown[kind]++;
      if (event.type === 'offer_click') clicked[kind]++;
    }
    expect(summary.offers).toMatchObject({ failed: 0, withOffer: decisions.size });
    expect(summary.offers!.bySource).toEqual({
      model: Math.ceil(decisions.size / 2),
      'cold-start': Math.floor(decisions.size / 2),
    });
    expect(shown.favourite).toBeGreaterThan(100);
    expect(shown.other).toBeGreaterThan(100);
    // Offers for favourite categories are clicked far more often than others.
    expect(clicked.favourite / shown.favourite).toBeGreaterThan(3 * (clicked.other / shown.other));
    // A click leads to a product view attributed to the offer.
    expect(posted.some((e) => e.type === 'product_view' && e.decisionId !== undefined)).toBe(true);
  });

  it('stops every session when a file cannot be written, and leaves no file', async () => {
    let posted = 0;
    server = await startTestServer((request, response) => {
      if (request.path === '/api/offer')
        return sendJson(response, 200, { decisionId: 'd', source: 'fallback', offer: null });
      posted += (JSON.parse(request.body) as unknown[]).length;
      sendJson(response, 202, { accepted: (JSON.parse(request.body) as unknown[]).length });
    });
    const dir = await mkdtemp(join(tmpdir(), 'simulate-fail-'));
    try {
      await writeFile(join(dir, 'a-file'), '');
      const out = join(dir, 'a-file', 'events.jsonl');
      const interactions = join(dir, 'interactions.csv');
      await expect(
        runSimulation(
          {
            baseUrl: server.baseUrl,
            eventsPerSecond: 50_000,
            maxEvents: 1_000_000,
            offers: true,
            outFile: out,
            interactionsFile: interactions,
          },
          never,
        ),
      ).rejects.toThrow(/ENOTDIR/);
      expect(await readdir(dir)).toEqual(['a-file']);
      expect(posted).toBeLessThan(1_000_000);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops when its signal aborts and reports it', async () => {
    server = await startTestServer((request, response) =>
      sendJson(response, 202, { accepted: (JSON.parse(request.body) as unknown[]).length }),
    );
    const controller = new AbortController();
    const summary = await runSimulation(
      {
        baseUrl: server.baseUrl,
        eventsPerSecond: 200,
        onProgress: (progress) => {
          if (progress.events > 0) controller.abort();
        },
        progressIntervalMs: 20,
      },
      controller.signal,
    );
    expect(summary.stoppedBy).toBe('signal');
    expect(summary.events).toBeGreaterThan(0);
    expect(summary.posting!.accepted + summary.posting!.failed).toBe(summary.events);
  });

  it('stops after its duration', async () => {
    server = await startTestServer((request, response) =>
      sendJson(response, 202, { accepted: (JSON.parse(request.body) as unknown[]).length }),
    );
    const summary = await runSimulation(
      { baseUrl: server.baseUrl, eventsPerSecond: 500, durationSeconds: 0.3 },
      never,
    );
    expect(summary.stoppedBy).toBe('duration');
    expect(summary.posting!.accepted).toBe(summary.events);
  });
});
