import { BlobCheckpointStore } from '@azure/eventhubs-checkpointstore-blob';
import { CHECKPOINT_CONTAINER } from '../../local/eventHubTrigger';
import { FunctionsHost, startFunctionsHost } from '../../local/host';
import { listRegistrations, registerEventHub } from '../../shared/hosting/registry';
import { blobServiceFor, startTestStack, TestStack } from '../support/localStack';

// @azure/functions warns on every registration outside the real host; that is expected here.
jest.spyOn(console, 'warn').mockImplementation(() => undefined);

registerEventHub('readsEverything', {
  connection: 'EventHubConnection',
  eventHubName: '%EVENTHUB_NAME%',
  consumerGroup: '$Default',
  cardinality: 'many',
  handler: () => undefined,
});

let stack: TestStack;
let host: FunctionsHost | undefined;

beforeAll(async () => {
  stack = await startTestStack({ partitionCount: 4, eventHubName: 'load-balancing-test' });
});

afterAll(async () => {
  await host?.stop();
  await stack.stop();
});

describe('local Functions host: partition load balancing by default', () => {
  it('claims every partition at start, not one per load-balancing interval', async () => {
    host = await startFunctionsHost({
      port: 0,
      registrations: listRegistrations().filter((r) => r.name === 'readsEverything'),
      env: stack.env(),
      log: () => undefined,
      runShutdownHooksOnStop: false,
    });
    const container = blobServiceFor(stack.settings, 'AzureWebJobsStorage').getContainerClient(
      CHECKPOINT_CONTAINER,
    );
    const checkpoints = new BlobCheckpointStore(container);
    const owned = async () => {
      // Blob names start with the namespace (the emulator's host name): take it from the first one.
      let namespace: string | undefined;
      for await (const blob of container.listBlobsFlat()) {
        namespace = blob.name.split('/')[0];
        break;
      }
      if (namespace === undefined) return 0;
      return (await checkpoints.listOwnership(namespace, 'load-balancing-test', '$Default')).length;
    };
    // The SDK's default strategy ("balanced") claims one partition per 10 s loop: 30 s for four. Greedy
    // claims all four in its first loop, which runs as the host starts; 5 s leaves room for a slow machine.
    let count = 0;
    for (let i = 0; i < 50 && count < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      count = await owned();
    }
    expect(count).toBe(4);
  });
});
