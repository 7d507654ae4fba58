import { ClickstreamEvent, EventType, SCHEMA_VERSION } from '../../shared/events/clickstreamEvent';
import { SequencedEvent, TriggerBatch } from '../../shared/aggregation/triggerBatch';
import { seededRandom, weightedPicker, zipfSampler } from './stats';
import { eventPosition } from '../../shared/events/hubMessage';

/**
 * A synthetic clickstream shaped like a shop's: Zipf-skewed users and products (a few of each account for
 * most events), a funnel-like mix of event types, products in categories, offer events for a small
 * catalog of offers. Deterministic for a seed.
 */

export interface StreamShape {
  events: number;
  users: number;
  products: number;
  categories: number;
  offers: number;
  partitions: number;
  /** Zipf exponents; ~1 is typical of web popularity. */
  userSkew: number;
  productSkew: number;
  /** Events are spread evenly over this window ending at `end`. */
  spanMs: number;
  end: Date;
  seed: number;
}

export const defaultShape: StreamShape = {
  events: 20_000,
  users: 10_000,
  products: 1_000,
  categories: 25,
  offers: 20,
  partitions: 4,
  userSkew: 1.0,
  productSkew: 1.1,
  spanMs: 3 * 3600 * 1000,
  end: new Date(),
  seed: 42,
};

/** Share of each event type: mostly views, a click in five, few carts and purchases, some offer events. */
export const eventTypeMix: Record<EventType, number> = {
  product_view: 0.6,
  product_click: 0.18,
  add_to_cart: 0.07,
  purchase: 0.03,
  offer_impression: 0.09,
  offer_click: 0.02,
  offer_dismiss: 0.01,
};

/** FNV-1a, so a user always lands in the same partition, as a partition key does on the hub. */
export function partitionOf(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % partitions;
}

/** The stream in hub order: each event with its partition and the partition's next sequence number. */
export function generateStream(shape: StreamShape = defaultShape): SequencedEvent[] {
  const random = seededRandom(shape.seed);
  const user = zipfSampler(shape.users, shape.userSkew, random);
  const product = zipfSampler(shape.products, shape.productSkew, random);
  const offer = zipfSampler(shape.offers, 0.8, random);
  const type = weightedPicker(eventTypeMix, random);
  const nextSequence = new Array<number>(shape.partitions).fill(0);
  const startMs = shape.end.getTime() - shape.spanMs;
  const stream: SequencedEvent[] = [];
  for (let i = 0; i < shape.events; i++) {
    const userId = `user-${user()}`;
    const productRank = product();
    const productId = `product-${productRank}`;
    const eventType = type();
    const at = new Date(startMs + Math.floor((i * shape.spanMs) / shape.events)).toISOString();
    const base = {
      schemaVersion: SCHEMA_VERSION as typeof SCHEMA_VERSION,
      eventId: `synthetic-${shape.seed}-${i}`,
      userId,
      sessionId: `${userId}-s${Math.floor(i / 5000)}`,
      category: `category-${productRank % shape.categories}`,
      device: random() < 0.6 ? 'mobile' : 'desktop',
      timestamp: at,
      receivedAt: at,
    };
    let event: ClickstreamEvent;
    if (eventType.startsWith('offer_')) {
      const offerId = `offer-${offer()}`;
      event = {
        ...base,
        type: eventType as 'offer_impression' | 'offer_click' | 'offer_dismiss',
        offerId,
        decisionId: `decision-${i}`,
        productId,
      };
    } else {
      event = {
        ...base,
        type: eventType as 'product_view' | 'product_click' | 'add_to_cart' | 'purchase',
        productId,
        ...(eventType === 'purchase' ? { price: 5 + (productRank % 50) * 3 } : {}),
      };
    }
    const partition = partitionOf(userId, shape.partitions);
    const sequenceNumber = nextSequence[partition] as number;
    nextSequence[partition] = sequenceNumber + 1;
    stream.push({
      partitionId: String(partition),
      sequenceNumber,
      position: eventPosition(sequenceNumber, 0),
      enqueuedTime: at,
      event,
    });
  }
  return stream;
}

/**
 * What the trigger would hand over: per partition, consecutive batches of up to `maxEventBatchSize`
 * events in sequence order (host.json extensions.eventHubs.maxEventBatchSize).
 */
export function triggerBatches(
  stream: readonly SequencedEvent[],
  maxEventBatchSize: number,
  eventHubName: string,
): Map<string, TriggerBatch[]> {
  const byPartition = new Map<string, SequencedEvent[]>();
  for (const event of stream) {
    const list = byPartition.get(event.partitionId);
    if (list) list.push(event);
    else byPartition.set(event.partitionId, [event]);
  }
  const batches = new Map<string, TriggerBatch[]>();
  for (const [partitionId, events] of byPartition) {
    const list: TriggerBatch[] = [];
    for (let i = 0; i < events.length; i += maxEventBatchSize) {
      list.push({
        eventHubName,
        partitionId,
        events: events.slice(i, i + maxEventBatchSize),
        unprocessable: [],
      });
    }
    batches.set(partitionId, list);
  }
  return batches;
}
