import { AddressInfo, connect, createServer } from 'node:net';
import { errorMessage, hasStatus } from '../../shared/errors';

describe('errorMessage', () => {
  it("keeps an error's first line, and the whole value when it has no message", () => {
    expect(errorMessage(new Error('The specified blob does not exist.\nRequestId:1\nTime:2'))).toBe(
      'The specified blob does not exist.',
    );
    expect(errorMessage('plain text')).toBe('plain text');
    expect(errorMessage(undefined)).toBe('undefined');
  });

  it('says what an error with an empty message holds: its errors, else its code or name', () => {
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    expect(
      errorMessage(new AggregateError([refused('127.0.0.1:1'), refused('::1:1'), refused('::1:1')], '')),
    ).toBe('connect ECONNREFUSED 127.0.0.1:1; connect ECONNREFUSED ::1:1');
    expect(errorMessage(Object.assign(new Error(''), { code: 'ETIMEDOUT' }))).toBe('ETIMEDOUT');
    expect(errorMessage(new TypeError(''))).toBe('TypeError');
  });

  it('reads an AggregateError that holds itself without recursing forever', () => {
    const cycle = new AggregateError([], '');
    cycle.errors.push(cycle, Object.assign(new Error(''), { code: 'ECONNRESET' }));
    expect(errorMessage(cycle)).toBe('ECONNRESET');
  });

  it("reads what Node's own connect gives when every address of a host refuses", async () => {
    // A port that was just free: nothing listens on it now.
    const port = await new Promise<number>((resolve) => {
      const server = createServer();
      server.listen(0, '127.0.0.1', () => {
        const { port: free } = server.address() as AddressInfo;
        server.close(() => resolve(free));
      });
    });
    // Two addresses for the host, tried in turn: Node reports the refusals as an AggregateError with an
    // empty message (the ::1 attempt fails as refused or as unreachable, as the machine has IPv6 or not).
    const error = await new Promise<unknown>((resolve) => {
      const socket = connect({
        host: 'twice.test',
        port,
        autoSelectFamily: true,
        lookup: (_host, _options, callback) =>
          (callback as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [
            { address: '127.0.0.1', family: 4 },
            { address: '::1', family: 6 },
          ]),
      });
      socket.once('error', resolve);
    });
    expect((error as Error).message).toBe('');
    expect(errorMessage(error)).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+; connect E[A-Z]+ ::1/);
  });
});

describe('hasStatus', () => {
  it("matches an SDK error's statusCode", () => {
    expect(hasStatus({ statusCode: 412 }, 404, 412)).toBe(true);
    expect(hasStatus({ statusCode: 500 }, 404, 412)).toBe(false);
    expect(hasStatus(new Error('x'), 404)).toBe(false);
  });
});
