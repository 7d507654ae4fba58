import { spawn, ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect, createServer } from 'node:net';
import { delimiter, isAbsolute, join } from 'node:path';

/** A redis-server child process on a free loopback port, with no persistence. */
export interface RedisServerProcess {
  readonly url: string;
  readonly port: number;
  /** Process id of the redis-server itself (not of its watchdog shell). */
  readonly pid: number;
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  override name = 'RedisServerMissingError';
  constructor(binary: string) {
    super(
      [
        `redis-server not found (looked for '${binary}'). The local stack runs a real Redis; install it:`,
        '  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y redis-server',
        '  macOS:         brew install redis',
        'or point REDIS_SERVER_BIN at a redis-server binary, or set RedisConnection to an existing Redis.',
      ].join('\n'),
    );
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves the redis-server binary from REDIS_SERVER_BIN or PATH, or throws install instructions. */
export function findRedisServer(env: Record<string, string | undefined>): string {
  const override = env.REDIS_SERVER_BIN?.trim();
  const name = override !== undefined && override !== '' ? override : 'redis-server';
  if (isAbsolute(name) || name.includes('/')) {
    if (isExecutable(name)) return name;
    throw new RedisServerMissingError(name);
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  throw new RedisServerMissingError(name);
}

/** Asks the OS for a free loopback port. Another process could take it before us; start() retries. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/**
 * redis-server runs under a tiny shell watchdog that kills it when our stdin pipe closes, which the OS
 * does however this process ends (Ctrl-C, crash, even SIGKILL), so no orphan redis-server survives us.
 * The shell exits with redis-server's status when redis-server ends by itself (port taken, bad binary).
 */
const watchdogScript = [
  // Background jobs of a non-interactive shell get /dev/null as stdin, so keep our pipe on fd 3.
  'exec 3<&0',
  // Ctrl-C reaches the whole process group; redis-server must outlive it until we have stopped cleanly.
  "trap '' INT",
  '"$0" "$@" </dev/null & redis=$!',
  'echo "redis-pid $redis"',
  '( cat <&3 >/dev/null; kill "$redis" 2>/dev/null ) & watcher=$!',
  'trap \'kill "$redis" 2>/dev/null\' TERM',
  'wait "$redis"; status=$?',
  // A trapped signal interrupts the first wait; the second makes sure redis-server is gone before we exit.
  'wait "$redis" 2>/dev/null',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

const liveChildren = new Set<ChildProcess>();

// 'exit' handlers must be synchronous: a signal is all we can do, and the watchdog does the rest.
const killLiveChildren = () => {
  for (const child of liveChildren) child.kill('SIGTERM');
};

/**
 * The exit hook is on `process` only while a redis-server is alive. A hook left there for good would keep
 * this module, and everything it was loaded with, alive as long as the process: under jest, whose every test
 * file loads its own copy of the module into the same worker, each file's whole module graph.
 */
function track(child: ChildProcess): void {
  if (liveChildren.size === 0) process.on('exit', killLiveChildren);
  liveChildren.add(child);
}

function untrack(child: ChildProcess): void {
  if (liveChildren.delete(child) && liveChildren.size === 0) process.off('exit', killLiveChildren);
}

async function startOnce(
  binary: string,
  port: number,
  startupTimeoutMs: number,
): Promise<RedisServerProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('/bin/sh', ['-c', watchdogScript, binary, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  track(child);
  // Do not keep the event loop alive just for redis: the owner decides when the process ends.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    (stream as unknown as { unref?: () => void }).unref?.();
  }
  let output = '';
  let redisPid = 0;
  let exited: number | null | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code) => {
      exited = code;
      untrack(child);
      resolve();
    });
  });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
    const match = /redis-pid (\d+)/.exec(output);
    if (match?.[1] !== undefined) redisPid = Number(match[1]);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);

  const deadline = Date.now() + startupTimeoutMs;
  while (exited === undefined) {
    if (await ping(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(
        `redis-server did not answer on port ${port} within ${startupTimeoutMs} ms:\n${output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (exited !== undefined) {
    throw new Error(`redis-server exited with status ${String(exited)} on port ${port}:\n${output}`);
  }
  child.stdout.off('data', collect);
  child.stderr.off('data', collect);
  child.stdout.resume();
  child.stderr.resume();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: redisPid,
    async stop() {
      if (exited !== undefined) return;
      // Keep the event loop alive until redis-server is gone, or the process could end mid-stop.
      child.ref();
      // Closing stdin is the watchdog's signal; SIGTERM as well in case the shell is slow to notice.
      child.stdin.end();
      child.kill('SIGTERM');
      await exitedPromise;
    },
  };
}

/** Starts redis-server on a free port; fails with install instructions when the binary is missing. */
export async function startRedisServer(
  env: Record<string, string | undefined>,
  startupTimeoutMs = 10_000,
): Promise<RedisServerProcess> {
  const binary = findRedisServer(env);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(binary, await freePort(), startupTimeoutMs);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
