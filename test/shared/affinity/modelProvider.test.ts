import { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { AffinityBundle, trainAffinityModel } from '../../../models/affinity/train';
import {
  AffinityBundleStore,
  BlobAffinityBundleStore,
  LATEST_POINTER,
} from '../../../shared/affinity/bundleStore';
import { AffinityModelProvider } from '../../../shared/affinity/modelProvider';
import { FaultProxy, startFaultProxy } from '../../support/faultProxy';
import { blobBehindFaultProxy, startBlobOnly } from './blobStack';

let stack: Awaited<ReturnType<typeof startBlobOnly>>;
let v1: AffinityBundle;
let v2: AffinityBundle;
let containerIndex = 0;
const interactions = generateSyntheticInteractions({ users: 60, items: 40, interactions: 1200, seed: 8 });

beforeAll(async () => {
  stack = await startBlobOnly();
  v1 = await trainAffinityModel(interactions, { lambda: 10, evaluate: false, version: 'v1' });
  v2 = await trainAffinityModel(interactions.slice(0, 900), { lambda: 10, evaluate: false, version: 'v2' });
});

afterAll(async () => {
  await stack.stop();
});

interface Harness {
  container: ContainerClient;
  store: BlobAffinityBundleStore;
  provider: AffinityModelProvider;
  logs: string[];
  clock: { now: number };
}

const providers: AffinityModelProvider[] = [];
const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await Promise.all(proxies.splice(0).map((p) => p.stop()));
});

/**
 * Azurite behind a proxy that answers some requests itself with a fault, as Blob does when it is busy or
 * down; the SDK's own retries are off, so each fault reaches the code under test.
 */
async function proxied(
  decide: Parameters<typeof startFaultProxy>[1],
): Promise<{ blob: BlobServiceClient; readonly faults: number }> {
  const { blob, proxy } = await blobBehindFaultProxy(stack, decide);
  proxies.push(proxy);
  return {
    blob,
    get faults() {
      return proxy.faults;
    },
  };
}

/** `served` is the store the provider reads through (the container's own store without it). */
function harness(served?: (container: string) => AffinityBundleStore): Harness {
  const name = `served-${++containerIndex}`;
  const container = stack.blob.getContainerClient(name);
  const store = new BlobAffinityBundleStore(container);
  const logs: string[] = [];
  const clock = { now: 0 };
  const provider = new AffinityModelProvider({
    store: served ? served(name) : store,
    refreshIntervalMs: 60_000,
    releaseDelayMs: 0,
    log: (line) => logs.push(line),
    now: () => clock.now,
  });
  providers.push(provider);
  return { container, store, provider, logs, clock };
}

describe('AffinityModelProvider', () => {
  it('serves nothing until a model is published, without failing', async () => {
    const { provider, container } = harness();
    await container.create();
    expect(await provider.getCurrentModel()).toBeUndefined();
  });

  it('waits for the first load only, then swaps in a new version after the refresh interval', async () => {
    const { store, provider, clock, logs } = harness();
    await store.publish(v1.files, { force: true });
    const first = await provider.getCurrentModel();
    expect(first?.version).toBe('v1');

    await store.publish(v2.files, { force: true });
    clock.now += 30_000; // within the interval: no check, v1 still serves
    expect((await provider.getCurrentModel())?.version).toBe('v1');
    clock.now += 30_000; // due: this request starts a background check and still gets v1
    expect(provider.current()?.version).toBe('v1');
    await provider.refresh(); // joins the check in flight
    const second = await provider.getCurrentModel();
    expect(second?.version).toBe('v2');
    expect(second!.itemIds.length).toBeGreaterThan(0);
    expect(logs).toContain('affinity: serving model v2 (replaced v1)');
  });

  it('refuses a corrupt bundle with a log line and keeps serving the previous model', async () => {
    const { store, provider, container, logs, clock } = harness();
    await store.publish(v1.files, { force: true });
    expect((await provider.getCurrentModel())?.version).toBe('v1');

    // A bundle whose model was damaged after upload, then named latest.
    await store.publish(v2.files, { force: true });
    const onnx = Buffer.from(v2.files['model.onnx']);
    onnx[100] = onnx[100]! ^ 0xff;
    await container.getBlockBlobClient('affinity/v2/model.onnx').uploadData(onnx);
    clock.now += 60_000;
    await provider.refresh();
    const model = await provider.getCurrentModel();
    expect(model?.version).toBe('v1');
    expect(await model!.score([{ itemId: model!.itemIds[0]!, weight: 1 }])).toHaveLength(
      model!.itemIds.length,
    );
    expect(
      logs.some((l) => /refused model v2: .*model.onnx does not match its digest.*keeping v1/.test(l)),
    ).toBe(true);

    // The refused pointer is not retried (nor logged again) at every interval.
    const refusals = logs.length;
    clock.now += 60_000;
    await provider.refresh();
    expect(logs).toHaveLength(refusals);
  });

  it('retries a bundle whose download failed on the way (a Blob 503) instead of refusing its version', async () => {
    let faultsLeft = 1;
    const proxy = await proxied((request) => {
      if (faultsLeft > 0 && request.url?.includes('/affinity/v1/model.onnx')) {
        faultsLeft -= 1;
        return { status: 503, headers: { 'x-ms-error-code': 'ServerBusy' } };
      }
      return undefined;
    });
    const { store, provider, logs, clock } = harness(
      (name) => new BlobAffinityBundleStore(proxy.blob.getContainerClient(name)),
    );
    await store.publish(v1.files, { force: true });

    // A fresh process whose first load meets one Blob hiccup: no model yet, and v1 is not refused.
    expect(await provider.getCurrentModel()).toBeUndefined();
    expect(proxy.faults).toBe(1);
    expect(logs.some((l) => /cannot load model v1 .*keeping no model; retrying soon/.test(l))).toBe(true);
    expect(logs.some((l) => l.includes('refused'))).toBe(false);

    // The retry is due well before the refresh interval (a backoff of at most 1 s after one failure).
    clock.now += 1_000;
    expect(provider.current()).toBeUndefined(); // starts the retry in the background
    await provider.refresh(); // joins it
    expect((await provider.getCurrentModel())?.version).toBe('v1');
    expect(logs).toContain('affinity: serving model v1');
  });

  it('backs off between retries while Blob stays down, up to the refresh interval', async () => {
    let down = false;
    const proxy = await proxied(() => (down ? { status: 503 } : undefined));
    let pointerReads = 0;
    const { store, provider, clock } = harness((name) => {
      const served = new BlobAffinityBundleStore(proxy.blob.getContainerClient(name));
      // The real store, counting the checks that reach Blob (each starts with the pointer).
      return {
        publish: (files, options) => served.publish(files, options),
        readLatest: () => {
          pointerReads += 1;
          return served.readLatest();
        },
        readBundle: (version) => served.readBundle(version),
        listVersions: () => served.listVersions(),
      };
    });
    await store.publish(v1.files, { force: true });
    down = true;
    await provider.refresh();
    expect(pointerReads).toBe(1);
    // After the n-th failure in a row the next check is due in [0.5, 1] × min(interval, 1 s × 2^(n-1)).
    for (let failure = 1; failure <= 8; failure++) {
      const backoff = Math.min(60_000, 1_000 * 2 ** (failure - 1));
      clock.now += backoff / 2 - 1;
      expect(provider.current()).toBeUndefined();
      expect(pointerReads).toBe(failure);
      clock.now += backoff / 2 + 1;
      provider.current();
      expect(pointerReads).toBe(failure + 1);
      await provider.refresh(); // joins the check in flight
    }
    down = false;
    clock.now += 60_000;
    provider.current();
    await provider.refresh();
    expect((await provider.getCurrentModel())?.version).toBe('v1');
    // Once loaded, the pointer is checked at the refresh interval again.
    const reads = pointerReads;
    clock.now += 59_999;
    provider.current();
    expect(pointerReads).toBe(reads);
  });

  it('keeps serving when the pointer cannot be read', async () => {
    const { store, provider, container, logs, clock } = harness();
    await store.publish(v1.files, { force: true });
    expect((await provider.getCurrentModel())?.version).toBe('v1');
    await container.getBlockBlobClient(LATEST_POINTER).upload('not json', 8);
    clock.now += 60_000;
    await provider.refresh();
    expect((await provider.getCurrentModel())?.version).toBe('v1');
    expect(logs.some((l) => l.includes('cannot read the latest pointer') && l.includes('keeping v1'))).toBe(
      true,
    );
  });
});
