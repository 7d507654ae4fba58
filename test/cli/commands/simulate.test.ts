import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../cli/command';
import { command, parseSimulateArgs } from '../../../cli/commands/simulate';
import { clientEventSchema } from '../../../shared/events/clickstreamEvent';
import type { SimulatedOffer } from '../../../shared/simulation/offerCatalog';
import { sendJson, startTestServer } from '../../shared/simulation/testServer';

/** Runs the command, capturing stdout and stderr. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await command.run(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('nextoffer simulate', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simulate-cli-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('posts to localhost:7071 by default, and writes files only when asked', () => {
    expect(parseSimulateArgs([]).simulation).toEqual({ baseUrl: 'http://localhost:7071', maxEvents: 1000 });
    expect(parseSimulateArgs(['--out', 'e.jsonl', '--events', '5']).simulation).toEqual({
      outFile: 'e.jsonl',
      maxEvents: 5,
    });
    expect(
      parseSimulateArgs([
        '--url',
        'http://h:1',
        '--key',
        'k',
        '--rate',
        '2.5',
        '--duration',
        '60',
        '--offers',
        '--seed',
        '3',
      ]).simulation,
    ).toEqual({
      baseUrl: 'http://h:1',
      functionKey: 'k',
      eventsPerSecond: 2.5,
      durationSeconds: 60,
      offers: true,
      seed: 3,
    });
    expect(parseSimulateArgs(['--write-catalog', 'offers.json', '--products', '20'])).toEqual({
      world: { products: 20 },
      catalog: { file: 'offers.json' },
    });
  });

  it('refuses bad arguments with a usage error naming the option', () => {
    expect(() => parseSimulateArgs(['--events', '-3'])).toThrow(/--events/);
    expect(() => parseSimulateArgs(['--rate', 'fast'])).toThrow(/--rate/);
    expect(() => parseSimulateArgs(['--url', 'localhost:7071'])).toThrow(/--url/);
    expect(() => parseSimulateArgs(['--start', 'monday', '--out', 'x'])).toThrow(/--start/);
    expect(() => parseSimulateArgs(['--out', 'x', '--offers'])).toThrow(/--offers/);
    expect(() => parseSimulateArgs(['--bogus'])).toThrow(UsageError);
  });

  it('reports out-of-range sizes as a usage error', async () => {
    await expect(run(['--out', join(dir, 'e.jsonl'), '--users', '0'])).rejects.toThrow(UsageError);
  });

  it('writes events, interactions and truth offline and prints a JSON summary on stdout', async () => {
    const out = join(dir, 'events.jsonl');
    const interactions = join(dir, 'interactions.csv');
    const truth = join(dir, 'truth.json');
    const { code, stdout, stderr } = await run([
      '--out',
      out,
      '--interactions',
      interactions,
      '--truth',
      truth,
      '--events',
      '500',
      '--users',
      '20',
      '--products',
      '30',
    ]);
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { events: number; files: Record<string, string> };
    expect(summary.events).toBe(500);
    expect(summary.files).toEqual({ out, interactions, truth });
    expect(stderr).toContain('500 events');
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(500);
    for (const line of lines) expect(clientEventSchema.safeParse(JSON.parse(line)).success).toBe(true);
  });

  it('writes an offer catalog for the world alone', async () => {
    const file = join(dir, 'offers.json');
    const { code, stdout } = await run(['--write-catalog', file, '--products', '30', '--categories', '5']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ catalog: { file, offers: 15 } });
    const offers = JSON.parse(await readFile(file, 'utf8')) as SimulatedOffer[];
    expect(offers).toHaveLength(15);
    expect(offers[0]).toMatchObject({ offerId: 'o0001', categories: [expect.any(String)] });
  });

  it('posts to a server and exits 1 when the server rejects events', async () => {
    let calls = 0;
    const server = await startTestServer((request, response) => {
      calls++;
      if (calls === 1) return sendJson(response, 400, { error: 'nope' });
      sendJson(response, 202, { accepted: (JSON.parse(request.body) as unknown[]).length });
    });
    try {
      const { code, stdout } = await run([
        '--url',
        server.baseUrl,
        '--events',
        '150',
        '--rate',
        '5000',
        '--batch',
        '50',
      ]);
      const summary = JSON.parse(stdout) as { posting: { accepted: number; rejected: number } };
      expect(summary.posting).toMatchObject({ accepted: 100, rejected: 50 });
      expect(code).toBe(1);
    } finally {
      await server.close();
    }
  });
});
