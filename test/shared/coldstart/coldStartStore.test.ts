import Redis from 'ioredis';
import { startLocalStack } from '../../../local/stack';
import { ColdStartScores, RedisColdStartStore } from '../../../shared/coldstart/coldStartStore';
import { connectRedisClient } from '../../../shared/runtime/clients';

/** The cold-start lists in a real redis-server. */

let stack: Awaited<ReturnType<typeof startLocalStack>>;
let redis: Redis;
let prefixIndex = 0;

beforeAll(async () => {
  stack = await startLocalStack({
    env: {
      PATH: process.env.PATH,
      REDIS_SERVER_BIN: process.env.REDIS_SERVER_BIN,
      ArchiveStorage: 'not-used',
      AzureWebJobsStorage: 'not-used',
      CosmosDBConnection: 'not-used',
      EventHubConnection: 'not-used',
    },
  });
  redis = await connectRedisClient(stack.settings.RedisConnection!);
});

afterAll(async () => {
  redis.disconnect();
  await stack.stop();
});

function scores(tag: string, contexts = ['category:shoes', 'hour:9']): ColdStartScores {
  const list = (n: number) => Array.from({ length: n }, (_, i) => ({ itemId: `${tag}-${i}`, score: n - i }));
  return { global: list(5), byContext: Object.fromEntries(contexts.map((c) => [c, list(3)])) };
}

async function keys(prefix: string): Promise<string[]> {
  return (await redis.keys(`${prefix}*`)).sort();
}

describe('RedisColdStartStore', () => {
  it('records the version it loaded with the lists, and clears it on a load without one', async () => {
    const prefix = `t${++prefixIndex}:`;
    const store = new RedisColdStartStore(redis, prefix);
    expect(await store.loadedVersion()).toBeUndefined();
    await store.replace(scores('a'), 'v1');
    expect(await store.loadedVersion()).toBe('v1');
    expect([...(await store.topProducts(['category:shoes'], 2)).keys()]).toEqual(['a-0', 'a-1']);
    // A load of lists whose model is not named (an older `coldstart load`): no version is claimed.
    await store.replace(scores('b'));
    expect(await store.loadedVersion()).toBeUndefined();
    expect([...(await store.topProducts([], 1)).keys()]).toEqual(['b-0']);
  });

  it('leaves the lists and nothing else: no build keys, no expiry on the lists, old contexts gone', async () => {
    const prefix = `t${++prefixIndex}:`;
    const store = new RedisColdStartStore(redis, prefix);
    await store.replace(scores('a', ['category:shoes', 'category:hats']), 'v1');
    await store.replace(scores('b', ['category:shoes']), 'v2');
    expect(await keys(prefix)).toEqual([
      `${prefix}coldstart:@loaded`,
      `${prefix}coldstart:category:shoes`,
      `${prefix}coldstart:global`,
    ]);
    expect(await redis.ttl(`${prefix}coldstart:global`)).toBe(-1);
    expect(await redis.ttl(`${prefix}coldstart:category:shoes`)).toBe(-1);
  });

  it('does not claim a version whose lists are no longer all there (evicted, or Redis restarted)', async () => {
    const prefix = `t${++prefixIndex}:`;
    const store = new RedisColdStartStore(redis, prefix);
    await store.replace(scores('a'), 'v1');
    expect(await store.loadedVersion()).toBe('v1');
    await redis.del(`${prefix}coldstart:hour:9`); // as an allkeys-lru eviction would
    expect(await store.loadedVersion()).toBeUndefined();
    await store.replace(scores('a'), 'v1');
    expect(await store.loadedVersion()).toBe('v1');
    await redis.set(`${prefix}coldstart:@loaded`, 'v1'); // not a record this code writes
    expect(await store.loadedVersion()).toBeUndefined();
  });

  it('ends with the lists of the version it records when several loads run at once', async () => {
    const prefix = `t${++prefixIndex}:`;
    const store = new RedisColdStartStore(redis, prefix);
    await store.replace(scores('old'), 'v0');
    // Five writers over one connection each, interleaving their scans, builds and swaps.
    const writers = await Promise.all(
      [1, 2, 3, 4, 5].map(() => connectRedisClient(stack.settings.RedisConnection!)),
    );
    try {
      await Promise.all(
        writers.map((client, i) =>
          new RedisColdStartStore(client, prefix).replace(scores(`v${i + 1}`), `v${i + 1}`),
        ),
      );
    } finally {
      for (const client of writers) client.disconnect();
    }
    const version = await store.loadedVersion();
    expect(version).toMatch(/^v[1-5]$/);
    for (const contexts of [[], ['category:shoes'], ['hour:9']]) {
      const top = [...(await store.topProducts(contexts, 10)).keys()];
      expect(top.length).toBeGreaterThan(0);
      expect(top.every((item) => item.startsWith(`${version}-`))).toBe(true);
    }
    expect((await keys(prefix)).filter((key) => key.includes('~'))).toEqual([]);
  });
});
