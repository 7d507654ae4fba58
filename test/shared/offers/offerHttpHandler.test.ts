import { HttpRequest, InvocationContext } from '@azure/functions';
import { CorsPolicy } from '../../../shared/http/cors';
import { offerSchema } from '../../../shared/offers/offerCatalog';
import { createOfferHandler } from '../../../shared/offers/offerHttpHandler';
import { OfferService, OfferServiceDependencies } from '../../../shared/offers/offerService';

// These requests are answered before any decision: a service that is reached fails the test.
const notReached = () => Promise.reject(new Error('the decision was not expected to run'));
const service = new OfferService({
  catalog: notReached,
  offerStats: notReached,
  readProfile: notReached,
  scorer: { score: notReached },
  coldStart: { topProducts: notReached, replace: notReached },
  fallbackScores: notReached,
  dependencyTimeoutMs: 100,
  explorationRate: 0,
});
const cors: CorsPolicy = {
  allowedOrigins: ['https://shop.example'],
  allowedMethods: ['GET', 'POST', 'OPTIONS'],
  allowedHeaders: ['content-type'],
  maxAgeSeconds: 600,
};
const handler = createOfferHandler(service, cors);
const context = () => new InvocationContext({ functionName: 'offer', logHandler: () => undefined });
const request = (method: string, body?: string) =>
  new HttpRequest({
    method,
    url: 'http://localhost/api/offer',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: { string: body } }),
  });

describe('GET|POST /api/offer before the decision', () => {
  it('answers an OPTIONS that is no CORS preflight with the methods it takes', async () => {
    const response = await handler(request('OPTIONS'), context());
    expect(response.status).toBe(204);
    expect((response.headers as Record<string, string>).allow).toBe('GET, POST, OPTIONS');
  });

  it('names the field and says what is wrong with it', async () => {
    const problem = async (body: string) => {
      const response = await handler(request('POST', body), context());
      expect(response.status).toBe(400);
      return (response.jsonBody as { error: { field?: string; message: string } }).error;
    };
    expect(await problem('{"userId": 5}')).toMatchObject({
      field: 'userId',
      message: 'userId must be a string',
    });
    expect(await problem('{}')).toMatchObject({ field: 'userId', message: 'userId is required' });
    expect(await problem('{"userId": "a b"}')).toMatchObject({ field: 'userId' });
  });
});

describe('GET /api/offer before the decision', () => {
  const problem = async (query: string) => {
    const response = await handler(
      new HttpRequest({ method: 'GET', url: `http://localhost/api/offer?${query}` }),
      context(),
    );
    expect(response.status).toBe(400);
    return (response.jsonBody as { error: { code: string; field?: string; message: string } }).error;
  };

  it('names the query parameter the caller sent', async () => {
    expect(await problem(`userId=u1&category=${'c'.repeat(101)}`)).toEqual({
      code: 'invalid_request',
      field: 'category',
      message: 'category must be at most 100 characters',
    });
    expect(await problem(`userId=u1&device=${'d'.repeat(51)}`)).toMatchObject({
      field: 'device',
      message: 'device must be at most 50 characters',
    });
    expect(await problem(`userId=u1&page=${'p'.repeat(2049)}`)).toMatchObject({
      field: 'page',
      message: 'page must be at most 2048 characters',
    });
    expect(await problem('category=shoes')).toMatchObject({ field: 'userId', message: 'userId is required' });
    expect(await problem('userId=')).toMatchObject({ field: 'userId', message: 'userId must not be empty' });
    expect(await problem(`userId=${'u'.repeat(129)}`)).toMatchObject({ field: 'userId' });
    expect(await problem('userId=a%20b')).toMatchObject({ field: 'userId' });
  });

  it('still names the body field of a POST', async () => {
    const response = await handler(
      request('POST', JSON.stringify({ userId: 'u1', context: { category: 'c'.repeat(101) } })),
      context(),
    );
    expect(response.status).toBe(400);
    expect(response.jsonBody).toMatchObject({
      error: { field: 'context.category', message: 'context.category must be at most 100 characters' },
    });
  });
});

describe('GET /api/offer when something is wrong behind it', () => {
  const offer = offerSchema.parse({ offerId: 'offer-shoes', title: 'shoes', productIds: ['shoes-1'] });
  const deciding = (overrides: Partial<OfferServiceDependencies>) =>
    createOfferHandler(
      new OfferService({
        catalog: async () => [offer],
        offerStats: async () => new Map(),
        readProfile: async () => undefined,
        scorer: { score: notReached },
        coldStart: { topProducts: async () => new Map([['shoes-1', 1]]), replace: notReached },
        fallbackScores: notReached,
        dependencyTimeoutMs: 1000,
        explorationRate: 0,
        ...overrides,
      }),
      cors,
    );
  const fromTheShop = () =>
    new HttpRequest({
      method: 'GET',
      url: 'http://localhost/api/offer?userId=u1',
      headers: { origin: 'https://shop.example' },
    });

  it('decides without the history of a stored profile that is invalid', async () => {
    const log: string[] = [];
    const response = await deciding({
      // As stored by hand: a history, but none of the other fields of a profile.
      readProfile: async (userId) => ({
        id: userId,
        userId,
        products: { 'shoes-1': { views: 1, clicks: 0, carts: 0, purchases: 0, affinity: 1, lastAt: '' } },
      }),
      log: (message) => log.push(message),
    })(fromTheShop(), context());
    expect(response.status).toBe(200);
    expect(response.headers).toMatchObject({ 'access-control-allow-origin': 'https://shop.example' });
    expect(response.jsonBody).toMatchObject({
      source: 'cold-start',
      offer: { offerId: 'offer-shoes' },
      degraded: ['profile'],
    });
    // The first field the offer path reads that is wrong (watermarks and the rest it does not read).
    expect(log).toEqual([
      expect.stringMatching(/user u1 is invalid: eventCounts expected object, received undefined;/),
    ]);
  });

  it('answers a failure nobody foresaw with a problem body the browser may read', async () => {
    const errors: unknown[] = [];
    const invocation = new InvocationContext({
      functionName: 'offer',
      logHandler: (level, ...args) => {
        if (level === 'error') errors.push(...args);
      },
    });
    const response = await deciding({
      random: () => {
        throw new Error('a bug in the decision');
      },
    })(fromTheShop(), invocation);
    expect(response.status).toBe(500);
    expect(response.headers).toMatchObject({
      'access-control-allow-origin': 'https://shop.example',
      'cache-control': 'no-store',
    });
    expect(response.jsonBody).toEqual({
      error: { code: 'internal_error', message: 'the offer could not be decided' },
    });
    expect(errors).toEqual([expect.stringContaining('a bug in the decision')]);
  });
});
