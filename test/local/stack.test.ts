import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { create_container, Session } from 'rhea';
import frames from 'rhea/lib/frames';
import { missingServices, startLocalStack } from '../../local/stack';
import { findRedisServer } from '../../local/redisServer';
import {
  blobServiceFor,
  cosmosClientFor,
  eventHubProducerFor,
  redisClientFor,
  startTestStack,
} from '../support/localStack';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up waiting: ${what}`);
}

/** The local port in a connection setting of the stack (every service listens on 127.0.0.1). */
function portOf(setting: string | undefined): number {
  return Number(/127\.0\.0\.1:(\d+)/.exec(setting ?? '')?.[1]);
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

function redisPidOf(url: string): Promise<number> {
  const client = redisClientFor({ RedisConnection: url });
  return client
    .info('server')
    .then((info) => Number(/process_id:(\d+)/.exec(info)?.[1]))
    .finally(() => client.disconnect());
}

describe('startLocalStack', () => {
  it('starts all four services, which answer the real SDKs, and stop leaves nothing running', async () => {
    const exitListeners = process.listenerCount('exit');
    const stack = await startTestStack({ partitionCount: 3, eventHubName: 'stack-test' });
    const { settings } = stack;
    expect(Object.keys(settings).sort()).toEqual([
      'ArchiveStorage',
      'AzureWebJobsStorage',
      'CosmosDBConnection',
      'EVENTHUB_NAME',
      'EventHubConnection',
      'RedisConnection',
    ]);
    expect(settings.CosmosDBConnection).toMatch(
      /^AccountEndpoint=http:\/\/127\.0\.0\.1:\d+\/;AccountKey=.+;$/,
    );
    expect(settings.RedisConnection).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);

    const container = blobServiceFor(settings).getContainerClient('stack-test');
    await container.create();
    await container.getBlockBlobClient('a.txt').upload('hello', 5);
    expect((await container.getBlockBlobClient('a.txt').downloadToBuffer()).toString()).toBe('hello');

    const cosmos = cosmosClientFor(settings);
    const { database } = await cosmos.databases.createIfNotExists({ id: 'stack' });
    const { container: items } = await database.containers.createIfNotExists({
      id: 'c',
      partitionKey: '/id',
    });
    await items.items.create({ id: 'x', n: 1 });
    expect((await items.item('x', 'x').read<{ n: number }>()).resource?.n).toBe(1);
    cosmos.dispose();

    const producer = eventHubProducerFor(settings);
    expect(await producer.getPartitionIds()).toEqual(['0', '1', '2']);
    await producer.close();

    const pid = await redisPidOf(settings.RedisConnection!);
    expect(isAlive(pid)).toBe(true);

    await stack.stop();
    expect(isAlive(pid)).toBe(false);
    // The hook that kills redis-server if this process exits first goes with the last redis-server.
    expect(process.listenerCount('exit')).toBe(exitListeners);
    for (const name of ['CosmosDBConnection', 'RedisConnection'] as const) {
      expect(await refuses(portOf(settings[name]))).toBe(true);
    }
    await stack.stop(); // idempotent
  });

  it('stops while a client still holds a connection to a service, and closes its port', async () => {
    const stack = await startTestStack({ partitionCount: 1, eventHubName: 'left-open' });
    const producer = eventHubProducerFor(stack.settings);
    // Opens the AMQP connection and leaves it open, as a killed client or a leaked link would.
    await producer.getPartitionIds();
    const port = portOf(stack.settings.EventHubConnection);
    await stack.stop();
    expect(await refuses(port)).toBe(true);
    await producer.close().catch(() => undefined);
  });

  it('keeps an AMQP connection open when a settlement arrives after its session ended', async () => {
    // A client that closes a receiver still settles the messages that were in flight to it, so the
    // emulator can receive a disposition on a channel whose session it has just ended. rhea would drop
    // the whole connection for that, stranding the client's other links; the stack's emulator ignores it.
    const stack = await startTestStack({ partitionCount: 1, eventHubName: 'late-frames' });
    const port = portOf(stack.settings.EventHubConnection);
    const connection = create_container().connect({ host: '127.0.0.1', port, reconnect: false });
    const disconnected = new Promise<'disconnected'>((resolve) =>
      connection.once('disconnected', () => resolve('disconnected')),
    );
    const opened = (session: Session) =>
      new Promise<'open'>((resolve) => session.once('session_open', () => resolve('open')));
    try {
      const ended = connection.create_session();
      ended.begin();
      await opened(ended);
      // rhea keeps a session's channel in its local state; the typings do not show it.
      const channel = (ended as unknown as { local: { channel: number } }).local.channel;
      await new Promise<void>((resolve) => {
        ended.once('session_close', () => resolve());
        ended.close();
      });
      // rhea's client API cannot send on an ended session, so the late frame is written directly.
      const lateFrame = frames.disposition({ role: true, first: 0, settled: true });
      (connection as unknown as { _write_frame(c: number, f: unknown): void })._write_frame(
        channel,
        lateFrame,
      );

      const next = connection.create_session();
      next.begin();
      expect(await Promise.race([opened(next), disconnected])).toBe('open');
    } finally {
      connection.close();
      await stack.stop();
    }
  });

  /** Cosmos DB, Event Hubs and Redis given (in both forms), and the storage settings of the test. */
  const givenButStorage = (storage: Record<string, string>) => ({
    PATH: process.env.PATH,
    CosmosDBConnection__accountEndpoint: 'https://real.documents.azure.com:443/',
    EventHubConnection: 'Endpoint=sb://real.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v',
    RedisConnection: 'rediss://real:6380',
    EVENTHUB_NAME: 'given-hub',
    ...storage,
  });

  it('does not start a service whose connection setting is given, in either form', async () => {
    const env = givenButStorage({ ArchiveStorage__blobServiceUri: 'https://real.blob.core.windows.net' });
    expect(missingServices(env)).toEqual(['blob']);
    const stack = await startLocalStack({ env });
    try {
      expect(stack.started).toEqual(['blob']);
      // Only the missing setting is provided; the given ArchiveStorage identity form is left alone.
      expect(Object.keys(stack.settings).sort()).toEqual(['AzureWebJobsStorage', 'EVENTHUB_NAME']);
      expect(stack.settings.EVENTHUB_NAME).toBe('given-hub');
    } finally {
      await stack.stop();
    }
    expect(missingServices({ ...env, AzureWebJobsStorage: 'UseAnything' })).toEqual([]);
    // The form infra/ sets in Azure: the host's storage named by its account alone.
    expect(missingServices({ ...env, AzureWebJobsStorage__accountName: 'sthost' })).toEqual([]);
  });

  it("gives Azurite to the archive alone when the host's storage is named by its account", async () => {
    const env = givenButStorage({ AzureWebJobsStorage__accountName: 'sthost' });
    expect(missingServices(env)).toEqual(['blob']);
    const stack = await startLocalStack({ env });
    try {
      // `nextoffer stack` prints these: an Azurite AzureWebJobsStorage beside the account would win.
      expect(Object.keys(stack.settings).sort()).toEqual(['ArchiveStorage', 'EVENTHUB_NAME']);
    } finally {
      await stack.stop();
    }
  });

  it('explains how to install redis-server when it is missing, and starts nothing', async () => {
    const env = { PATH: process.env.PATH, REDIS_SERVER_BIN: '/nonexistent/redis-server' };
    expect(() => findRedisServer(env)).toThrow(/apt-get install -y redis-server[\s\S]*brew install redis/);
    await expect(startLocalStack({ env })).rejects.toThrow(/REDIS_SERVER_BIN/);
    expect(() => findRedisServer({ PATH: '/nonexistent' })).toThrow(/redis-server not found/);
  });

  it('leaves no redis-server behind when its owner process is killed outright', async () => {
    // A child process compiles local/redisServer.ts on the fly, starts redis, prints its pid and waits
    // to be killed with SIGKILL, the one way to end a process that runs no exit handler.
    const source = join(__dirname, '../../local/redisServer.ts');
    const script = `
      const ts = require('typescript'); const fs = require('fs'); const Module = require('module');
      const js = ts.transpileModule(fs.readFileSync(${JSON.stringify(source)}, 'utf8'),
        { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
      const m = new Module('redisServer'); m._compile(js, 'redisServer.js');
      m.exports.startRedisServer(process.env).then((r) => { console.log('PID ' + r.pid); setInterval(() => {}, 1000); });
    `;
    const child = spawn(process.execPath, ['-e', script], {
      cwd: join(__dirname, '../..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /PID (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`child exited early with ${String(code)}`)));
    });
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    await waitUntil(() => !isAlive(pid), `redis-server ${pid} to exit after its owner was killed`);
  });
});
