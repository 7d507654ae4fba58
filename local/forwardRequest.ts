import { Agent, IncomingMessage, request as httpRequest, ServerResponse } from 'node:http';

/**
 * Sends a request that a reverse proxy has read (its body already buffered) on to `target` and pipes the
 * answer back; a target that cannot be reached is answered 502, as a gateway does.
 */
export function forwardRequest(
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
  target: URL,
  agent?: Agent,
): void {
  const upstream = httpRequest(
    {
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: { ...req.headers, host: target.host },
      ...(agent ? { agent } : {}),
    },
    (upstreamResponse) => {
      res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
      upstreamResponse.pipe(res);
    },
  );
  upstream.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  upstream.end(body);
}
