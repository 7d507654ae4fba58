import { createRedisClient } from '../../../shared/runtime/clients';

// @azure/functions warns on every registration outside the real host; that is expected here.
jest.spyOn(console, 'warn').mockImplementation(() => undefined);

describe('createRedisClient', () => {
  it('leaves no timer behind once disconnected from a Redis it could not reach', async () => {
    // Nothing listens on port 1: the connection is refused, as when Redis is down at shutdown.
    const client = createRedisClient('redis://127.0.0.1:1');
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('reconnecting', resolve));
    // ioredis ends the socket on disconnect and arms a timer to destroy it should it not close. A socket
    // that had already closed never does, so that timer alone holds a shutting-down process its whole length.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask', 'clearTimeout'] });
    try {
      client.disconnect();
      jest.advanceTimersByTime(250);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
