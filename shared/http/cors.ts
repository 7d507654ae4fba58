import { HttpRequest } from '@azure/functions';

/**
 * CORS for browser callers. Only configured origins get the allow headers; a request from another
 * origin is still processed for non-browser callers (browsers enforce CORS, servers do not), so the
 * check here is about which browsers may read our answers, not about authentication.
 */
export interface CorsPolicy {
  allowedOrigins: readonly string[];
  allowedMethods: readonly string[];
  allowedHeaders: readonly string[];
  maxAgeSeconds: number;
}

export function corsHeaders(request: HttpRequest, policy: CorsPolicy): Record<string, string> {
  const origin = request.headers.get('origin');
  if (origin === null) return {};
  const allowed = policy.allowedOrigins.includes('*') || policy.allowedOrigins.includes(origin);
  if (!allowed) return {};
  return {
    'access-control-allow-origin': policy.allowedOrigins.includes('*') ? '*' : origin,
    vary: 'Origin',
  };
}

export function isPreflight(request: HttpRequest): boolean {
  return request.method === 'OPTIONS' && request.headers.has('access-control-request-method');
}

export function preflightHeaders(
  request: HttpRequest,
  policy: CorsPolicy,
): Record<string, string> | undefined {
  const base = corsHeaders(request, policy);
  if (!('access-control-allow-origin' in base)) return undefined;
  return {
    ...base,
    'access-control-allow-methods': policy.allowedMethods.join(', '),
    'access-control-allow-headers': policy.allowedHeaders.join(', '),
    'access-control-max-age': String(policy.maxAgeSeconds),
  };
}
