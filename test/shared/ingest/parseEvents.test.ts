import { HttpProblem } from '../../../shared/http/problems';
import { assignEventId, checkMediaType, parseEvents } from '../../../shared/ingest/parseEvents';

const limits = { maxEventsPerRequest: 500, maxBodyBytes: 1024 * 1024 };
const now = new Date('2026-11-24T12:00:00.000Z');
const view = { type: 'product_view', userId: 'u1', productId: 'p1', timestamp: '2026-11-24T11:59:00Z' };

function problemOf(fn: () => unknown): HttpProblem {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpProblem) return error;
    throw error;
  }
  throw new Error('expected an HttpProblem');
}

describe('parseEvents', () => {
  it('accepts one event or an array, stamps receivedAt and normalises the timestamp', () => {
    const single = parseEvents(JSON.stringify(view), limits, now);
    expect(single.events).toHaveLength(1);
    expect(single.events[0]!.event).toMatchObject({
      type: 'product_view',
      userId: 'u1',
      receivedAt: '2026-11-24T12:00:00.000Z',
      timestamp: '2026-11-24T11:59:00.000Z',
      schemaVersion: 1,
    });
    const many = parseEvents(JSON.stringify([view, { ...view, productId: 'p2' }]), limits, now);
    expect(many.events.map((e) => e.event.productId)).toEqual(['p1', 'p2']);
  });

  it('names the field of each invalid event and keeps the valid ones', () => {
    const body = JSON.stringify([
      view,
      { type: 'product_view', userId: '', productId: 'p1' },
      { type: 'teleport', userId: 'u' },
    ]);
    const parsed = parseEvents(body, limits, now);
    expect(parsed.events.map((e) => e.index)).toEqual([0]);
    expect(parsed.rejected).toHaveLength(2);
    expect(parsed.rejected[0]).toEqual({
      index: 1,
      errors: [{ field: '[1].userId', message: 'must not be empty' }],
    });
    expect(parsed.rejected[1]!.errors[0]!.field).toBe('[2].type');
    expect(parsed.rejected[1]!.errors[0]!.message).toContain('unknown event type');
  });

  it('says a missing field is required and names the type a wrongly typed one must have', () => {
    const parsed = parseEvents(
      JSON.stringify([
        { type: 'product_view', productId: 'p1' },
        { ...view, price: '9.99', device: 3 },
      ]),
      limits,
      now,
    );
    expect(parsed.rejected).toEqual([
      { index: 0, errors: [{ field: '[0].userId', message: 'is required' }] },
      {
        index: 1,
        errors: [
          { field: '[1].price', message: 'must be a number' },
          { field: '[1].device', message: 'must be a string' },
        ],
      },
    ]);
  });

  it('requires offer events to carry the decisionId', () => {
    const parsed = parseEvents(
      JSON.stringify({ type: 'offer_click', userId: 'u1', offerId: 'o1' }),
      limits,
      now,
    );
    expect(parsed.rejected[0]!.errors.map((e) => e.field)).toContain('decisionId');
  });

  it('rejects timestamps far in the future or too old', () => {
    const future = parseEvents(JSON.stringify({ ...view, timestamp: '2026-11-24T13:00:00Z' }), limits, now);
    expect(future.rejected[0]!.errors[0]!.field).toBe('timestamp');
    const old = parseEvents(JSON.stringify({ ...view, timestamp: '2026-10-01T00:00:00Z' }), limits, now);
    expect(old.rejected[0]!.errors[0]!.field).toBe('timestamp');
  });

  it('refuses malformed JSON, empty arrays and too many events at request level', () => {
    expect(problemOf(() => parseEvents('{"type":', limits, now)).code).toBe('invalid_json');
    expect(problemOf(() => parseEvents('[]', limits, now)).code).toBe('invalid_request');
    const tooMany = JSON.stringify(Array.from({ length: 3 }, () => view));
    const problem = problemOf(() => parseEvents(tooMany, { ...limits, maxEventsPerRequest: 2 }, now));
    expect(problem.status).toBe(413);
    expect(
      problemOf(() => parseEvents(JSON.stringify(view), { ...limits, maxBodyBytes: 10 }, now)).status,
    ).toBe(413);
  });

  it('rejects oversized fields', () => {
    const parsed = parseEvents(JSON.stringify({ ...view, page: 'x'.repeat(5000) }), limits, now);
    expect(parsed.rejected[0]!.errors[0]!.field).toBe('page');
  });
});

describe('assignEventId', () => {
  it('keeps a client id, and derives the same id for the same timestamped event', () => {
    expect(assignEventId({ ...view, eventId: 'e-1', schemaVersion: 1 } as never)).toBe('e-1');
    const a = assignEventId({ ...view, schemaVersion: 1 } as never);
    const b = assignEventId({ ...view, schemaVersion: 1 } as never);
    expect(a).toBe(b);
    expect(assignEventId({ ...view, productId: 'p2', schemaVersion: 1 } as never)).not.toBe(a);
  });

  it('derives the id from every field in a fixed order, so ids stay stable across releases', () => {
    const full = {
      ...view,
      schemaVersion: 1,
      sessionId: 's1',
      category: 'shoes',
      price: 12.5,
      page: '/p1',
      referrer: 'https://search.example',
      device: 'mobile',
      offerId: 'o1',
      decisionId: 'd1',
    };
    // sha256 of the JSON of the [key, value] pairs sorted by localeCompare, as the first release did.
    expect(assignEventId(full as never)).toBe('h-4675e56ba3a72b038c3cb16f8c1d7aa6');
  });
});

describe('checkMediaType', () => {
  it('accepts JSON and text/plain (sendBeacon), refuses others with 415', () => {
    expect(() => checkMediaType('application/json; charset=utf-8')).not.toThrow();
    expect(() => checkMediaType('text/plain;charset=UTF-8')).not.toThrow();
    expect(problemOf(() => checkMediaType('application/x-www-form-urlencoded')).status).toBe(415);
    expect(problemOf(() => checkMediaType(null)).field).toBe('content-type');
  });
});
