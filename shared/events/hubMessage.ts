/**
 * How clickstream events travel on the hub: ingest sends one Event Hubs message per send holding the JSON
 * array of that send's events (a single event object is read too, from any other producer).
 *
 * Why one message and not one per event: the hub's work, the SDK's and the consumer's is mostly per
 * message (encoding, a tracing span per `tryAdd`, the trigger's metadata), and Standard tier meters
 * ingress per message of up to 64 KB, so packing a send's events cuts CPU on both sides and cost. What it
 * changes: an event is no longer identified by its message's sequence number alone, but by its
 * **position**, `sequenceNumber × MAX_EVENTS_PER_MESSAGE + index in the message`. Positions keep the
 * partition's order, fit a double exactly for the first 9 × 10^12 messages of a partition, and read
 * plainly in blob names (message 1234, event 5: 1234005). Watermarks, the archive's de-duplication,
 * dead-letter names and replay order all use positions (docs/aggregation.md).
 */

/** At most this many events in one message; a message with more is set aside whole, unread. */
export const MAX_EVENTS_PER_MESSAGE = 1000;

/** The position of the `index`-th event of the message with this sequence number. */
export function eventPosition(sequenceNumber: number, index: number): number {
  return sequenceNumber * MAX_EVENTS_PER_MESSAGE + index;
}

/** The sequence number of the message that carried the event at this position. */
export function messageSequenceNumber(position: number): number {
  return Math.floor(position / MAX_EVENTS_PER_MESSAGE);
}

/**
 * The events a message body holds: the elements of an array, or the body itself. `undefined` when an
 * array holds more than MAX_EVENTS_PER_MESSAGE, which no nextoffer publisher sends.
 */
export function eventsInMessage(body: unknown): readonly unknown[] | undefined {
  if (!Array.isArray(body)) return [body];
  return body.length <= MAX_EVENTS_PER_MESSAGE ? body : undefined;
}
