import {
  deadLetterBlobName,
  parseDeadLetterRecord,
  pendingPrefix,
} from '../../../shared/archive/eventArchive';

describe('parseDeadLetterRecord', () => {
  const whole = {
    eventHubName: 'clickstream',
    partitionId: '3',
    sequenceNumber: 42,
    position: 42_003,
    enqueuedTime: '2026-12-01T10:00:00.000Z',
    reason: 'aggregation failed: 503',
    body: { type: 'product_view' },
    deadLetteredAt: '2026-12-01T10:00:01.000Z',
  };

  it('reads a record the archive wrote', () => {
    expect(parseDeadLetterRecord(JSON.stringify(whole))).toEqual(whole);
  });

  it('refuses text that is not a record, rather than throwing', () => {
    expect(parseDeadLetterRecord('not json')).toBeUndefined();
    expect(parseDeadLetterRecord('null')).toBeUndefined();
    expect(parseDeadLetterRecord(JSON.stringify({ ...whole, sequenceNumber: '42' }))).toBeUndefined();
    const { position: _position, ...withoutPosition } = whole;
    expect(parseDeadLetterRecord(JSON.stringify(withoutPosition))).toBeUndefined();
    const { partitionId: _left, ...withoutPartition } = whole;
    expect(parseDeadLetterRecord(JSON.stringify(withoutPartition))).toBeUndefined();
  });
});

describe('where held events and dead letters live', () => {
  it('keeps held events apart from the dated dead letters of the same partition', () => {
    const held = pendingPrefix('clickstream', '3');
    // Named by position: the 4th event of message 42.
    const dead = deadLetterBlobName('clickstream', '3', new Date('2026-12-01T10:00:00Z'), 42_003);
    expect(held).toBe('clickstream/3/pending/');
    expect(dead).toBe('clickstream/3/2026/12/01/00000000000000042003.json');
    expect(dead.startsWith(held)).toBe(false);
    // A replay with the partition's prefix sees both.
    expect(held.startsWith('clickstream/3/') && dead.startsWith('clickstream/3/')).toBe(true);
  });
});
