import { OfferClient } from '../../../shared/simulation/offerClient';
import { sendJson, startTestServer, TestServer } from './testServer';

describe('OfferClient', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  const never = new AbortController().signal;

  it('asks GET /api/offer for the user with the function key and returns the decision', async () => {
    server = await startTestServer((request, response) =>
      sendJson(response, 200, {
        decisionId: 'dec-1',
        userId: request.query.get('userId'),
        source: 'model',
        offer: { offerId: 'o0001', title: 'x', productIds: ['p0001'], categories: ['books'], score: 0.7 },
        score: 0.7,
        propensity: 0.9,
        runnersUp: [{ offerId: 'o0002', score: 0.5 }],
        modelVersion: 'v1',
      }),
    );
    const client = new OfferClient({ baseUrl: server.baseUrl, functionKey: 'k' });
    await expect(
      client.request('u00001', { category: 'books', page: '/products/p0001', device: 'mobile' }, never),
    ).resolves.toEqual({
      decisionId: 'dec-1',
      source: 'model',
      offer: { offerId: 'o0001', productIds: ['p0001'], categories: ['books'] },
    });
    expect(server.requests[0]).toMatchObject({ method: 'GET', path: '/api/offer' });
    expect(Object.fromEntries(server.requests[0]!.query)).toEqual({
      userId: 'u00001',
      category: 'books',
      page: '/products/p0001',
      device: 'mobile',
    });
    expect(server.requests[0]!.headers['x-functions-key']).toBe('k');
    expect(client.totals).toMatchObject({ requested: 1, withOffer: 1, failed: 0, bySource: { model: 1 } });
  });

  it('passes on "no offer" and counts unusable answers as failures with the reason', async () => {
    const answers: Array<[number, unknown]> = [
      [200, { decisionId: 'd', source: 'fallback', offer: null }],
      [500, { error: 'boom' }],
      [200, { source: 'model', offer: { offerId: 'o1' } }],
      [200, { decisionId: 'd', offer: null }],
    ];
    server = await startTestServer((_request, response) => {
      const [status, body] = answers.shift()!;
      sendJson(response, status, body);
    });
    const client = new OfferClient({ baseUrl: server.baseUrl });
    await expect(client.request('u1', {}, never)).resolves.toEqual({
      decisionId: 'd',
      source: 'fallback',
      offer: null,
    });
    await expect(client.request('u1', {}, never)).resolves.toBeUndefined();
    await expect(client.request('u1', {}, never)).resolves.toBeUndefined();
    await expect(client.request('u1', {}, never)).resolves.toBeUndefined();
    expect(client.totals).toMatchObject({ requested: 4, withoutOffer: 1, withOffer: 0, failed: 3 });
    expect(client.totals.errors).toEqual([
      'HTTP 500: {"error":"boom"}',
      'offer response has an offer but no decisionId',
      'unexpected offer response at source: Invalid input: expected string, received undefined',
    ]);
  });
});
