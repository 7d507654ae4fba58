import { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { corsHeaders, CorsPolicy, isPreflight, optionsResponse, preflightHeaders } from '../http/cors';
import { HttpProblem } from '../http/problems';
import { EventPublisher } from './eventPublisher';
import { ingestEvents } from './ingestEvents';
import { checkDeclaredLength, checkMediaType, IngestLimits, readBodyText } from './parseEvents';

export interface IngestHandlerDependencies {
  publisher: EventPublisher;
  limits: IngestLimits;
  cors: CorsPolicy;
  now?: () => Date;
}

/** Who may call `POST /api/events` from a browser: the configured origins, with a 10-minute preflight cache. */
export function ingestCorsPolicy(allowedOrigins: CorsPolicy['allowedOrigins']): CorsPolicy {
  return {
    allowedOrigins,
    allowedMethods: ['POST', 'OPTIONS'],
    allowedHeaders: ['content-type', 'x-functions-key'],
    maxAgeSeconds: 600,
  };
}

/**
 * `POST /api/events` (browsers) and `POST /api/server/events` (servers, with a function key): maps HTTP to
 * `ingestEvents` and back. See docs/api.md for the status codes.
 */
export function createIngestHandler(
  deps: IngestHandlerDependencies,
): (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit> {
  const now = deps.now ?? (() => new Date());
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    if (isPreflight(request)) {
      const headers = preflightHeaders(request, deps.cors);
      return headers
        ? { status: 204, headers }
        : new HttpProblem('origin_not_allowed', 'origin not allowed').toResponse();
    }
    if (request.method === 'OPTIONS') return optionsResponse(request, deps.cors, 'POST, OPTIONS');
    const cors = corsHeaders(request, deps.cors);
    try {
      if (request.method !== 'POST') {
        throw new HttpProblem(
          'method_not_allowed',
          `${request.method} is not allowed; use POST`,
          undefined,
          undefined,
          {
            allow: 'POST, OPTIONS',
          },
        );
      }
      checkMediaType(request.headers.get('content-type'));
      checkDeclaredLength(request.headers.get('content-length'), deps.limits);
      const body = await readBodyText(request, deps.limits);
      const { report, publishError } = await ingestEvents(body, deps.limits, deps.publisher, now());
      if (report.status === 503) {
        context.warn(
          `ingest: event hub refused ${report.results.length - report.accepted - report.rejected} events` +
            (publishError === undefined ? '' : `: ${publishError}`),
        );
        return { status: 503, headers: { ...cors, 'retry-after': '2' }, jsonBody: report };
      }
      if (report.rejected > 0) {
        context.log(`ingest: accepted ${report.accepted}, rejected ${report.rejected}`);
      }
      return { status: report.status, headers: cors, jsonBody: report };
    } catch (error) {
      if (error instanceof HttpProblem) {
        if (error.status >= 500) context.warn(`ingest: ${error.message}`);
        return error.toResponse(cors);
      }
      throw error;
    }
  };
}
