import Redis from 'ioredis';
import { AddressInfo, connect, createServer } from 'node:net';
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
  it('records the version it loaded with the lists, and none after a load without one', async () => {
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
    // …and the next replace still swaps cleanly, replacing what the SCAN finds.
    await store.replace(scores('b', ['hour:3']), 'v2');
    expect(await keys(prefix)).toEqual([
      `${prefix}coldstart:@loaded`,
      `${prefix}coldstart:global`,
      `${prefix}coldstart:hour:3`,
    ]);
  });

  it('does not claim a version while a list it did not load is there (written by something else)', async () => {
    const prefix = `t${++prefixIndex}:`;
    const store = new RedisColdStartStore(redis, prefix);
    await store.replace(scores('a'), 'v1');
    await redis.zadd(`${prefix}coldstart:category:stray`, 1, 'x');
    expect(await store.loadedVersion()).toBeUndefined();
    await store.replace(scores('a'), 'v1');
    expect(await store.loadedVersion()).toBe('v1');
    expect(await redis.exists(`${prefix}coldstart:category:stray`)).toBe(0);
  });

  it('leaves the lists of one load, whole, when two loads of other contexts run at once', async () => {
    const prefix = `t${++prefixIndex}:`;
    const store = new RedisColdStartStore(redis, prefix);
    await store.replace(scores('old', []), 'v0');
    // Both SCAN before either swaps (one connection, commands in order): each found only v0's lists.
    await Promise.all([
      store.replace(scores('b', ['category:x']), 'vB'),
      store.replace(scores('a', ['hour:1']), 'vA'),
    ]);
    const version = await store.loadedVersion();
    expect(version).toBe('vA'); // the last swap
    expect(await keys(prefix)).toEqual([
      `${prefix}coldstart:@loaded`,
      `${prefix}coldstart:global`,
      `${prefix}coldstart:hour:1`,
    ]);
    // A user on a category page is served vA's global list, not vB's leftover category list.
    expect([...(await store.topProducts(['category:x'], 1)).keys()]).toEqual(['a-0']);
  });

  it('ends with the lists of the version it records, and only those, when several loads run at once', async () => {
    const prefix = `t${++prefixIndex}:`;
    const store = new RedisColdStartStore(redis, prefix);
    await store.replace(scores('old'), 'v0');
    // Five writers over one connection each, interleaving their scans, builds and swaps; each has a
    // context of its own, so a list left over from another would show.
    const writers = await Promise.all(
      [1, 2, 3, 4, 5].map(() => connectRedisClient(stack.settings.RedisConnection!)),
    );
    try {
      await Promise.all(
        writers.map((client, i) =>
          new RedisColdStartStore(client, prefix).replace(
            scores(`v${i + 1}`, ['category:shoes', `category:only-v${i + 1}`]),
            `v${i + 1}`,
          ),
        ),
      );
    } finally {
      for (const client of writers) client.disconnect();
    }
    const version = await store.loadedVersion();
    expect(version).toMatch(/^v[1-5]$/);
    expect(await keys(prefix)).toEqual([
      `${prefix}coldstart:@loaded`,
      `${prefix}coldstart:category:only-${version}`,
      `${prefix}coldstart:category:shoes`,
      `${prefix}coldstart:global`,
    ]);
    for (const contexts of [[], ['category:shoes'], [`category:only-${version}`]]) {
      const top = [...(await store.topProducts(contexts, 10)).keys()];
      expect(top.length).toBeGreaterThan(0);
      expect(top.every((item) => item.startsWith(`${version}-`))).toBe(true);
    }
  });

  it('swaps nothing in when a build expired before the swap, and says so', async () => {
    const prefix = `t${++prefixIndex}:`;
    const store = new RedisColdStartStore(redis, prefix);
    await store.replace(scores('a'), 'v1');
    // Between this writer and redis-server, a relay that holds the swap (EVAL) until the builds are gone,
    // as if the writer had stalled past their expiry.
    const target = new URL(stack.settings.RedisConnection!);
    const relay = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      let chain = Promise.resolve();
      client.on('data', (chunk: Buffer) => {
        chain = chain.then(async () => {
          if (/\r\neval\r\n/i.test(chunk.toString('latin1'))) {
            const builds = await redis.keys(`${prefix}coldstart~*`);
            if (builds.length > 0) await redis.del(...builds);
          }
          upstream.write(chunk);
        });
      });
      upstream.pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const stalled = await connectRedisClient(`redis://127.0.0.1:${(relay.address() as AddressInfo).port}`);
    try {
      await expect(new RedisColdStartStore(stalled, prefix).replace(scores('b'), 'v2')).rejects.toThrow(
        /expired before the swap/,
      );
    } finally {
      stalled.disconnect();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    }
    expect(await store.loadedVersion()).toBe('v1');
    expect([...(await store.topProducts(['category:shoes'], 1)).keys()]).toEqual(['a-0']);
  });
});
