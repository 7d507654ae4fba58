import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { command } from '../../../cli/commands/affinity';
import { UsageError } from '../../../cli/command';
import { generateSyntheticInteractions, toCsv } from '../../../models/affinity/synthetic';
import { temporaryDirectory } from '../../support/temporaryDirectory';

let directory: string;
let input: string;
let stdout: string[];
let stderr: string[];

beforeAll(async () => {
  directory = temporaryDirectory('affinity-cli-');
  input = join(directory, 'interactions.csv');
  await writeFile(
    input,
    toCsv(generateSyntheticInteractions({ users: 150, items: 90, interactions: 4500, seed: 13 })),
  );
});

beforeEach(() => {
  stdout = [];
  stderr = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout.push(String(chunk));
    return true;
  });
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

const lines = () =>
  stdout
    .join('')
    .split('\n')
    .filter((l) => l !== '');

describe('nextoffer affinity', () => {
  const bundle = () => join(directory, 'bundle');

  it('train writes a bundle and prints its version and metrics; progress goes to stderr', async () => {
    expect(
      await command.run([
        'train',
        '--input',
        input,
        '--out',
        bundle(),
        '--lambda',
        '30',
        '--model-version',
        'cli-1',
      ]),
    ).toBe(0);
    const result = JSON.parse(stdout.join('')) as { version: string; metrics: { ndcgAtK: number } };
    expect(result.version).toBe('cli-1');
    expect(result.metrics.ndcgAtK).toBeGreaterThan(0);
    expect(stderr.join('')).toContain('held-out metrics');
  });

  it('recommend prints one line per user, k items, history excluded unless --include-seen', async () => {
    const histories = join(directory, 'histories.jsonl');
    await writeFile(
      histories,
      [
        '{"userId":"alice","itemId":"i1"}',
        '{"userId":"alice","itemId":"i2","weight":3}',
        '{"userId":"bob","itemId":"i5"}',
        '{"userId":"newcomer","itemId":"never-seen"}',
      ].join('\n'),
    );
    expect(await command.run(['recommend', '--model', bundle(), '--histories', histories, '--k', '5'])).toBe(
      0,
    );
    const answers = lines().map((l) => JSON.parse(l) as { userId: string; items: string[] });
    expect(answers.map((a) => a.userId)).toEqual(['alice', 'bob', 'newcomer']);
    for (const answer of answers) expect(answer.items).toHaveLength(5);
    expect(answers[0]!.items).not.toContain('i1');
    expect(answers[0]!.items).not.toContain('i2');
    expect(answers[1]!.items).not.toContain('i5');
    expect(stderr.join('')).toContain('1 users had no known item and got the cold-start list');

    stdout = [];
    expect(
      await command.run([
        'recommend',
        '--model',
        bundle(),
        '--histories',
        histories,
        '--k',
        '90',
        '--include-seen',
      ]),
    ).toBe(0);
    const withSeen = lines().map((l) => JSON.parse(l) as { userId: string; items: string[] });
    expect(withSeen[0]!.items).toEqual(expect.arrayContaining(['i1', 'i2']));
  });

  it('evaluate prints the model and baseline metrics as JSON', async () => {
    expect(
      await command.run(['evaluate', '--input', input, '--k', '10', '--seed', '3', '--lambda', '30']),
    ).toBe(0);
    const result = JSON.parse(stdout.join('')) as {
      protocol: { k: number; seed: number };
      model: { ndcgAtK: number; precisionAtK: number; map: number; recallAtK: number };
      baselines: { popularity: { ndcgAtK: number }; sar: { ndcgAtK: number } };
    };
    expect(result.protocol).toMatchObject({ k: 10, seed: 3 });
    expect(Object.keys(result.model)).toEqual(
      expect.arrayContaining(['map', 'ndcgAtK', 'precisionAtK', 'recallAtK']),
    );
    expect(result.model.ndcgAtK).toBeGreaterThan(result.baselines.popularity.ndcgAtK);
  });

  it('evaluate takes a fixed blend, β, low-rank and low-pass shares and ranks; all shares 0 is EASE alone', async () => {
    const run = async (extra: string[]) => {
      stdout = [];
      expect(await command.run(['evaluate', '--input', input, '--lambda', '30', ...extra])).toBe(0);
      return (JSON.parse(stdout.join('')) as { model: Record<string, unknown> }).model;
    };
    expect(
      await run([
        ...['--blend', '0.4', '--rp3-beta', '0.9', '--low-rank-share', '0.2', '--low-rank', '5'],
        ...['--low-pass-share', '0.3', '--low-pass-rank', '4'],
      ]),
    ).toMatchObject({
      algorithm: 'ease+rp3beta+lowrank+lowpass',
      blend: 0.4,
      rp3Beta: 0.9,
      lowRankShare: 0.2,
      lowRank: 5,
      lowPassShare: 0.3,
      lowPassRank: 4,
    });
    expect(await run(['--blend', '0', '--low-rank-share', '0', '--low-pass-share', '0'])).toMatchObject({
      algorithm: 'ease',
      blend: 0,
      lowRankShare: 0,
      lowPassShare: 0,
    });
  });

  it('train --model sparse writes the top-K neighbour model over every item; recommend serves it', async () => {
    const sparse = join(directory, 'sparse-bundle');
    expect(
      await command.run([
        'train',
        '--input',
        input,
        '--out',
        sparse,
        '--model',
        'sparse',
        '--neighbours',
        '8',
        '--no-evaluate',
      ]),
    ).toBe(0);
    const result = JSON.parse(stdout.join('')) as { data: { items: number; itemsNotModelled: number } };
    expect(result.data.itemsNotModelled).toBe(0);
    const manifest = JSON.parse(await readFile(join(sparse, 'manifest.json'), 'utf8')) as {
      algorithm: string;
      itemCount: number;
      parameters: Record<string, unknown>;
    };
    expect(manifest).toMatchObject({ algorithm: 'rp3beta-topk', itemCount: result.data.items });
    expect(manifest.parameters).toMatchObject({ neighbours: 8 });

    const histories = join(directory, 'sparse-histories.jsonl');
    await writeFile(histories, '{"userId":"alice","itemId":"i1"}\n{"userId":"alice","itemId":"i2"}\n');
    stdout = [];
    expect(await command.run(['recommend', '--model', sparse, '--histories', histories, '--k', '5'])).toBe(0);
    const [answer] = lines().map((l) => JSON.parse(l) as { userId: string; items: string[] });
    expect(answer!.items).toHaveLength(5);
    expect(answer!.items).not.toContain('i1');
    expect(answer!.items).not.toContain('i2');
  });

  it('evaluate takes the sparse model for a catalog beyond --max-items', async () => {
    expect(await command.run(['evaluate', '--input', input, '--max-items', '20', '--neighbours', '10'])).toBe(
      0,
    );
    const result = JSON.parse(stdout.join('')) as {
      model: { algorithm: string; neighbours: number; ndcgAtK: number };
      baselines: { popularity: { ndcgAtK: number } };
    };
    expect(result.model).toMatchObject({ algorithm: 'rp3beta-topk', neighbours: 10 });
    expect(result.model.ndcgAtK).toBeGreaterThan(result.baselines.popularity.ndcgAtK);
  });

  it('names the file, line and field of bad input, and writes nothing', async () => {
    const bad = join(directory, 'bad.csv');
    await writeFile(bad, 'userId,itemId,weight\nu1,i1,1\nu2,i2,lots\n');
    const out = join(directory, 'never-written');
    expect(await command.run(['train', '--input', bad, '--out', out])).toBe(1);
    expect(stderr.join('')).toContain(`${bad}:3: weight: 'lots' is not a number`);
    await expect(import('node:fs/promises').then((fs) => fs.stat(out))).rejects.toThrow();
  });

  it('refuses a directory that is not a bundle', async () => {
    expect(await command.run(['recommend', '--model', directory, '--histories', input])).toBe(1);
    expect(stderr.join('')).toContain('holds no manifest.json');
  });

  it.each([
    [['train', '--input', 'x.csv'], '--out is required'],
    [['recommend', '--model', 'm', '--histories', 'h', '--k', '0'], '--k must be a positive integer'],
    [['evaluate', '--input', 'x', '--lambda=-1'], "--lambda must be 'auto' or a positive number"],
    [['evaluate', '--input', 'x', '--format', 'xml'], '--format must be one of'],
    [['evaluate', '--input', 'x', '--blend', '1.5'], "--blend must be 'auto' or a number from 0 to 1"],
    [['train', '--out', 'o', '--rp3-beta=-1'], "--rp3-beta must be 'auto' or a number of 0 or more"],
    [['evaluate', '--input', 'x', '--low-rank-share', '2'], "--low-rank-share must be 'auto' or a number"],
    [['evaluate', '--input', 'x', '--low-rank', '2.5'], '--low-rank must be a positive integer'],
    [['train', '--out', 'o', '--low-pass-share=-0.5'], "--low-pass-share must be 'auto' or a number"],
    [['evaluate', '--input', 'x', '--low-pass-rank', '0'], '--low-pass-rank must be a positive integer'],
    [['evaluate', '--input', 'x', '--bogus'], "Unknown option '--bogus'"],
    [['train', '--out', 'o', '--model', 'huge'], '--model must be one of auto, dense, sparse'],
    [['train', '--out', 'o', '--neighbours', '0'], '--neighbours must be a positive integer'],
    [['evaluate', '--input', 'x', '--neighbours', '1001'], '--neighbours must be at most 1000'],
    [['dance'], "unknown subcommand 'dance'"],
    [['train', '--out', 'o', '--max-items', '25000'], '--max-items must be at most 20000'],
    [['evaluate', '--input', 'x', '--max-items', '20001'], '--max-items must be at most 20000'],
    [['train', '--out', 'o', '--model-version', 'bad version!'], '--model-version must be 1-64 letters'],
  ])('rejects %j as a usage error', async (args, message) => {
    await expect(command.run(args)).rejects.toThrow(UsageError);
    await expect(command.run(args)).rejects.toThrow(message);
  });
});
