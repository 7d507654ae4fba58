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
  const anyOrigin = policy.allowedOrigins.includes('*');
  // With a list, the answer depends on the Origin header whether or not it is on the list (or sent at
  // all): `Vary: Origin` always, or a shared cache could hand one origin's answer to another.
  const vary: Record<string, string> = anyOrigin ? {} : { vary: 'Origin' };
  const origin = request.headers.get('origin');
  if (origin === null) return vary;
  if (!anyOrigin && !policy.allowedOrigins.includes(origin)) return vary;
  return { 'access-control-allow-origin': anyOrigin ? '*' : origin, ...vary };
}

/**
 * An OPTIONS request that is not a CORS preflight asks which methods the resource takes: 204 with
 * `Allow`, as HTTP describes it.
 */
export function optionsResponse(
  request: HttpRequest,
  policy: CorsPolicy,
  allow: string,
): { status: 204; headers: Record<string, string> } {
  return { status: 204, headers: { ...corsHeaders(request, policy), allow } };
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
