import { z } from 'zod';

/**
 * The clickstream event contract (schema version 1). Websites post these to `POST /api/events`;
 * the ingest function stamps `receivedAt` (and an `eventId` when the client sent none) and forwards them
 * to Event Hubs; the aggregate function folds them into Cosmos DB. docs/events.schema.json is generated
 * from this file (`npx nextoffer schema`).
 */

export const SCHEMA_VERSION = 1;

export const productEventTypes = ['product_view', 'product_click', 'add_to_cart', 'purchase'] as const;
export const offerEventTypes = ['offer_impression', 'offer_click', 'offer_dismiss'] as const;
export const eventTypes = [...productEventTypes, ...offerEventTypes] as const;
export type EventType = (typeof eventTypes)[number];

/** One character of an id, as a regular-expression class (cli/commands/schema.ts builds on it too). */
export const ID_CHARACTER = '[\\w.:@|~-]';
export const ID_PATTERN = new RegExp(`^${ID_CHARACTER}*$`);

/**
 * Ids are opaque to us but bounded and printable so they are safe as Cosmos ids and blob names.
 * Surrounding whitespace is trimmed first: " u1 " is the id "u1".
 */
const id = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .regex(ID_PATTERN, 'may hold only letters, digits and . : @ | ~ - _');

const shortText = (max: number) => z.string().max(max, `must be at most ${max} characters`);

/** Clock skew we accept between the client's timestamp and our clock. */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
export const MAX_EVENT_AGE_MS = 7 * 24 * 60 * 60 * 1000;

const common = {
  schemaVersion: z.literal(SCHEMA_VERSION).default(SCHEMA_VERSION),
  eventId: id(128).optional(),
  userId: id(128),
  sessionId: id(128).optional(),
  timestamp: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
  category: shortText(100).optional(),
  price: z.number().finite().nonnegative().max(1e9).optional(),
  page: shortText(2048).optional(),
  referrer: shortText(2048).optional(),
  device: shortText(50).optional(),
};

const productEvent = z.object({
  ...common,
  type: z.enum(productEventTypes),
  productId: id(128),
  offerId: id(128).optional(),
  decisionId: id(128).optional(),
});

const offerEvent = z.object({
  ...common,
  type: z.enum(offerEventTypes),
  offerId: id(128),
  /** The decision this event answers, as returned by the offer function; closes the feedback loop. */
  decisionId: id(128),
  productId: id(128).optional(),
});

/** What a client may send. Unknown fields are dropped, not forwarded. */
export const clientEventSchema = z.discriminatedUnion('type', [productEvent, offerEvent], {
  error: (issue) =>
    issue.code === 'invalid_union'
      ? `unknown event type; expected one of ${eventTypes.join(', ')}`
      : undefined,
});
export type ClientEvent = z.infer<typeof clientEventSchema>;

/** Every field a client event can have, whatever its type. */
export const clientEventKeys: ReadonlySet<string> = new Set([
  ...Object.keys(productEvent.shape),
  ...Object.keys(offerEvent.shape),
]);

/** What travels on Event Hubs: the client's event, stamped by ingest. */
export type ClickstreamEvent = ClientEvent & {
  eventId: string;
  /** Server time at ingest, ISO 8601 UTC. */
  receivedAt: string;
  /** The client's time, or receivedAt when it sent none (ingest refuses one too far from receivedAt). */
  timestamp: string;
};

export const clickstreamEventSchema: z.ZodType<ClickstreamEvent> = z.discriminatedUnion('type', [
  productEvent.extend({
    eventId: id(128),
    receivedAt: z.iso.datetime(),
    timestamp: z.iso.datetime({ offset: true }),
  }),
  offerEvent.extend({
    eventId: id(128),
    receivedAt: z.iso.datetime(),
    timestamp: z.iso.datetime({ offset: true }),
  }),
]);

export function isOfferEvent(event: ClickstreamEvent): event is ClickstreamEvent & { offerId: string } {
  return (offerEventTypes as readonly string[]).includes(event.type);
}
