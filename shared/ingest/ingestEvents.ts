import { HttpProblem } from '../http/problems';
import { EventPublisher } from './eventPublisher';
import { IngestLimits, parseEvents, RejectedEvent } from './parseEvents';

export interface IngestReport {
  /** 202 when every valid event was accepted, 400 when none was valid, 503 when Event Hubs refused any. */
  status: 202 | 400 | 503;
  accepted: number;
  rejected: number;
  /** Per event, in request order. */
  results: Array<
    | { index: number; status: 'accepted'; eventId: string }
    | { index: number; status: 'rejected'; errors: RejectedEvent['errors'] }
    | { index: number; status: 'unavailable'; eventId: string }
  >;
}

/**
 * Validates, stamps and publishes the events of one request. Valid events in a mixed request are accepted;
 * invalid ones are named with their fields. Nothing invalid is forwarded, and no event the hub did not
 * acknowledge is reported as accepted.
 */
export async function ingestEvents(
  bodyText: string,
  limits: IngestLimits,
  publisher: EventPublisher,
  now: Date,
): Promise<IngestReport> {
  const parsed = parseEvents(bodyText, limits, now);
  const results: IngestReport['results'] = parsed.rejected.map((r) => ({
    index: r.index,
    status: 'rejected' as const,
    errors: r.errors,
  }));
  let acknowledged: boolean[] = [];
  if (parsed.events.length > 0) {
    try {
      acknowledged = await publisher.publish(parsed.events.map((e) => e.event));
    } catch (error) {
      throw new HttpProblem(
        'service_unavailable',
        `the event hub did not accept the events: ${(error as Error).message}`,
        undefined,
        undefined,
        { 'retry-after': '2' },
      );
    }
  }
  parsed.events.forEach(({ index, event }, position) => {
    results.push(
      acknowledged[position] === true
        ? { index, status: 'accepted', eventId: event.eventId }
        : { index, status: 'unavailable', eventId: event.eventId },
    );
  });
  results.sort((a, b) => a.index - b.index);
  const accepted = results.filter((r) => r.status === 'accepted').length;
  const unavailable = results.some((r) => r.status === 'unavailable');
  return {
    status: unavailable ? 503 : accepted === 0 ? 400 : 202,
    accepted,
    rejected: parsed.rejected.length,
    results,
  };
}
