import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { command as coldstart } from '../../../cli/commands/coldstart';
import { command as deadletter } from '../../../cli/commands/deadletter';
import { command as offers } from '../../../cli/commands/offers';
import { loadOfferCatalog } from '../../../shared/offers/cosmosOfferData';
import { RedisColdStartStore } from '../../../shared/coldstart/coldStartStore';
import {
  blobServiceFor,
  cosmosClientFor,
  redisClientFor,
  startTestStack,
  TestStack,
} from '../../support/localStack';
import { temporaryDirectory } from '../../support/temporaryDirectory';

/** `offers load`, `coldstart load` and `deadletter list|replay` against the embedded services. */

jest.spyOn(console, 'warn').mockImplementation(() => undefined);

let stack: TestStack;
let out = '';
let err = '';
const dir = temporaryDirectory('nextoffer-cli-');

beforeAll(async () => {
  stack = await startTestStack({ extra: { COSMOS_DATABASE: 'cli-test' } });
  Object.assign(process.env, stack.settings);
  jest
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((out += chunk.toString()), true));
  jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: string | Uint8Array) => ((err += chunk.toString()), true));
});

afterAll(async () => {
  jest.restoreAllMocks();
  await stack.stop();
});

beforeEach(() => {
  out = '';
  err = '';
});

describe('offers load', () => {
  it('loads a valid catalog and replaces the previous one', async () => {
    const file = join(dir, 'offers.json');
    writeFileSync(
      file,
      JSON.stringify([
        { offerId: 'a', title: 'A', productIds: ['p1'] },
        { offerId: 'b', title: 'B', categories: ['c'] },
      ]),
    );
    expect(await offers.run(['load', '--file', file])).toBe(0);
    writeFileSync(file, JSON.stringify([{ offerId: 'b', title: 'B2', categories: ['c'] }]));
    expect(await offers.run(['load', '--file', file])).toBe(0);
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ upserted: 1, deleted: 1 });
    const cosmos = cosmosClientFor(stack.settings);
    const catalog = await loadOfferCatalog(cosmos.database('cli-test'));
    cosmos.dispose();
    expect(catalog.map((o) => [o.offerId, o.title])).toEqual([['b', 'B2']]);
  });

  it('refuses an invalid catalog whole, naming offer and field, and writes nothing', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify([
        { offerId: 'ok', title: 'fine', productIds: ['p'] },
        { offerId: 'x', title: '', productIds: ['p'] },
      ]),
    );
    expect(await offers.run(['load', '--file', file])).toBe(1);
    expect(err).toContain('offer x: title: must not be empty');
    const cosmos = cosmosClientFor(stack.settings);
    const catalog = await loadOfferCatalog(cosmos.database('cli-test'));
    cosmos.dispose();
    expect(catalog.map((o) => o.offerId)).toEqual(['b']);
  });
});

describe('coldstart load', () => {
  /** A real bundle, trained on a small planted world, written to a fresh directory. */
  async function writtenBundle(): Promise<string> {
    const { generateSyntheticInteractions } = await import('../../../models/affinity/synthetic');
    const { trainAffinityModel, writeBundle } = await import('../../../models/affinity/train');
    const interactions = generateSyntheticInteractions({ users: 60, items: 30, interactions: 1200, seed: 3 });
    const bundle = mkdtempSync(join(dir, 'bundle-'));
    await writeBundle(bundle, await trainAffinityModel(interactions, { evaluate: false, lambda: 10 }));
    return bundle;
  }

  it("loads a verified bundle's cold-start lists into Redis", async () => {
    const bundle = await writtenBundle();
    const coldStart = JSON.parse(readFileSync(join(bundle, 'coldStart.json'), 'utf8')) as {
      global: Array<{ itemId: string; score: number }>;
    };
    expect(await coldstart.run(['load', '--model', bundle])).toBe(0);
    const redis = redisClientFor(stack.settings);
    const store = new RedisColdStartStore(redis, 'nextoffer:');
    // The same items with the same scores (Redis orders ties its own way).
    const loaded = await store.topProducts([], 1000);
    expect(new Map(loaded)).toEqual(new Map(coldStart.global.map((item) => [item.itemId, item.score])));
    redis.disconnect();
  });

  it('refuses a bundle whose coldStart.json does not match its digest, and an empty directory', async () => {
    const bundle = await writtenBundle();
    writeFileSync(
      join(bundle, 'coldStart.json'),
      JSON.stringify({ global: [{ itemId: 'not-in-model', score: 1 }], byContext: {} }),
    );
    err = '';
    expect(await coldstart.run(['load', '--model', bundle])).toBe(1);
    expect(err).toContain('coldStart.json does not match its digest');
    const redis = redisClientFor(stack.settings);
    expect([
      ...(await new RedisColdStartStore(redis, 'nextoffer:').topProducts([], 10)).keys(),
    ]).not.toContain('not-in-model');
    redis.disconnect();
    err = '';
    expect(await coldstart.run(['load', '--model', mkdtempSync(join(dir, 'empty-'))])).toBe(1);
    expect(err).toContain('holds no manifest.json');
  });
});

describe('deadletter', () => {
  it('lists dead letters and replays the ones that now pass', async () => {
    const blob = blobServiceFor(stack.settings);
    const container = blob.getContainerClient('clickstream-deadletter');
    await container.createIfNotExists();
    await blob.getContainerClient('clickstream-archive').createIfNotExists();
    const at = new Date().toISOString();
    const valid = {
      type: 'product_view',
      userId: 'u1',
      productId: 'p1',
      eventId: 'e1',
      receivedAt: at,
      timestamp: at,
      schemaVersion: 1,
    };
    const record = (body: unknown, sequenceNumber: number) =>
      JSON.stringify({
        eventHubName: 'clickstream',
        partitionId: '0',
        sequenceNumber,
        position: sequenceNumber * 1000,
        enqueuedTime: at,
        reason: 'aggregation failed: 503',
        body,
      });
    await container
      .getBlockBlobClient('clickstream/0/a.json')
      .upload(record(valid, 5), record(valid, 5).length);
    await container
      .getBlockBlobClient('clickstream/0/b.json')
      .upload(record({ type: 'nope' }, 6), record({ type: 'nope' }, 6).length);
    expect(await deadletter.run(['list'])).toBe(0);
    expect(out.trim().split('\n')).toHaveLength(2);
    out = '';
    expect(await deadletter.run(['replay'])).toBe(0);
    expect(JSON.parse(out)).toEqual({ replayed: 1, stillInvalid: 1, failed: 0 });
    const cosmos = cosmosClientFor(stack.settings);
    const { resource } = await cosmos
      .database('cli-test')
      .container('product-stats')
      .item('p1', 'p1')
      .read<{ views: number }>();
    cosmos.dispose();
    expect(resource?.views).toBe(1);
  });
});
