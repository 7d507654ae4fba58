import { HttpHandler, HttpRequest, HttpResponse, InvocationContext, LogLevel } from '@azure/functions';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FunctionsHost, loadFunctionModules, startFunctionsHost } from '../../local/host';
import { listRegistrations, onShutdown, registerHttp } from '../../shared/hosting/registry';
import { temporaryDirectory } from '../support/temporaryDirectory';

interface Seen {
  method: string;
  url: string;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  invocationId: string;
  functionName: string;
}

// @azure/functions warns on every registration outside the real host; that is expected here.
jest.spyOn(console, 'warn').mockImplementation(() => undefined);

const seen: Seen[] = [];
const logs: Array<{ level: LogLevel; message: string; functionName?: string; invocationId?: string }> = [];
let releaseSlow: () => void = () => undefined;
let slowStarted: () => void = () => undefined;

async function record(request: HttpRequest, context: InvocationContext): Promise<void> {
  seen.push({
    method: request.method,
    url: request.url,
    params: { ...request.params },
    query: Object.fromEntries(request.query.entries()),
    headers: Object.fromEntries(request.headers.entries()),
    body: await request.text(),
    invocationId: context.invocationId,
    functionName: context.functionName,
  });
}

registerHttp('echo', {
  route: 'items/{id}/{variant?}',
  methods: ['GET', 'PUT'],
  handler: async (request, context) => {
    await record(request, context);
    context.log('echo', request.params.id);
    return {
      status: 201,
      jsonBody: { id: request.params.id, variant: request.params.variant ?? null },
      headers: { 'x-test': 'yes' },
    };
  },
});
registerHttp('framing', {
  route: 'framing',
  methods: ['GET'],
  // Header names in any case, and framing headers that would contradict the body actually written.
  handler: () => ({
    jsonBody: { ok: true },
    headers: { 'Content-Type': 'application/problem+json', 'Content-Length': '999', 'X-Mixed': 'kept' },
  }),
});
registerHttp('itemsList', {
  route: 'items/list',
  methods: ['GET'],
  handler: () => ({ body: 'the list' }),
});
registerHttp('upload', {
  methods: ['POST'],
  handler: async (request, context) => {
    await record(request, context);
    return {
      body: new Uint8Array([1, 2, 3]),
      headers: [['content-type', 'application/octet-stream']],
      cookies: [{ name: 'sid', value: 'abc', path: '/', httpOnly: true, sameSite: 'Lax', maxAge: 60 }],
    };
  },
});
// HttpRequest.clone() copies the request from its init: what the host passes must be enough for it.
registerHttp('cloned', {
  route: 'cloned/{id}',
  methods: ['POST'],
  handler: async (request) => {
    const copy = request.clone();
    return {
      jsonBody: {
        original: await request.text(),
        copy: {
          method: copy.method,
          url: copy.url,
          id: copy.params.id,
          query: copy.query.get('q'),
          header: copy.headers.get('x-custom'),
          body: await copy.text(),
        },
      },
    };
  },
});
registerHttp('classResponse', {
  route: 'class',
  handler: () =>
    new HttpResponse({ status: 202, body: 'accepted', headers: { 'content-type': 'text/x-custom' } }),
});
// The types demand a response, but a JavaScript handler may return nothing; the host answers 204.
registerHttp('nothing', { handler: (() => undefined) as unknown as HttpHandler });
registerHttp('broken', {
  handler: () => {
    throw new Error('kaboom');
  },
});
registerHttp('slow', {
  handler: async () => {
    slowStarted();
    await new Promise<void>((resolve) => (releaseSlow = resolve));
    return { jsonBody: { done: true } };
  },
});

let shutdownHookRuns = 0;
onShutdown(async () => {
  shutdownHookRuns += 1;
  await Promise.resolve();
});

let host: FunctionsHost;

beforeAll(async () => {
  host = await startFunctionsHost({
    port: 0,
    registrations: listRegistrations(),
    hostJson: { extensions: { http: { routePrefix: 'api' } } },
    log: (level, message, functionName, invocationId) =>
      logs.push({ level, message, functionName, ...(invocationId === undefined ? {} : { invocationId }) }),
    maxRequestBodyBytes: 1024,
  });
});

afterAll(async () => {
  await host.stop();
});

beforeEach(() => {
  seen.length = 0;
  logs.length = 0;
});

describe('local Functions host: HTTP triggers', () => {
  it('routes {param} and {param?} templates under the prefix and maps request and response', async () => {
    const response = await fetch(`${host.url}/api/items/42/blue?x=1&y=two`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', 'x-custom': 'v' },
      body: 'payload',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-test')).toBe('yes');
    expect(await response.json()).toEqual({ id: '42', variant: 'blue' });
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request).toMatchObject({
      method: 'PUT',
      params: { id: '42', variant: 'blue' },
      query: { x: '1', y: 'two' },
      body: 'payload',
      functionName: 'echo',
    });
    expect(request!.url).toBe(`${host.url}/api/items/42/blue?x=1&y=two`);
    expect(request!.headers['x-custom']).toBe('v');
    expect(request!.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    // The function's own lines carry its invocation id.
    expect(logs).toContainEqual({
      level: 'information',
      message: 'echo 42',
      functionName: 'echo',
      invocationId: request!.invocationId,
    });

    const withoutOptional = await fetch(`${host.url}/api/ITEMS/7`);
    expect(await withoutOptional.json()).toEqual({ id: '7', variant: null });
    expect(seen[1]).toMatchObject({ query: {}, url: `${host.url}/api/ITEMS/7` });
  });

  it('prefers a literal route over a parameter route, and a function without route uses its name', async () => {
    const list = await fetch(`${host.url}/api/items/list`);
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    expect(await list.text()).toBe('the list');

    const upload = await fetch(`${host.url}/api/upload`, { method: 'POST', body: Buffer.from('{"a":1}') });
    expect(upload.status).toBe(200);
    expect(upload.headers.get('content-type')).toBe('application/octet-stream');
    expect(upload.headers.get('set-cookie')).toBe('sid=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Lax');
    expect([...new Uint8Array(await upload.arrayBuffer())]).toEqual([1, 2, 3]);
    expect(seen[0]!.body).toBe('{"a":1}');
  });

  it('hands functions a request that clones with its method, url, params, query, headers and body', async () => {
    const response = await fetch(`${host.url}/api/cloned/9?q=search`, {
      method: 'POST',
      headers: { 'x-custom': 'kept' },
      body: 'both read it',
    });
    expect(await response.json()).toEqual({
      original: 'both read it',
      copy: {
        method: 'POST',
        url: `${host.url}/api/cloned/9?q=search`,
        id: '9',
        query: 'search',
        header: 'kept',
        body: 'both read it',
      },
    });
  });

  it('writes HttpResponse instances and answers 204 when the handler returns nothing', async () => {
    const response = await fetch(`${host.url}/api/class`);
    expect(response.status).toBe(202);
    expect(response.headers.get('content-type')).toBe('text/x-custom');
    expect(await response.text()).toBe('accepted');

    const nothing = await fetch(`${host.url}/api/nothing`);
    expect(nothing.status).toBe(204);
    expect(await nothing.text()).toBe('');
  });

  it("keeps a handler's content-type whatever the case of its name, and sets content-length from the body", async () => {
    const response = await fetch(`${host.url}/api/framing`);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('content-length')).toBe(String('{"ok":true}'.length));
    expect(response.headers.get('x-mixed')).toBe('kept');
    expect(await response.json()).toEqual({ ok: true });
  });

  it('answers 404 for unknown paths and 405 with Allow for a wrong method', async () => {
    expect((await fetch(`${host.url}/api/missing`)).status).toBe(404);
    expect((await fetch(`${host.url}/items/42`)).status).toBe(404); // no prefix
    expect((await fetch(`${host.url}/api/items/1/2/3`)).status).toBe(404);
    const wrongMethod = await fetch(`${host.url}/api/upload`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect(await wrongMethod.json()).toEqual({ error: 'method GET not allowed' });
  });

  it('turns a thrown error into a 500 with a JSON body, logged with the invocation id', async () => {
    const response = await fetch(`${host.url}/api/broken`);
    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: string; invocationId: string };
    expect(body.error).toBe('Internal Server Error');
    const logged = logs.find((line) => line.level === 'error' && line.functionName === 'broken');
    expect(logged?.message).toContain(body.invocationId);
    expect(logged?.message).toContain('kaboom');
  });

  it('refuses a body over the limit with 413 without invoking the function', async () => {
    const response = await fetch(`${host.url}/api/upload`, { method: 'POST', body: 'x'.repeat(1025) });
    expect(response.status).toBe(413);
    expect(seen).toHaveLength(0);
  });

  it('does not invoke the function when the client disconnects mid-body (and stop still completes below)', async () => {
    const socket = connect(host.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /api/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    await new Promise((resolve) => setImmediate(resolve));
    socket.destroy();
    const after = await fetch(`${host.url}/api/items/list`);
    expect(after.status).toBe(200);
    expect(seen).toHaveLength(0);
  });

  it('says which port is taken when another host holds it', async () => {
    await expect(
      startFunctionsHost({ port: host.port, registrations: [], log: () => undefined }),
    ).rejects.toThrow(`port ${host.port} on 127.0.0.1 is already in use`);
  });

  it('keeps connections alive between requests', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ports: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(`${host.url}/api/items/list`, { agent }, (res) => {
          ports.push(res.socket.localPort ?? -1);
          expect(res.headers.connection).toBe('keep-alive');
          res.resume();
          res.once('end', resolve);
        });
        req.once('error', reject);
        req.end();
      });
    }
    agent.destroy();
    expect(new Set(ports).size).toBe(1);
  });
});

describe('local Functions host: disabled functions', () => {
  it('neither serves nor triggers a function its AzureWebJobs.<name>.Disabled setting disables', async () => {
    const lines: string[] = [];
    const disabledHost = await startFunctionsHost({
      port: 0,
      registrations: [
        ...listRegistrations(),
        // Would fail the start (no 25th hour) if the host tried to schedule it.
        { kind: 'timer', name: 'nightly', options: { schedule: '0 0 25 * * *', handler: () => undefined } },
      ],
      hostJson: { extensions: { http: { routePrefix: 'api' } } },
      env: {
        'AzureWebJobs.itemsList.Disabled': 'true',
        // The form for setting names without dots (Linux), and 1 for true.
        AzureWebJobs_nightly_Disabled: '1',
        'AzureWebJobs.upload.Disabled': 'false',
        // Names and values without regard to case, values untrimmed (' true' disables nothing).
        'azurewebjobs.cloned.disabled': 'TRUE',
        'AzureWebJobs.classResponse.Disabled': ' true',
      },
      log: (_level, message) => lines.push(message),
      runShutdownHooksOnStop: false,
    });
    try {
      // items/list is served by nobody now: items/{id} answers it instead.
      const list = await fetch(`${disabledHost.url}/api/items/list`);
      expect(await list.json()).toEqual({ id: 'list', variant: null });
      expect((await fetch(`${disabledHost.url}/api/upload`, { method: 'POST' })).status).toBe(200);
      const served = disabledHost.httpFunctions.map((f) => f.name);
      expect(served).not.toContain('itemsList');
      expect(served).not.toContain('cloned');
      expect(served).toContain('classResponse');
      expect(lines).toEqual(
        expect.arrayContaining([
          'function itemsList is disabled (AzureWebJobs.itemsList.Disabled)',
          'function nightly is disabled (AzureWebJobs_nightly_Disabled)',
        ]),
      );
    } finally {
      await disabledHost.stop();
    }
  });
});

describe('local Functions host: stop and module loading', () => {
  it('waits for invocations in flight, then refuses connections and runs the shutdown hooks', async () => {
    const started = new Promise<void>((resolve) => (slowStarted = resolve));
    const pending = fetch(`${host.url}/api/slow`);
    await started;
    let stopped = false;
    const stopping = host.stop().then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    expect(shutdownHookRuns).toBe(0);
    releaseSlow();
    const response = await pending;
    expect(await response.json()).toEqual({ done: true });
    await stopping;
    expect(shutdownHookRuns).toBe(1);
    await expect(fetch(`${host.url}/api/items/list`)).rejects.toThrow();
  });

  it('loadFunctionModules requires every .js module of a folder, in name order', () => {
    const dir = temporaryDirectory('functions-');
    const marker = `loaded_${Date.now()}`;
    writeFileSync(join(dir, 'b.js'), `globalThis.${marker} = (globalThis.${marker} || []).concat('b');`);
    writeFileSync(join(dir, 'a.js'), `globalThis.${marker} = (globalThis.${marker} || []).concat('a');`);
    writeFileSync(join(dir, 'a.d.ts'), 'export {};');
    writeFileSync(join(dir, 'notes.txt'), 'not code');
    const files = loadFunctionModules(dir);
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(['a.js', 'b.js']);
    expect((globalThis as Record<string, unknown>)[marker]).toEqual(['a', 'b']);
  });
});
