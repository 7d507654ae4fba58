import { parseTriggerBatch, TriggerMetadataError } from '../../../shared/aggregation/triggerBatch';
import { MAX_EVENTS_PER_MESSAGE } from '../../../shared/events/hubMessage';

const at = '2026-12-01T12:00:00.000Z';

function event(n: number): Record<string, unknown> {
  return {
    schemaVersion: 1,
    type: 'product_view',
    eventId: `e${n}`,
    userId: 'u1',
    productId: `p${n}`,
    timestamp: at,
    receivedAt: at,
  };
}

function metadata(sequenceNumbers: number[], partitionId = '2') {
  return {
    partitionContext: { PartitionId: partitionId, EventHubName: 'clickstream' },
    sequenceNumberArray: sequenceNumbers,
    enqueuedTimeUtcArray: sequenceNumbers.map(() => at),
  };
}

describe('parseTriggerBatch', () => {
  it('reads each event of a message that holds an array, at its own position', () => {
    const batch = parseTriggerBatch(
      [JSON.stringify([event(1), event(2)]), JSON.stringify(event(3))],
      metadata([40, 41]),
      'fallback',
    );
    expect(batch.eventHubName).toBe('clickstream');
    expect(batch.unprocessable).toEqual([]);
    expect(batch.events.map((e) => [e.event.eventId, e.sequenceNumber, e.position])).toEqual([
      ['e1', 40, 40_000],
      ['e2', 40, 40_001],
      ['e3', 41, 41_000],
    ]);
  });

  it('sets aside an invalid event of a message and keeps its neighbours', () => {
    const { userId: _missing, ...withoutUser } = event(2);
    const batch = parseTriggerBatch([[event(1), withoutUser, event(3)]], metadata([7]), 'clickstream');
    expect(batch.events.map((e) => e.position)).toEqual([7_000, 7_002]);
    expect(batch.unprocessable).toEqual([
      expect.objectContaining({
        partitionId: '2',
        sequenceNumber: 7,
        position: 7_001,
        reason: expect.stringContaining('userId') as unknown,
        body: withoutUser,
      }),
    ]);
  });

  it('sets aside, whole, a message that is not JSON or holds more events than a message may', () => {
    const tooMany = Array.from({ length: MAX_EVENTS_PER_MESSAGE + 1 }, (_, n) => event(n));
    const batch = parseTriggerBatch(['{not json', tooMany], metadata([1, 2]), 'clickstream');
    expect(batch.events).toEqual([]);
    expect(batch.unprocessable.map((u) => [u.position, u.reason.split(':')[0]])).toEqual([
      [1_000, 'not JSON'],
      [2_000, `a message of more than ${MAX_EVENTS_PER_MESSAGE} events`],
    ]);
  });

  it('refuses metadata that does not match the messages', () => {
    expect(() => parseTriggerBatch([event(1)], metadata([1, 2]), 'clickstream')).toThrow(
      TriggerMetadataError,
    );
    expect(() => parseTriggerBatch(event(1), metadata([1]), 'clickstream')).toThrow(TriggerMetadataError);
  });
});
