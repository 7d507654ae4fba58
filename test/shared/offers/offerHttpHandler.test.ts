import { HttpRequest, InvocationContext } from '@azure/functions';
import { createOfferHandler } from '../../../shared/offers/offerHttpHandler';
import { OfferService } from '../../../shared/offers/offerService';

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
const handler = createOfferHandler(service, {
  allowedOrigins: ['https://shop.example'],
  allowedMethods: ['GET', 'POST', 'OPTIONS'],
  allowedHeaders: ['content-type'],
  maxAgeSeconds: 600,
});
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
