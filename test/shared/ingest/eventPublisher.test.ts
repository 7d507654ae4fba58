import { EventDataBatch, EventHubProducerClient } from '@azure/event-hubs';
import { ClickstreamEvent } from '../../../shared/events/clickstreamEvent';
import { EventHubsPublisher, PartitionSender } from '../../../shared/ingest/eventPublisher';
import { partitionForKey } from '../../../shared/ingest/partitioning';
import { eventHubProducerFor, recordHubEvents, startTestStack, TestStack } from '../../support/localStack';

let stack: TestStack;
let producer: EventHubProducerClient;
let hub: ReturnType<typeof recordHubEvents>;
const received = () =>
  hub.delivered.map((d) => ({ partitionId: d.partitionId, event: d.body as ClickstreamEvent }));

beforeAll(async () => {
  stack = await startTestStack({ partitionCount: 4 });
  producer = eventHubProducerFor(stack.settings);
  hub = recordHubEvents(stack.settings);
});

afterAll(async () => {
  await hub.close();
  await producer.close();
  await stack.stop();
});

/** The real producer, counting its sends: the publisher under test talks to the real emulator. */
function countingSender(inner: EventHubProducerClient): PartitionSender & { sends: number } {
  const sender = {
    sends: 0,
    getPartitionIds: () => inner.getPartitionIds(),
    createBatch: (options: { partitionId: string }) => inner.createBatch(options),
    sendBatch: async (batch: EventDataBatch) => {
      sender.sends += 1;
      await inner.sendBatch(batch);
    },
  };
  return sender;
}

function event(userId: string, n: number): ClickstreamEvent {
  const at = new Date().toISOString();
  return {
    schemaVersion: 1,
    type: 'product_view',
    eventId: `${userId}-e${n}`,
    userId,
    productId: `p${n}`,
    timestamp: at,
    receivedAt: at,
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('EventHubsPublisher', () => {
  it('coalesces concurrent requests into one message per partition, each user in one partition, in order', async () => {
    const sender = countingSender(producer);
    const messagesBefore = hub.messages;
    const publisher = new EventHubsPublisher(sender);
    const users = Array.from({ length: 40 }, (_, i) => `coalesce-${i}`);
    // 40 concurrent "requests" of three events each, as 40 browsers posting at once.
    const acks = await Promise.all(
      users.map((user) => publisher.publish([event(user, 1), event(user, 2), event(user, 3)])),
    );
    expect(acks.flat()).toEqual(new Array(120).fill(true));
    // One getPartitionIds, then at most one send per partition for the whole burst.
    expect(sender.sends).toBeLessThanOrEqual(4);

    const mine = () => received().filter((r) => r.event.userId.startsWith('coalesce-'));
    await until(() => mine().length === 120, '120 events');
    // Each send is one hub message holding the JSON array of its events (shared/events/hubMessage.ts).
    expect(hub.messages - messagesBefore).toBe(sender.sends);
    const partitionIds = await producer.getPartitionIds();
    for (const user of users) {
      const events = mine().filter((r) => r.event.userId === user);
      expect(events.map((r) => r.event.eventId)).toEqual([`${user}-e1`, `${user}-e2`, `${user}-e3`]);
      expect(new Set(events.map((r) => r.partitionId))).toEqual(
        new Set([partitionForKey(user, partitionIds)]),
      );
    }
  });

  it('lets the requests of the next turns of the event loop join a batch (collectTurns)', async () => {
    const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
    // One user, so one partition: a request now and one a turn later, as two polls of the sockets.
    const sendsFor = async (collectTurns: number) => {
      const sender = countingSender(producer);
      const publisher = new EventHubsPublisher(sender, { collectTurns });
      await publisher.publish([event(`turns-${collectTurns}`, 0)]); // learns the partitions first
      sender.sends = 0;
      const first = publisher.publish([event(`turns-${collectTurns}`, 1)]);
      await nextTurn();
      const second = publisher.publish([event(`turns-${collectTurns}`, 2)]);
      expect([...(await first), ...(await second)]).toEqual([true, true]);
      return sender.sends;
    };
    expect(await sendsFor(1)).toBe(2);
    expect(await sendsFor(2)).toBe(1);
    expect(() => new EventHubsPublisher(producer, { collectTurns: 0 })).toThrow(/collectTurns/);
  });

  it('splits what does not fit in one batch over several sends, acknowledging every event once', async () => {
    const sender = countingSender(producer);
    const publisher = new EventHubsPublisher(sender);
    // ~6 KB each: 400 of them (2.4 MB) for one user cannot travel in one 1 MB batch.
    const big = Array.from({ length: 400 }, (_, n) => ({ ...event('bulky', n), page: 'x'.repeat(6000) }));
    const acks = await publisher.publish(big);
    expect(acks).toEqual(new Array(400).fill(true));
    expect(sender.sends).toBeGreaterThanOrEqual(3);
    await until(() => received().filter((r) => r.event.userId === 'bulky').length === 400, '400 events');
    expect(
      received()
        .filter((r) => r.event.userId === 'bulky')
        .map((r) => r.event.eventId),
    ).toEqual(big.map((e) => e.eventId));
  });

  it('never acknowledges an event the hub did not take', async () => {
    const ownProducer = eventHubProducerFor(stack.settings);
    const publisher = new EventHubsPublisher(ownProducer);
    expect(await publisher.publish([event('before-close', 1)])).toEqual([true]);
    await ownProducer.close();
    expect(await publisher.publish([event('after-close', 1), event('after-close', 2)])).toEqual([
      false,
      false,
    ]);
  });

  it('refuses at once, without queueing, beyond its queue limit', async () => {
    const sender = countingSender(producer);
    const publisher = new EventHubsPublisher(sender, { maxQueuedEvents: 5 });
    const acks = await publisher.publish(Array.from({ length: 6 }, (_, n) => event('over-limit', n)));
    expect(acks).toEqual(new Array(6).fill(false));
    expect(sender.sends).toBe(0);
    expect(await publisher.publish([event('within-limit', 1)])).toEqual([true]);
  });

  it('fails the request when the hub cannot be reached to learn its partitions', async () => {
    const unreachable = new EventHubProducerClient(
      'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
      'clickstream',
      { retryOptions: { maxRetries: 0, timeoutInMs: 1000 } },
    );
    const publisher = new EventHubsPublisher(unreachable);
    await expect(publisher.publish([event('nobody', 1)])).rejects.toThrow();
    await unreachable.close();
  });
});
