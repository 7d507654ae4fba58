import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { corsHeaders, CorsPolicy, isPreflight, optionsResponse, preflightHeaders } from '../http/cors';
import { ID_PATTERN } from '../events/clickstreamEvent';
import { fieldPath, HttpProblem, requestParseOptions } from '../http/problems';
import { OfferService } from './offerService';

// Missing or wrongly typed fields get "is required" / "must be a string" from requestFieldMessages.
const id = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(ID_PATTERN, 'may hold only letters, digits and . : @ | ~ - _');

/** A context field: free text, bounded. */
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`).optional();

const contextFields = {
  category: text(100),
  page: text(2048),
  device: text(50),
};

/** `POST /api/offer`: `{ userId, context }`. */
export const offerRequestSchema = z.object(
  {
    userId: id,
    context: z
      .strictObject(contextFields, {
        error: (issue) =>
          issue.code === 'unrecognized_keys'
            ? `may hold only ${Object.keys(contextFields).join(', ')}`
            : 'must be an object',
      })
      .default({}),
  },
  { error: 'must be a JSON object' },
);

/**
 * `GET /api/offer?userId=…&category=…`: the same fields as query parameters, validated under the names
 * the caller sent, so that an error names the parameter (`category`), not where it ends up
 * (`context.category`).
 */
const offerQuerySchema = z
  .object({ userId: id, ...contextFields })
  .transform(({ userId, ...context }) => ({ userId, context }));

const queryParameters = ['userId', ...Object.keys(contextFields)];

const MAX_BODY_BYTES = 16 * 1024;

async function readBody(request: HttpRequest): Promise<unknown> {
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

/** The request's user and context, from the query (GET) or the body (POST); 400 naming the field. */
async function readRequest(request: HttpRequest): Promise<z.output<typeof offerRequestSchema>> {
  let parsed;
  if (request.method === 'GET') {
    const query: Record<string, string> = {};
    for (const key of queryParameters) {
      const value = request.query.get(key);
      if (value !== null) query[key] = value;
    }
    parsed = offerQuerySchema.safeParse(query, requestParseOptions);
  } else {
    parsed = offerRequestSchema.safeParse(await readBody(request), requestParseOptions);
  }
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = fieldPath('', issue?.path ?? []);
  throw new HttpProblem('invalid_request', `${field} ${issue?.message ?? 'is invalid'}`, field);
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
      const { userId, context: decisionContext } = await readRequest(request);
      const { response, excluded } = await service.decideWithDetails(userId, decisionContext);
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
      // A failure nobody foresaw (the decision degrades around every dependency): still an answer the
      // browser may read, in the API's problem shape, rather than the host's bare 500 without CORS headers.
      context.error(
        `offer: the decision failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      return new HttpProblem('internal_error', 'the offer could not be decided').toResponse(headers);
    }
  };
}
