import { hash, randomUUID } from 'node:crypto';
import {
  ClickstreamEvent,
  ClientEvent,
  clientEventKeys,
  clientEventSchema,
  MAX_EVENT_AGE_MS,
  MAX_FUTURE_SKEW_MS,
} from '../events/clickstreamEvent';
import { FieldError, fieldPath, HttpProblem, requestParseOptions } from '../http/problems';

export interface IngestLimits {
  maxEventsPerRequest: number;
  maxBodyBytes: number;
}

export interface RejectedEvent {
  index: number;
  errors: FieldError[];
}

export interface ParsedIngestBody {
  /** Valid events, stamped, in request order. */
  events: Array<{ index: number; event: ClickstreamEvent }>;
  rejected: RejectedEvent[];
}

/** `navigator.sendBeacon` can only send text/plain without a preflight, so we accept it as JSON too. */
const acceptedMediaTypes = new Set(['application/json', 'text/plain']);

export function checkMediaType(contentType: string | null): void {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (!acceptedMediaTypes.has(mediaType)) {
    throw new HttpProblem(
      'unsupported_media_type',
      `content-type must be application/json or text/plain, got '${contentType ?? '(none)'}'`,
      'content-type',
    );
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as text, its size checked on the bytes received (a chunked body declares none). JSON is UTF-8
 * (RFC 8259): a body that is not is refused, rather than decoded into replacement characters that would
 * count three bytes each against the limit.
 */
export async function readBodyText(
  request: { arrayBuffer(): Promise<ArrayBuffer> },
  limits: Pick<IngestLimits, 'maxBodyBytes'>,
): Promise<string> {
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > limits.maxBodyBytes) {
    throw new HttpProblem('payload_too_large', `body exceeds ${limits.maxBodyBytes} bytes`, '(body)');
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new HttpProblem('invalid_json', 'body is not valid UTF-8', '(body)');
  }
}

export function checkDeclaredLength(contentLength: string | null, limits: IngestLimits): void {
  if (contentLength === null) return;
  const declared = Number(contentLength);
  if (Number.isFinite(declared) && declared > limits.maxBodyBytes) {
    throw new HttpProblem(
      'payload_too_large',
      `body is ${declared} bytes; the limit is ${limits.maxBodyBytes}`,
      '(body)',
    );
  }
}

/**
 * A client that retries the same event without an eventId still gets the same id, as long as it sent a
 * timestamp: the id is a hash of the event's content. Without a timestamp two identical clicks are
 * indistinguishable from a retry, so those get a random id.
 */
export function assignEventId(event: ClientEvent): string {
  if (event.eventId !== undefined) return event.eventId;
  if (event.timestamp === undefined) return randomUUID();
  // The JSON of the [key, value] pairs present, written directly rather than through an array of pairs:
  // the same text (so the same ids) at a fraction of the cost, on the path of every event.
  let pairs = '';
  for (const key of canonicalKeyOrder) {
    if (!(key in event)) continue;
    const value: unknown = event[key as keyof ClientEvent];
    pairs += `${pairs === '' ? '' : ','}["${key}",${value === undefined ? 'null' : JSON.stringify(value)}]`;
  }
  return `h-${hash('sha256', `[${pairs}]`, 'hex').slice(0, 32)}`;
}

/**
 * Every field a parsed event can hold, in `localeCompare` order (the order ids have always been computed
 * in), sorted once rather than per event. They are plain identifiers, so their JSON is `"key"`.
 */
const canonicalKeyOrder: readonly string[] = [...clientEventKeys].sort((a, b) => a.localeCompare(b));

function checkTimestamp(at: number | undefined, now: number): FieldError | undefined {
  if (at === undefined) return undefined;
  if (at > now + MAX_FUTURE_SKEW_MS) {
    return {
      field: 'timestamp',
      message: `is more than ${MAX_FUTURE_SKEW_MS / 60000} minutes in the future`,
    };
  }
  if (at < now - MAX_EVENT_AGE_MS) {
    return { field: 'timestamp', message: `is more than ${MAX_EVENT_AGE_MS / 86400000} days old` };
  }
  return undefined;
}

/**
 * Parses a request body holding one event or an array of events. Request-level problems (bad JSON, too
 * many events, not an object) throw an HttpProblem; per-event problems are reported by index so that valid
 * events in a mixed request are still accepted.
 */
export function parseEvents(bodyText: string, limits: IngestLimits, now: Date): ParsedIngestBody {
  if (Buffer.byteLength(bodyText, 'utf8') > limits.maxBodyBytes) {
    throw new HttpProblem('payload_too_large', `body exceeds ${limits.maxBodyBytes} bytes`, '(body)');
  }
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch (error) {
    throw new HttpProblem('invalid_json', `body is not valid JSON: ${(error as Error).message}`, '(body)');
  }
  const isArray = Array.isArray(json);
  const items: unknown[] = isArray ? (json as unknown[]) : [json];
  if (items.length === 0) throw new HttpProblem('invalid_request', 'no events in the request', '(body)');
  if (items.length > limits.maxEventsPerRequest) {
    throw new HttpProblem(
      'payload_too_large',
      `${items.length} events in one request; the limit is ${limits.maxEventsPerRequest}`,
      '(body)',
    );
  }
  const receivedAt = now.toISOString();
  const nowMs = now.getTime();
  const result: ParsedIngestBody = { events: [], rejected: [] };
  for (const [index, item] of items.entries()) {
    const prefix = isArray ? `[${index}]` : '';
    const parsed = clientEventSchema.safeParse(item, requestParseOptions);
    if (!parsed.success) {
      result.rejected.push({
        index,
        errors: parsed.error.issues.map((issue) => ({
          field: fieldPath(prefix, issue.path).replace(/^\./, ''),
          message: issue.message,
        })),
      });
      continue;
    }
    const clientEvent = parsed.data;
    const at = clientEvent.timestamp === undefined ? undefined : Date.parse(clientEvent.timestamp);
    const skew = checkTimestamp(at, nowMs);
    if (skew) {
      result.rejected.push({
        index,
        errors: [{ field: `${prefix}${prefix ? '.' : ''}${skew.field}`, message: skew.message }],
      });
      continue;
    }
    // zod built this object for us alone: stamping it in place saves a copy of every event.
    const event: ClickstreamEvent = Object.assign(clientEvent, {
      eventId: assignEventId(clientEvent),
      receivedAt,
      timestamp: at === undefined ? receivedAt : new Date(at).toISOString(),
    });
    result.events.push({ index, event });
  }
  return result;
}
