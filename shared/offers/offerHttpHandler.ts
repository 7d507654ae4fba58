import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { corsHeaders, CorsPolicy, isPreflight, optionsResponse, preflightHeaders } from '../http/cors';
import { ID_PATTERN } from '../events/clickstreamEvent';
import { fieldPath, HttpProblem } from '../http/problems';
import { OfferService } from './offerService';

const id = z
  .string({
    error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
  })
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(ID_PATTERN, 'may hold only letters, digits and . : @ | ~ - _');

export const offerRequestSchema = z.object({
  userId: id,
  context: z
    .object({
      category: z.string().max(100).optional(),
      page: z.string().max(2048).optional(),
      device: z.string().max(50).optional(),
    })
    .strict()
    .default({}),
});

const MAX_BODY_BYTES = 16 * 1024;

async function readRequest(request: HttpRequest): Promise<unknown> {
  if (request.method === 'GET') {
    const context: Record<string, string> = {};
    for (const key of ['category', 'page', 'device']) {
      const value = request.query.get(key);
      if (value !== null) context[key] = value;
    }
    return { userId: request.query.get('userId') ?? undefined, context };
  }
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES)
    throw new HttpProblem('payload_too_large', `body exceeds ${MAX_BODY_BYTES} bytes`, '(body)');
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES)
    throw new HttpProblem('payload_too_large', `body exceeds ${MAX_BODY_BYTES} bytes`, '(body)');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpProblem('invalid_json', `body is not valid JSON: ${(error as Error).message}`, '(body)');
  }
}

/** `GET /api/offer?userId=…[&category=…]` and `POST /api/offer` with `{ userId, context }`. */
export function createOfferHandler(
  service: OfferService,
  cors: CorsPolicy,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (isPreflight(request)) {
      const headers = preflightHeaders(request, cors);
      return headers
        ? { status: 204, headers }
        : new HttpProblem('origin_not_allowed', 'origin not allowed').toResponse();
    }
    if (request.method === 'OPTIONS') return optionsResponse(request, cors, 'GET, POST, OPTIONS');
    const headers = { ...corsHeaders(request, cors), 'cache-control': 'no-store' };
    try {
      const parsed = offerRequestSchema.safeParse(await readRequest(request));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = fieldPath('', issue?.path ?? []);
        throw new HttpProblem('invalid_request', `${field} ${issue?.message ?? 'is invalid'}`, field);
      }
      const { response, excluded } = await service.decideWithDetails(parsed.data.userId, parsed.data.context);
      // The decision log: what off-policy evaluation of the offer policy needs.
      context.log(
        JSON.stringify({
          decision: response.decisionId,
          userId: response.userId,
          offerId: response.offer?.offerId ?? null,
          source: response.source,
          propensity: response.propensity,
          excluded,
          degraded: response.degraded,
        }),
      );
      return { status: 200, headers, jsonBody: response };
    } catch (error) {
      if (error instanceof HttpProblem) return error.toResponse(headers);
      throw error;
    }
  };
}
