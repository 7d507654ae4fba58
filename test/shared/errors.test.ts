import { connect } from 'node:net';
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

  it("reads what Node's own connect to a refusing port gives", async () => {
    // 'localhost' may resolve to both ::1 and 127.0.0.1; either way the message names the refusal.
    const error = await new Promise<unknown>((resolve) => {
      const socket = connect({ host: 'localhost', port: 1 });
      socket.once('error', resolve);
    });
    expect(errorMessage(error)).toMatch(/ECONNREFUSED/);
  });
});

describe('hasStatus', () => {
  it("matches an SDK error's statusCode", () => {
    expect(hasStatus({ statusCode: 412 }, 404, 412)).toBe(true);
    expect(hasStatus({ statusCode: 500 }, 404, 412)).toBe(false);
    expect(hasStatus(new Error('x'), 404)).toBe(false);
  });
});
