import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { command, parseStartArgs } from '../../../cli/commands/start';
import { UsageError } from '../../../cli/command';
import { temporaryDirectory } from '../../support/temporaryDirectory';
import { exampleLeadAttributes } from '../../shared/campaign/fixtures';

// @azure/functions warns on every registration outside the real host; that is expected here.
jest.spyOn(console, 'warn').mockImplementation(() => undefined);

const afterEachCleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of afterEachCleanups.splice(0)) cleanup();
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('nextoffer start', () => {
  it('parses --port and --simulate[=RATE]', () => {
    expect(parseStartArgs([])).toEqual({ port: 7071, simulateRate: undefined, demo: true });
    expect(parseStartArgs(['--port', '8080', '--simulate'])).toEqual({
      port: 8080,
      simulateRate: 20,
      demo: true,
    });
    expect(parseStartArgs(['--simulate=5', '--no-demo'])).toEqual({
      port: 7071,
      simulateRate: 5,
      demo: false,
    });
    expect(() => parseStartArgs(['--port', 'x'])).toThrow(UsageError);
    expect(() => parseStartArgs(['--simulate=-1'])).toThrow(/--simulate/);
    expect(() => parseStartArgs(['--nope'])).toThrow(UsageError);
  });

  it('brings up the stack and the functions, prints their URLs, and stops everything on SIGINT', async () => {
    // A developer's own local.settings.json must not leak into the test: run where there is none.
    const cwd = process.cwd();
    process.chdir(temporaryDirectory('nextoffer-start-'));
    afterEachCleanups.push(() => process.chdir(cwd));
    // The stack must start every service itself: no connection settings from the developer's shell.
    for (const name of [
      'EventHubConnection',
      'CosmosDBConnection',
      'ArchiveStorage',
      'AzureWebJobsStorage',
      'RedisConnection',
    ]) {
      delete process.env[name];
    }
    // Nor a campaign model of the developer's.
    delete process.env.CAMPAIGN_MODEL_DIR;
    let stdout = '';
    let stderr = '';
    const stdoutSpy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += chunk.toString();
      return true;
    });
    const stderrSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += chunk.toString();
      return true;
    });
    afterEachCleanups.push(() => {
      stdoutSpy.mockRestore();
      stderrSpy.mockRestore();
    });
    const sigintListeners = process.listenerCount('SIGINT');
    const exitCode = command.run(['--port', '0']);
    for (let i = 0; i < 600 && !stderr.includes('ready in'); i += 1) {
      await Promise.race([exitCode, new Promise((resolve) => setTimeout(resolve, 50))]);
    }
    expect(stderr).toContain('ready in');
    const events = /ingest: \[[A-Z,]+\] (http:\/\/\S+\/api\/events)/.exec(stdout)?.[1];
    const offer = /offer: \[[A-Z,]+\] (http:\/\/\S+\/api\/offer)/.exec(stdout)?.[1];
    expect(events).toBeDefined();
    expect(offer).toBeDefined();
    expect(stdout).toMatch(
      /CosmosDBConnection = AccountEndpoint=http:\/\/127\.0\.0\.1:\d+\/;AccountKey=\*\*\*; \(local stack\)/,
    );
    expect(stdout).not.toContain('C2y6yDjf5');

    const missingUser = await fetch(offer!);
    expect(missingUser.status).toBe(400);
    // The embedded stack comes seeded: the demo catalog and a trained affinity model answer at once.
    expect(stderr).toMatch(/demo: loaded \d+ offers/);
    expect(stderr).toContain('demo: trained and published affinity model');
    const demoOffer = (await (await fetch(`${offer!}?userId=u00001`)).json()) as {
      offer: unknown;
      source: string;
    };
    expect(demoOffer.offer).not.toBeNull();
    expect(['cold-start', 'explore']).toContain(demoOffer.source);

    // No CAMPAIGN_MODEL_DIR of the developer's (only the example's default, with no model there): the demo
    // trains a campaign model into a temporary directory, and the plan function serves it.
    expect(stderr).toMatch(/demo: trained campaign model \S+ on \d+ synthetic touches/);
    const campaignModelDir = /CAMPAIGN_MODEL_DIR = (\S+) \(demo model, removed on stop\)/.exec(stdout)?.[1];
    expect(campaignModelDir).toBeDefined();
    expect(existsSync(join(campaignModelDir!, 'campaign-model.json'))).toBe(true);
    const plan = /campaignPlan: \[POST\] (http:\/\/\S+\/api\/campaign\/plan)/.exec(stdout)?.[1];
    expect(plan).toBeDefined();
    const planned = await fetch(plan!, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        leads: [
          {
            leadId: 'L1',
            attributes: exampleLeadAttributes,
          },
        ],
      }),
    });
    expect(planned.status).toBe(200);
    const { plans } = (await planned.json()) as {
      plans: Array<{ leadId: string; best: { channel: string } }>;
    };
    expect(plans[0]).toMatchObject({ leadId: 'L1', best: { channel: expect.any(String) as unknown } });
    const redisPort = Number(/RedisConnection = redis:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
    expect(redisPort).toBeGreaterThan(0);
    const { default: Redis } = await import('ioredis');
    const redis = new Redis(redisPort, '127.0.0.1');
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
    redis.disconnect();

    process.emit('SIGINT', 'SIGINT');
    await expect(exitCode).resolves.toBe(0);
    expect(stderr).toContain('stopped');
    expect(stderr).toContain('no local.settings.json here');
    expect(process.listenerCount('SIGINT')).toBe(sigintListeners);
    expect(isAlive(redisPid)).toBe(false);
    await expect(fetch(offer!)).rejects.toThrow();
    expect(existsSync(campaignModelDir!)).toBe(false);
  });
});
