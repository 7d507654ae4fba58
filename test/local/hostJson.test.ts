import { join } from 'node:path';
import { hostConfigFrom, parseTimeSpan, readHostJson } from '../../local/hostJson';

describe('host.json', () => {
  it('reads the repository host.json', () => {
    const config = readHostJson(join(__dirname, '../../host.json'));
    expect(config.http.routePrefix).toBe('api');
    expect(config.eventHubs.initialOffset).toEqual({ type: 'fromStart' });
    expect(config.eventHubs.maxEventBatchSize).toBeGreaterThan(0);
  });

  it("applies the real host's defaults", () => {
    expect(hostConfigFrom({})).toEqual({
      http: { routePrefix: 'api' },
      eventHubs: {
        maxEventBatchSize: 100,
        maxWaitTimeMs: 60_000,
        batchCheckpointFrequency: 1,
        prefetchCount: 300,
        initialOffset: { type: 'fromStart' },
      },
    });
    expect(hostConfigFrom({ extensions: { http: { routePrefix: '' } } }).http.routePrefix).toBe('');
  });

  it('parses TimeSpans and names the field of a bad value', () => {
    expect(parseTimeSpan('00:00:01', 'f')).toBe(1000);
    expect(parseTimeSpan('1.02:03:04.5', 'f')).toBe(((26 * 60 + 3) * 60 + 4) * 1000 + 500);
    expect(() => hostConfigFrom({ extensions: { eventHubs: { maxWaitTime: '5s' } } })).toThrow(
      /extensions.eventHubs.maxWaitTime: '5s' is not a TimeSpan/,
    );
    expect(() => hostConfigFrom({ extensions: { eventHubs: { maxEventBatchSize: 0 } } })).toThrow(
      /extensions.eventHubs.maxEventBatchSize/,
    );
  });
});
