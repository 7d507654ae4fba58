import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { forwardRequest } from '../../local/forwardRequest';

/**
 * An HTTP reverse proxy in front of a real local service that answers some requests itself with an error
 * status, as a throttled or failing service would. The SDKs under test talk to it over the network as
 * they would to Azure; nothing in the SDK is replaced.
 */
export interface FaultProxy {
  /** Base URL of the proxy, e.g. http://127.0.0.1:PORT */
  readonly url: string;
  /** Requests answered with a fault so far. */
  readonly faults: number;
  /** Requests forwarded to the service so far. */
  readonly forwarded: number;
  stop(): Promise<void>;
}

export interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export async function startFaultProxy(
  target: string,
  /**
   * Called once the request body is in: a fault to answer with, or undefined to forward the request. It may
   * be async, to make something happen at the service before the request reaches it.
   */
  decide: (request: IncomingMessage, body: Buffer) => Fault | undefined | Promise<Fault | undefined>,
): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  let faults = 0;
  let forwarded = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      void Promise.resolve(decide(req, body)).then(
        (fault) => {
          if (fault) {
            faults += 1;
            res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
            res.end(fault.body ?? JSON.stringify({ code: String(fault.status), message: 'injected fault' }));
            return;
          }
          forwarded += 1;
          forwardRequest(req, body, res, targetUrl);
        },
        () => {
          // A hook that failed leaves the request unanswered by the service: answer as a broken gateway.
          res.writeHead(502);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get faults() {
      return faults;
    },
    get forwarded() {
      return forwarded;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
