import { EventEmitter } from 'node:events';
import { command, localSettingsBody, StopSource, untilStopRequested } from '../../../cli/commands/stack';
import { cosmosClientFor } from '../../support/localStack';

describe('nextoffer stack', () => {
  it('builds a local.settings.json body for Core Tools', () => {
    const body = JSON.parse(
      localSettingsBody({ EVENTHUB_NAME: 'x', COSMOS_DATABASE: 'db' }, { RedisConnection: 'redis://h:1' }),
    ) as unknown;
    expect(body).toEqual({
      IsEncrypted: false,
      Values: {
        EVENTHUB_NAME: 'x',
        COSMOS_DATABASE: 'db',
        RedisConnection: 'redis://h:1',
        FUNCTIONS_WORKER_RUNTIME: 'node',
        AzureWebJobsFeatureFlags: 'EnableWorkerIndexing',
      },
    });
  });

  it('stops when the IPC channel of the parent that started it closes, and only then', async () => {
    const withChannel = Object.assign(new EventEmitter(), { connected: true }) as unknown as StopSource &
      EventEmitter;
    let stopped = false;
    const stop = untilStopRequested(withChannel).then(() => (stopped = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    withChannel.emit('disconnect');
    await stop;
    expect(['SIGINT', 'SIGTERM', 'disconnect'].map((e) => withChannel.listenerCount(e))).toEqual([0, 0, 0]);

    // Started from a terminal there is no channel: only a signal stops it.
    const terminal = Object.assign(new EventEmitter(), { connected: false }) as unknown as StopSource &
      EventEmitter;
    const stopByTerminal = untilStopRequested(terminal);
    expect(terminal.listenerCount('disconnect')).toBe(0);
    terminal.emit('SIGTERM');
    await stopByTerminal;
    expect(terminal.listenerCount('SIGINT')).toBe(0);
  });

  it('starts and provisions the stack, prints its settings, and stops on SIGINT', async () => {
    for (const name of [
      'EventHubConnection',
      'CosmosDBConnection',
      'ArchiveStorage',
      'AzureWebJobsStorage',
      'RedisConnection',
    ]) {
      delete process.env[name];
    }
    // A given connection is used, not started, and copied into the printed settings.
    process.env.RedisConnection = 'redis://127.0.0.1:1';
    let stdout = '';
    const stdoutSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    });
    let stderr = '';
    const stderrSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
    const signalListeners = process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
    try {
      const exitCode = command.run([]);
      for (let i = 0; i < 600 && !stdout.endsWith('}\n'); i += 1) {
        await Promise.race([exitCode, new Promise((resolve) => setTimeout(resolve, 50))]);
      }
      const { Values } = JSON.parse(stdout) as { Values: Record<string, string> };
      for (const name of [
        'EventHubConnection',
        'CosmosDBConnection',
        'ArchiveStorage',
        'AzureWebJobsStorage',
        'RedisConnection',
      ]) {
        expect(Values[name]).toBeDefined();
      }
      expect(Values).toMatchObject({
        EVENTHUB_NAME: 'clickstream',
        FUNCTIONS_WORKER_RUNTIME: 'node',
        AzureWebJobsFeatureFlags: 'EnableWorkerIndexing',
        AFFINITY_RETRAIN_SCHEDULE: '0 0 3 * * *',
      });
      // Provisioned: the app's database exists.
      const cosmos = cosmosClientFor(Values);
      const { resources } = await cosmos.databases.readAll().fetchAll();
      expect(resources.map((d) => d.id)).toContain(Values.COSMOS_DATABASE);
      cosmos.dispose();
      expect(Values.RedisConnection).toBe('redis://127.0.0.1:1');
      expect(stderr).not.toContain('started redis');

      process.emit('SIGINT', 'SIGINT');
      await expect(exitCode).resolves.toBe(0);
      expect(process.listenerCount('SIGINT') + process.listenerCount('SIGTERM')).toBe(signalListeners);
    } finally {
      delete process.env.RedisConnection;
      stdoutSpy.mockRestore();
      stderrSpy.mockRestore();
    }
  });
});
