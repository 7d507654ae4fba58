import { EventDataBatch, EventHubProducerClient } from '@azure/event-hubs';
import { ClickstreamEvent } from '../events/clickstreamEvent';

/** Where ingest sends accepted events. One real adapter: Event Hubs. */
export interface EventPublisher {
  /**
   * Sends the events; resolves with, for each event in order, whether the service acknowledged it.
   * Never resolves `true` for an event that was not acknowledged.
   */
  publish(events: readonly ClickstreamEvent[]): Promise<boolean[]>;
}

/**
 * Sends each user's events in batches keyed by the user id, so one user's events land in one partition in
 * order (the aggregation relies on per-partition sequence numbers). Batches respect the hub's size limit
 * (1 MB on Standard) through `tryAdd`; different users' batches are sent concurrently.
 */
export class EventHubsPublisher implements EventPublisher {
  constructor(
    private readonly producer: EventHubProducerClient,
    private readonly maxConcurrentSends = 16,
  ) {}

  async publish(events: readonly ClickstreamEvent[]): Promise<boolean[]> {
    const acknowledged = new Array<boolean>(events.length).fill(false);
    const byUser = new Map<string, number[]>();
    events.forEach((event, index) => {
      const indices = byUser.get(event.userId);
      if (indices) indices.push(index);
      else byUser.set(event.userId, [index]);
    });

    const sends: Array<() => Promise<void>> = [];
    for (const [userId, indices] of byUser) {
      sends.push(async () => {
        for (const chunk of await this.batchesFor(userId, indices, events)) {
          await this.producer.sendBatch(chunk.batch);
          for (const index of chunk.indices) acknowledged[index] = true;
        }
      });
    }
    const failures: unknown[] = [];
    await runWithConcurrency(sends, this.maxConcurrentSends, (error) => failures.push(error));
    if (failures.length === sends.length && sends.length > 0) throw failures[0];
    return acknowledged;
  }

  private async batchesFor(
    userId: string,
    indices: number[],
    events: readonly ClickstreamEvent[],
  ): Promise<Array<{ batch: EventDataBatch; indices: number[] }>> {
    const chunks: Array<{ batch: EventDataBatch; indices: number[] }> = [];
    let current = {
      batch: await this.producer.createBatch({ partitionKey: userId }),
      indices: [] as number[],
    };
    for (const index of indices) {
      const eventData = {
        body: events[index],
        messageId: events[index]?.eventId,
        contentType: 'application/json',
      };
      if (current.batch.tryAdd(eventData)) {
        current.indices.push(index);
        continue;
      }
      if (current.indices.length === 0) throw new Error(`event ${index} is larger than an Event Hubs batch`);
      chunks.push(current);
      current = { batch: await this.producer.createBatch({ partitionKey: userId }), indices: [] };
      if (!current.batch.tryAdd(eventData))
        throw new Error(`event ${index} is larger than an Event Hubs batch`);
      current.indices.push(index);
    }
    if (current.indices.length > 0) chunks.push(current);
    return chunks;
  }
}

async function runWithConcurrency(
  tasks: Array<() => Promise<void>>,
  limit: number,
  onError: (error: unknown) => void,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++];
      try {
        await task?.();
      } catch (error) {
        onError(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
