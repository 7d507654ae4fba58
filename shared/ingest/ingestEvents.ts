import { errorMessage } from '../errors';
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

/** The report, which is the response body, and why the hub refused events when it did (for the log). */
export interface IngestOutcome {
  report: IngestReport;
  publishError?: string;
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
): Promise<IngestOutcome> {
  const parsed = parseEvents(bodyText, limits, now);
  let acknowledged: boolean[] = [];
  let publishError: string | undefined;
  if (parsed.events.length > 0) {
    try {
      acknowledged = await publisher.publish(parsed.events.map((e) => e.event));
    } catch (error) {
      // The hub could not be reached at all (e.g. its partition list could not be read). The caller still
      // gets the per-event report, every valid event `unavailable`, so a 503 always has the same body.
      publishError = errorMessage(error);
    }
  }
  // Both lists are in request order: merging them keeps the report in request order without a sort.
  const results: IngestReport['results'] = [];
  let accepted = 0;
  let nextRejected = 0;
  const takeRejectedBefore = (index: number) => {
    for (let r = parsed.rejected[nextRejected]; r !== undefined && r.index < index;) {
      results.push({ index: r.index, status: 'rejected', errors: r.errors });
      r = parsed.rejected[++nextRejected];
    }
  };
  parsed.events.forEach(({ index, event }, position) => {
    takeRejectedBefore(index);
    if (acknowledged[position] === true) {
      accepted += 1;
      results.push({ index, status: 'accepted', eventId: event.eventId });
    } else {
      results.push({ index, status: 'unavailable', eventId: event.eventId });
    }
  });
  takeRejectedBefore(Infinity);
  const unavailable = accepted < parsed.events.length;
  const report: IngestReport = {
    status: unavailable ? 503 : accepted === 0 ? 400 : 202,
    accepted,
    rejected: parsed.rejected.length,
    results,
  };
  return publishError === undefined ? { report } : { report, publishError };
}
