import { BlobServiceClient } from '@azure/storage-blob';
import Redis from 'ioredis';
import { AddressInfo, connect, createServer, Socket } from 'node:net';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { AffinityBundle, trainAffinityModel } from '../../../models/affinity/train';
import { verifyBundle } from '../../../shared/affinity/bundle';
import { BlobAffinityBundleStore } from '../../../shared/affinity/bundleStore';
import { ColdStartScores, RedisColdStartStore } from '../../../shared/coldstart/coldStartStore';
import {
  ColdStartSync,
  isTransientRedisError,
  loadBundleColdStart,
  syncColdStartToLatest,
} from '../../../shared/coldstart/coldStartSync';
import { connectRedisClient, createRedisClient } from '../../../shared/runtime/clients';
import { startFaultProxy } from '../../support/faultProxy';
import { startBlobAndRedis } from '../affinity/blobStack';

/** Keeping Redis's cold-start lists those of the model `latest` names, against Azurite and redis-server. */

let stack: Awaited<ReturnType<typeof startBlobAndRedis>>;
let redis: Redis;
let v1: AffinityBundle;
let v2: AffinityBundle;
let index = 0;
const fastRetry = { baseDelayMs: 5, maxDelayMs: 20 };
const interactions = generateSyntheticInteractions({ users: 60, items: 40, interactions: 1200, seed: 8 });

beforeAll(async () => {
  stack = await startBlobAndRedis();
  redis = await connectRedisClient(stack.redisUrl);
  v1 = await trainAffinityModel(interactions, { lambda: 10, evaluate: false, version: 'v1' });
  v2 = await trainAffinityModel(interactions.slice(0, 900), { lambda: 10, evaluate: false, version: 'v2' });
});

afterAll(async () => {
  redis.disconnect();
  await stack.stop();
});

function coldStartOf(bundle: AffinityBundle): ColdStartScores {
  return JSON.parse(Buffer.from(bundle.files['coldStart.json']).toString('utf8')) as ColdStartScores;
}

/** A models container and a key prefix of the test's own. */
function fresh(): { bundles: BlobAffinityBundleStore; coldStart: RedisColdStartStore; prefix: string } {
  index += 1;
  const prefix = `sync${index}:`;
  return {
    bundles: new BlobAffinityBundleStore(stack.blob.getContainerClient(`models-${index}`)),
    coldStart: new RedisColdStartStore(redis, prefix),
    prefix,
  };
}

async function globalList(store: RedisColdStartStore): Promise<Map<string, number>> {
  return store.topProducts([], 10_000);
}

describe('syncColdStartToLatest', () => {
  it("loads the latest model's lists and records its version; a rerun writes nothing", async () => {
    const { bundles, coldStart, prefix } = fresh();
    await bundles.publish(v1.files, { force: true });
    expect(await syncColdStartToLatest(bundles, coldStart)).toMatchObject({
      status: 'loaded',
      version: 'v1',
    });
    expect(await coldStart.loadedVersion()).toBe('v1');
    expect(await globalList(coldStart)).toEqual(
      new Map(coldStartOf(v1).global.map((item) => [item.itemId, item.score])),
    );
    // A marker item added behind its back survives the rerun: the rerun did not write.
    await redis.zadd(`${prefix}coldstart:global`, 0, 'untouched');
    expect(await syncColdStartToLatest(bundles, coldStart)).toEqual({ status: 'current', version: 'v1' });
    expect((await globalList(coldStart)).has('untouched')).toBe(true);
  });

  it('follows the pointer to a new version, from the files in hand when they are that version', async () => {
    const { bundles, coldStart } = fresh();
    await bundles.publish(v1.files, { force: true });
    await syncColdStartToLatest(bundles, coldStart);
    await bundles.publish(v2.files, { force: true });
    const sync = await syncColdStartToLatest(bundles, coldStart, { candidate: verifyBundle(v2.files) });
    expect(sync).toMatchObject({
      status: 'loaded',
      version: 'v2',
      globalItems: coldStartOf(v2).global.length,
    });
    expect(await coldStart.loadedVersion()).toBe('v2');
    // Files in hand of another version than latest's (a candidate that was not promoted) are not used.
    await bundles.publish(v1.files, { force: true });
    expect(
      await syncColdStartToLatest(bundles, coldStart, { candidate: verifyBundle(v2.files) }),
    ).toMatchObject({
      status: 'loaded',
      version: 'v1',
    });
  });

  it('follows the pointer when another run moves it, and loads its lists, while this run loads the older version', async () => {
    const { bundles, coldStart } = fresh();
    await bundles.publish(v1.files, { force: true });
    // This run reads the pointer (v1) and downloads v1 through a proxy; as the download starts, another
    // run publishes v2 and loads v2's lists. This run's write of v1 comes after.
    let other: ColdStartSync | undefined;
    const blobUrl = new URL(stack.blob.url);
    const proxy = await startFaultProxy(blobUrl.origin, async (request) => {
      if (other === undefined && request.method === 'GET' && (request.url ?? '').includes('/affinity/v1/')) {
        await bundles.publish(v2.files, { force: true });
        other = await syncColdStartToLatest(bundles, coldStart);
      }
      return undefined;
    });
    try {
      const via = BlobServiceClient.fromConnectionString(
        stack.connectionString.replace(
          /BlobEndpoint=[^;]+/,
          `BlobEndpoint=${proxy.url}${blobUrl.pathname.replace(/\/$/, '')}`,
        ),
      );
      const slow = new BlobAffinityBundleStore(via.getContainerClient(`models-${index}`));
      const messages: string[] = [];
      const sync = await syncColdStartToLatest(slow, coldStart, { onRetry: (m) => messages.push(m) });
      expect(other).toMatchObject({ status: 'loaded', version: 'v2' });
      // It wrote v1's lists, found the pointer on v2, and loaded v2's again.
      expect(messages).toEqual([expect.stringContaining('moved from v1 to v2')]);
      expect(sync).toMatchObject({ status: 'loaded', version: 'v2' });
    } finally {
      await proxy.stop();
    }
    expect(await coldStart.loadedVersion()).toBe('v2');
    expect(await globalList(coldStart)).toEqual(
      new Map(coldStartOf(v2).global.map((item) => [item.itemId, item.score])),
    );
  });

  it('reloads after a load that named no version (an older coldstart load), and leaves Redis alone without a model', async () => {
    const { bundles, coldStart } = fresh();
    await coldStart.replace(coldStartOf(v2));
    expect(await syncColdStartToLatest(bundles, coldStart)).toEqual({ status: 'no-model' });
    expect((await globalList(coldStart)).size).toBe(coldStartOf(v2).global.length);
    await bundles.publish(v1.files, { force: true });
    expect(await syncColdStartToLatest(bundles, coldStart)).toMatchObject({
      status: 'loaded',
      version: 'v1',
    });
  });

  it('retries while the Redis client is still connecting, as at the start of a process', async () => {
    const { bundles, prefix } = fresh();
    await bundles.publish(v1.files, { force: true });
    // A gate in front of redis-server that accepts the client's connection but lets nothing through until
    // the first retry: the client stays not ready (its ready check unanswered), whatever the machine's speed.
    const target = new URL(stack.redisUrl);
    const held: Socket[] = [];
    let open = false;
    const release = () => {
      open = true;
      for (const socket of held.splice(0)) {
        const upstream = connect(Number(target.port), target.hostname);
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      }
    };
    const gate = createServer((socket) => {
      held.push(socket);
      if (open) release();
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    const connecting = createRedisClient(`redis://127.0.0.1:${(gate.address() as AddressInfo).port}`);
    connecting.on('error', () => undefined);
    const retries: string[] = [];
    try {
      const sync = await syncColdStartToLatest(bundles, new RedisColdStartStore(connecting, prefix), {
        retry: fastRetry,
        onRetry: (message) => {
          retries.push(message);
          release();
        },
      });
      expect(sync).toMatchObject({ status: 'loaded', version: 'v1' });
      expect(retries[0]).toMatch(/Redis call failed \(Stream isn't writeable/);
    } finally {
      connecting.disconnect();
      await new Promise<void>((resolve) => gate.close(() => resolve()));
    }
  });

  it('reports, never throws, when Redis stays unreachable or the bundle is corrupt', async () => {
    const { bundles, coldStart, prefix } = fresh();
    await bundles.publish(v1.files, { force: true });
    const down = createRedisClient('redis://127.0.0.1:1');
    down.on('error', () => undefined);
    try {
      const sync = await syncColdStartToLatest(bundles, new RedisColdStartStore(down, prefix), {
        retry: fastRetry,
      });
      expect(sync).toMatchObject({ status: 'failed', version: 'v1' });
    } finally {
      down.disconnect();
    }
    // latest names a bundle whose cold-start file was replaced after publishing: nothing is loaded.
    await stack.blob
      .getContainerClient(`models-${index}`)
      .getBlockBlobClient('affinity/v1/coldStart.json')
      .uploadData(Buffer.from(JSON.stringify({ global: [{ itemId: 'forged', score: 1 }], byContext: {} })));
    expect(await syncColdStartToLatest(bundles, coldStart)).toMatchObject({
      status: 'failed',
      version: 'v1',
      error: expect.stringContaining('coldStart.json does not match its digest') as unknown,
    });
    expect(await coldStart.loadedVersion()).toBeUndefined();
  });
});

describe('loadBundleColdStart', () => {
  it('verifies the bundle before writing anything', async () => {
    const { coldStart } = fresh();
    const forged = { ...v1.files, 'coldStart.json': Buffer.from('{"global":[],"byContext":{}}') };
    await expect(loadBundleColdStart(coldStart, forged)).rejects.toThrow('does not match its digest');
    expect(await coldStart.loadedVersion()).toBeUndefined();
    expect(await loadBundleColdStart(coldStart, v1.files)).toEqual({
      version: 'v1',
      lists: 1 + Object.keys(coldStartOf(v1).byContext).length,
      globalItems: coldStartOf(v1).global.length,
    });
  });
});

describe('isTransientRedisError', () => {
  it('retries connection trouble and failovers, not errors a retry cannot mend', async () => {
    const { prefix } = fresh();
    await redis.set(`${prefix}a-string`, 'x');
    const wrongType = await redis.zrange(`${prefix}a-string`, 0, 1).catch((error: unknown) => error);
    expect(isTransientRedisError(wrongType)).toBe(false);
    const down = createRedisClient('redis://127.0.0.1:1');
    down.on('error', () => undefined);
    const offline = await down.get('k').catch((error: unknown) => error);
    down.disconnect();
    expect(isTransientRedisError(offline)).toBe(true);
    const readOnly = Object.assign(new Error("READONLY You can't write against a read only replica."), {
      name: 'ReplyError',
    });
    expect(isTransientRedisError(readOnly)).toBe(true);
    expect(
      isTransientRedisError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(isTransientRedisError('nope')).toBe(false);
  });
});
