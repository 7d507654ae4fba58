import {
  Cookie,
  HttpFunctionOptions,
  HttpHeadersInit,
  HttpMethod,
  HttpRequest,
  HttpRequestInit,
  HttpResponse,
  HttpResponseInit,
} from '@azure/functions';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { BufferedRequest } from './bufferedRequest';
import { compareRoutes, compileRoute, CompiledRoute, matchRoute } from './routes';
import { describeError, Invocations } from './invocations';

/** The real host's request body limit (FUNCTIONS_REQUEST_BODY_SIZE_LIMIT default, 100 MB). */
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;

const DEFAULT_METHODS: readonly HttpMethod[] = ['GET', 'POST'];

interface HttpRoute {
  name: string;
  options: HttpFunctionOptions;
  route: CompiledRoute;
  methods: ReadonlySet<string>;
}

export interface HttpTriggerServerOptions {
  functions: ReadonlyArray<{ name: string; options: HttpFunctionOptions }>;
  routePrefix: string;
  invocations: Invocations;
  maxRequestBodyBytes?: number;
}

/** Compiles the HTTP registrations into a routing table, most specific route first. */
export function buildRoutes(functions: HttpTriggerServerOptions['functions']): HttpRoute[] {
  return functions
    .map(({ name, options }) => ({
      name,
      options,
      route: compileRoute(options.route ?? name),
      methods: new Set((options.methods ?? DEFAULT_METHODS).map((m) => m.toUpperCase())),
    }))
    .sort((a, b) => compareRoutes(a.route, b.route));
}

function splitPath(path: string, prefix: string): string[] | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  const prefixSegments = prefix.split('/').filter((s) => s !== '');
  for (const [i, expected] of prefixSegments.entries()) {
    if (segments[i]?.toLowerCase() !== expected.toLowerCase()) return undefined;
  }
  return segments.slice(prefixSegments.length).map((s) => decodeURIComponent(s));
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

class BodyTooLarge extends Error {}
class ClientAborted extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.once('error', reject);
    // A client that goes away mid-body never sends 'end'; without this the request would count as in
    // flight forever and stop() would never finish.
    req.once('close', () => {
      if (!req.complete) reject(new ClientAborted());
    });
  });
}

/** Header pairs as fetch's Headers takes them; repeated headers are joined as Node's `headers` does. */
function headerPairs(req: IncomingMessage): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    pairs.push([name, Array.isArray(value) ? value.join(', ') : value]);
  }
  return pairs;
}

function serializeCookie(cookie: Cookie): string {
  const parts = [`${cookie.name}=${cookie.value}`];
  if (cookie.domain) parts.push(`Domain=${cookie.domain}`);
  if (cookie.path) parts.push(`Path=${cookie.path}`);
  if (cookie.expires !== undefined) parts.push(`Expires=${new Date(cookie.expires).toUTCString()}`);
  if (cookie.maxAge !== undefined) parts.push(`Max-Age=${cookie.maxAge}`);
  if (cookie.secure) parts.push('Secure');
  if (cookie.httpOnly) parts.push('HttpOnly');
  if (cookie.sameSite) parts.push(`SameSite=${cookie.sameSite}`);
  return parts.join('; ');
}

/**
 * The response headers as Node writes them: names lower-cased, the framing headers left to Node (it sets
 * content-length from the body, as the host does).
 */
function responseHeaders(init: HttpHeadersInit | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const add = (value: string, name: string) => {
    const key = name.toLowerCase();
    if (key !== 'content-length' && key !== 'transfer-encoding') out[key] = value;
  };
  if (init === undefined) return out;
  if (init instanceof Headers) init.forEach(add);
  else if (Array.isArray(init)) for (const [name, value] of init) add(value, name);
  else for (const name of Object.keys(init)) add(init[name]!, name);
  return out;
}

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** Writes what a handler returned, as the worker and host turn it into an HTTP response. */
async function writeResult(res: ServerResponse, result: unknown): Promise<void> {
  if (result === undefined || result === null) {
    res.writeHead(204);
    res.end();
    return;
  }
  if (typeof result !== 'object') {
    throw new TypeError(
      'The HTTP response must be an object with optional properties "body", "status", "headers", and "cookies".',
    );
  }
  let status: number;
  let headers: Record<string, string | string[]>;
  let cookies: readonly Cookie[];
  let body: string | Uint8Array | undefined;
  const init = result as HttpResponseInit;
  // The common shapes (JSON, text, bytes, none) are written directly; anything else (streams, Blob,
  // FormData, an HttpResponse) goes through the library's HttpResponse exactly as the worker does.
  const simpleBody =
    !(result instanceof HttpResponse) &&
    (init.jsonBody !== undefined ||
      init.body === undefined ||
      init.body === null ||
      typeof init.body === 'string' ||
      init.body instanceof Uint8Array);
  if (simpleBody) {
    status = init.status ?? 200;
    headers = responseHeaders(init.headers);
    cookies = init.cookies ?? [];
    if (NULL_BODY_STATUSES.has(status)) {
      body = undefined;
    } else if (init.jsonBody !== undefined) {
      body = JSON.stringify(init.jsonBody);
      headers['content-type'] ??= 'application/json';
    } else if (typeof init.body === 'string') {
      body = init.body;
      headers['content-type'] ??= 'text/plain;charset=UTF-8';
    } else {
      body = init.body instanceof Uint8Array ? init.body : undefined;
    }
  } else {
    const response = result instanceof HttpResponse ? result : new HttpResponse(init);
    status = response.status;
    headers = responseHeaders(response.headers);
    cookies = response.cookies;
    body = NULL_BODY_STATUSES.has(status) ? undefined : new Uint8Array(await response.arrayBuffer());
  }
  if (cookies.length > 0) headers['set-cookie'] = cookies.map(serializeCookie);
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(body);
}

/** An http.Server that serves the HTTP-triggered functions under the route prefix. */
export function createHttpTriggerServer(options: HttpTriggerServerOptions): Server {
  const routes = buildRoutes(options.functions);
  const limit = options.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES;
  const { invocations } = options;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    let segments: string[] | undefined;
    try {
      segments = splitPath(queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt), options.routePrefix);
    } catch {
      sendJson(res, 400, { error: 'malformed percent-encoding in the request path' });
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    let matched: { route: HttpRoute; params: Record<string, string> } | undefined;
    // Built only when a path matches with another method: the 405's Allow header.
    let allowed: Set<string> | undefined;
    for (const route of segments === undefined ? [] : routes) {
      const params = matchRoute(route.route, segments!);
      if (params === undefined) continue;
      if (route.methods.has(method)) {
        matched = { route, params };
        break;
      }
      allowed ??= new Set<string>();
      for (const m of route.methods) allowed.add(m);
    }
    if (!matched) {
      if (allowed !== undefined && allowed.size > 0) {
        sendJson(res, 405, { error: `method ${method} not allowed` }, { allow: [...allowed].join(', ') });
      } else {
        sendJson(res, 404, { error: 'no function serves this path' });
      }
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req, limit);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        sendJson(res, 413, { error: `request body exceeds ${limit} bytes` }, { connection: 'close' });
        return;
      }
      if (error instanceof ClientAborted) return;
      throw error;
    }
    const { route, params } = matched;
    const url = `http://${req.headers.host ?? '127.0.0.1'}${rawUrl}`;
    const headers = headerPairs(req);
    // nativeRequest: see bufferedRequest.ts; it is how the library's own stream mode builds requests.
    // No `headers` in the init: with a nativeRequest the library reads them from it alone.
    const request = new HttpRequest({
      method,
      url,
      params,
      // Without a query string there is nothing for the library to parse out of the URL (a WHATWG URL
      // per request); with one it parses the URL itself, repeated keys included.
      ...(queryAt === -1 ? { query: {} } : {}),
      nativeRequest: new BufferedRequest(url, method, headers, body.length > 0 ? body : undefined),
    } as HttpRequestInit);
    const context = invocations.context(route.name, { type: 'httpTrigger', name: 'request' });
    try {
      const result = await route.options.handler(request, context);
      await writeResult(res, result);
    } catch (error) {
      // Like the real host: the failure is logged with the invocation id and the caller gets a 500.
      invocations.log(
        'error',
        `invocation ${context.invocationId} failed: ${describeError(error)}`,
        route.name,
      );
      if (!res.headersSent) {
        sendJson(res, 500, { error: 'Internal Server Error', invocationId: context.invocationId });
      } else {
        res.destroy();
      }
    }
  }

  const server = createServer((req, res) => {
    void invocations.track(
      handle(req, res).catch((error: unknown) => {
        invocations.log('error', `request ${req.method} ${req.url} failed: ${describeError(error)}`);
        if (!res.headersSent) sendJson(res, 500, { error: 'Internal Server Error' });
        else res.destroy();
      }),
    );
  });
  return server;
}
