import { Agent, createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { forwardRequest } from './forwardRequest';

/**
 * A reverse proxy in front of a Cosmos DB endpoint that counts the document requests going through it,
 * as the service would bill and throttle them: by HTTP request, not by SDK call. A bulk request counts
 * once, as a write request when it carries any write operation; each of its operations counts as a
 * document read or write. Every request sent counts, whatever it is answered (412 and 429 included).
 */
export interface CosmosRequestCounts {
  /** POST/PUT/PATCH/DELETE on documents, bulk requests with at least one write operation. */
  writeRequests: number;
  /** Documents written or conditionally written: one per plain write request, one per bulk write operation. */
  documentWrites: number;
  /** GETs of documents, queries, bulk requests with only Read operations. */
  readRequests: number;
  /** Documents read by point or bulk reads (queries are not broken down). */
  documentReads: number;
  /** Write requests by container id. */
  writeRequestsByContainer: Record<string, number>;
}

export interface CosmosRequestCounter {
  /** Base URL to give the Cosmos client, e.g. http://127.0.0.1:PORT/ */
  readonly url: string;
  /** A snapshot of the counts so far. */
  counts(): CosmosRequestCounts;
  reset(): void;
  stop(): Promise<void>;
}

const documentPath = /^\/dbs\/[^/]+\/colls\/([^/]+)\/docs(?:\/[^/]+)?\/?$/;
const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const headerIsTrue = (headers: IncomingHttpHeaders, name: string) =>
  String(headers[name] ?? '').toLowerCase() === 'true';

export interface ClassifiedRequest {
  container: string;
  kind: 'write' | 'read';
  documents: number;
}

/** What a request does to documents; undefined for requests on other resources (databases, metadata). */
export function classifyCosmosRequest(
  method: string,
  url: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
): ClassifiedRequest | undefined {
  const match = documentPath.exec(decodeURIComponent(url.split('?')[0] ?? ''));
  if (!match) return undefined;
  const container = match[1] as string;
  if (headerIsTrue(headers, 'x-ms-cosmos-is-batch-request')) {
    const operations = JSON.parse(body.toString('utf8')) as Array<{ operationType?: string }>;
    const writes = operations.filter((o) => o.operationType !== 'Read').length;
    return writes > 0
      ? { container, kind: 'write', documents: writes }
      : { container, kind: 'read', documents: operations.length };
  }
  // Queries and the SDK's query-plan requests are POSTs too; they say so in their headers.
  const isQuery =
    headerIsTrue(headers, 'x-ms-documentdb-isquery') ||
    headerIsTrue(headers, 'x-ms-cosmos-is-query-plan-request') ||
    String(headers['content-type'] ?? '').startsWith('application/query+json');
  if (isQuery) return { container, kind: 'read', documents: 0 };
  if (WRITE_METHODS.has(method)) return { container, kind: 'write', documents: 1 };
  // A GET of the collection's docs is a read feed, of one doc a point read.
  return { container, kind: 'read', documents: url.split('?')[0]?.endsWith('/docs') ? 0 : 1 };
}

const emptyCounts = (): CosmosRequestCounts => ({
  writeRequests: 0,
  documentWrites: 0,
  readRequests: 0,
  documentReads: 0,
  writeRequestsByContainer: {},
});

export async function startCosmosRequestCounter(target: string): Promise<CosmosRequestCounter> {
  const targetUrl = new URL(target);
  // Keep-alive upstream too: the Cosmos SDK reuses its connections, and the proxy must not add a TCP
  // handshake per request to the figures it is used to measure.
  const agent = new Agent({ keepAlive: true });
  let counts = emptyCounts();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const classified = classifyCosmosRequest(method, req.url ?? '/', req.headers, body);
      if (classified?.kind === 'write') {
        counts.writeRequests += 1;
        counts.documentWrites += classified.documents;
        counts.writeRequestsByContainer[classified.container] =
          (counts.writeRequestsByContainer[classified.container] ?? 0) + 1;
      } else if (classified?.kind === 'read') {
        counts.readRequests += 1;
        counts.documentReads += classified.documents;
      }
      forwardRequest(req, body, res, targetUrl, agent);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    counts: () => structuredClone(counts),
    reset: () => {
      counts = emptyCounts();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          agent.destroy();
          resolve();
        });
      }),
  };
}
