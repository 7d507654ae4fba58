import {
  eventPosition,
  eventsInMessage,
  MAX_EVENTS_PER_MESSAGE,
  messageSequenceNumber,
} from '../../../shared/events/hubMessage';

describe('eventPosition', () => {
  it('orders events by message, then by place in the message, and reads plainly', () => {
    expect(eventPosition(1234, 5)).toBe(1_234_005);
    expect(eventPosition(7, MAX_EVENTS_PER_MESSAGE - 1)).toBeLessThan(eventPosition(8, 0));
  });

  it('gives back the message of a position', () => {
    expect(messageSequenceNumber(eventPosition(1234, 5))).toBe(1234);
    expect(messageSequenceNumber(eventPosition(1234, MAX_EVENTS_PER_MESSAGE - 1))).toBe(1234);
  });

  it('stays exact for sequence numbers far beyond any partition’s lifetime', () => {
    const sequenceNumber = 9_000_000_000_000; // 9 × 10^12 messages: 285 years at 1,000 per second
    const position = eventPosition(sequenceNumber, MAX_EVENTS_PER_MESSAGE - 1);
    expect(Number.isSafeInteger(position)).toBe(true);
    expect(position - eventPosition(sequenceNumber, 0)).toBe(MAX_EVENTS_PER_MESSAGE - 1);
  });
});

describe('eventsInMessage', () => {
  it('reads an array as its events and anything else as one event', () => {
    expect(eventsInMessage([{ a: 1 }, { b: 2 }])).toEqual([{ a: 1 }, { b: 2 }]);
    expect(eventsInMessage({ a: 1 })).toEqual([{ a: 1 }]);
    expect(eventsInMessage('text')).toEqual(['text']);
  });

  it('refuses an array of more events than a message may hold', () => {
    expect(eventsInMessage(new Array(MAX_EVENTS_PER_MESSAGE).fill({}))).toHaveLength(MAX_EVENTS_PER_MESSAGE);
    expect(eventsInMessage(new Array(MAX_EVENTS_PER_MESSAGE + 1).fill({}))).toBeUndefined();
  });
});
