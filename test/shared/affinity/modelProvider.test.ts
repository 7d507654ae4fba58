import { ContainerClient } from '@azure/storage-blob';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';
import { AffinityBundle, trainAffinityModel } from '../../../models/affinity/train';
import { BlobAffinityBundleStore, LATEST_POINTER } from '../../../shared/affinity/bundleStore';
import { AffinityModelProvider } from '../../../shared/affinity/modelProvider';
import { startBlobOnly } from './blobStack';

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
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
});

function harness(): Harness {
  const container = stack.blob.getContainerClient(`served-${++containerIndex}`);
  const store = new BlobAffinityBundleStore(container);
  const logs: string[] = [];
  const clock = { now: 0 };
  const provider = new AffinityModelProvider({
    store,
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
