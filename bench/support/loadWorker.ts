import { Agent, request } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import type { LoadOptions, LoadResult } from './loadGenerator';
import { currentThreadCpuMicros } from './threadCpu';

/** The worker side of runLoad (bench/support/loadGenerator.ts). */

function send(agent: Agent, target: URL, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        hostname: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

async function run(options: LoadOptions): Promise<LoadResult> {
  const cpuAtStart = currentThreadCpuMicros();
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const headers = { 'content-type': 'application/json', ...options.headers };
  const started = performance.now();
  const measureFrom = started + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  let next = 0;
  let totalRequests = 0;
  const interval = options.ratePerSecond === undefined ? 0 : 1000 / options.ratePerSecond;
  let nextStart = started;

  const loop = async () => {
    while (performance.now() < stopAt) {
      if (interval > 0) {
        // Open loop: each request gets its own start slot, whoever is free takes the next one.
        const slot = nextStart;
        nextStart += interval;
        const wait = slot - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        if (performance.now() >= stopAt) break;
      }
      const body = options.bodies[next++ % options.bodies.length] as string;
      const begin = performance.now();
      const status = await send(agent, target, body, headers);
      const end = performance.now();
      totalRequests += 1;
      if (begin >= measureFrom && end <= stopAt) {
        latenciesMs.push(end - begin);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  agent.destroy();
  const cpuAtEnd = currentThreadCpuMicros();
  return {
    requests: latenciesMs.length,
    latenciesMs,
    statuses,
    elapsedMs: options.durationMs,
    totalRequests,
    ...(cpuAtStart !== undefined && cpuAtEnd !== undefined
      ? { generatorCpuMicros: cpuAtEnd - cpuAtStart }
      : {}),
  };
}

if (parentPort) {
  const port = parentPort;
  run(workerData as LoadOptions).then(
    (result) => port.postMessage(result),
    (error: unknown) => {
      throw error;
    },
  );
}
