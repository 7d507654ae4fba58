import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { trainEase } from '../models/affinity/ease';
import { popularityScorer } from '../models/affinity/baselines';
import { buildInteractionMatrix } from '../models/affinity/interactionMatrix';
import { Interaction, parseInteractions } from '../models/affinity/interactions';
import { rankingMetrics, recommendFromScores, splitPerUser } from '../models/affinity/protocol';
import {
  generateLargeCatalogInteractions,
  generateSyntheticInteractions,
  toCsv,
} from '../models/affinity/synthetic';
import { defaultTrainingOptions, trainAffinityModel } from '../models/affinity/train';

/**
 * Training time and peak memory of the affinity model at 100k and 1M interactions (synthetic data
 * shaped like MovieLens-100k and -1M), against a floor measured in the same run: one pass reading the
 * interactions (parsing their CSV text). Each size runs in its own child process so its peak resident
 * memory is its own.
 *
 *   fit       EASE on all interactions with a fixed λ (Gram matrix, inverse, weights)
 *   pipeline  what `affinity train` does: λ, weighting and blend search, held-out evaluation through
 *             ONNX, final fit (EASE blended with RP3beta), export, cold start — the figure the issue's
 *             budgets (30 s / 5 min / 4 GB) apply to
 *
 * The `large` case is a catalog far beyond the dense cap (1M interactions over ~140k items, Zipf
 * popularity, generateLargeCatalogInteractions): `affinity train` takes the sparse top-K neighbour model
 * there, and there is no dense fit to time (EASE's items² matrix would be 78 GB). Every case also
 * reports the popularity baseline on the held-out split the pipeline's metrics come from; SAR, the
 * other baseline of `affinity evaluate`, is a dense items² similarity and infeasible at that size.
 *
 *   npm run bench:affinity [-- CASE...]   (cases 100k, 1M, large; all by default)
 */

interface Case {
  name: string;
  generate: () => Interaction[];
  /** Time EASE alone at a fixed λ (the dense fit); not for catalogs beyond the dense cap. */
  denseFit: boolean;
}

const cases: Case[] = [
  {
    name: '100k',
    generate: () =>
      generateSyntheticInteractions({ users: 943, items: 1682, interactions: 100_000, seed: 1 }),
    denseFit: true,
  },
  {
    name: '1M',
    generate: () =>
      generateSyntheticInteractions({ users: 6040, items: 3706, interactions: 1_000_000, seed: 1 }),
    denseFit: true,
  },
  {
    name: 'large',
    generate: () =>
      generateLargeCatalogInteractions({ users: 20_000, items: 150_000, interactions: 1_000_000, seed: 1 }),
    denseFit: false,
  },
];

interface CaseResult {
  name: string;
  interactions: number;
  items: number;
  floorSeconds: number;
  fitSeconds: number | null;
  pipelineSeconds: number;
  /** CPU time (user + system, all threads) of the pipeline: the figure other load does not inflate. */
  pipelineCpuSeconds: number;
  peakRssMb: number;
  modelMb: number;
  algorithm: string;
  /** The chosen hyperparameters, as the manifest records them. */
  parameters: string;
  weighting: string;
  ndcgAtK: number | null;
  precisionAtK: number | null;
  popularityNdcgAtK: number;
  popularityPrecisionAtK: number;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function runCase(spec: Case): Promise<CaseResult> {
  const interactions = spec.generate();
  const csv = toCsv(interactions);

  let start = process.hrtime.bigint();
  const parsed = parseInteractions(csv, 'bench');
  const floorSeconds = seconds(start);
  if (parsed.length !== interactions.length) throw new Error('floor pass lost interactions');

  const matrix = buildInteractionMatrix(parsed);
  let fitSeconds: number | null = null;
  if (spec.denseFit) {
    start = process.hrtime.bigint();
    trainEase(matrix.rows, matrix.itemIds.length, { lambda: 400, maxItems: 5000, weighting: 'binary' });
    fitSeconds = seconds(start);
  }

  start = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const bundle = await trainAffinityModel(parsed, {});
  const pipelineSeconds = seconds(start);
  const cpu = process.cpuUsage(cpuBefore);
  const pipelineCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;

  // The popularity baseline on the split the pipeline's held-out metrics were measured on.
  const split = splitPerUser(matrix, defaultTrainingOptions.seed);
  const k = defaultTrainingOptions.k;
  const popularity = rankingMetrics(
    recommendFromScores(split.train, split.test, k, popularityScorer(split.train, matrix.itemIds.length)),
    split.test,
    k,
  );
  const { parameters } = bundle.manifest;
  return {
    name: spec.name,
    interactions: parsed.length,
    items: bundle.manifest.itemCount,
    floorSeconds,
    fitSeconds,
    pipelineSeconds,
    pipelineCpuSeconds,
    peakRssMb,
    modelMb: bundle.files['model.onnx'].byteLength / 1e6,
    algorithm: bundle.manifest.algorithm,
    parameters:
      'neighbours' in parameters
        ? `K ${parameters.neighbours}, β ${parameters.rp3Beta}`
        : `λ ${parameters.lambda}, s ${parameters.blend}, β ${parameters.rp3Beta}, c ${parameters.lowRankShare}, r ${parameters.lowRank}, h ${parameters.lowPassShare}, q ${parameters.lowPassRank}`,
    weighting: bundle.manifest.weighting,
    ndcgAtK: bundle.manifest.metrics?.ndcgAtK ?? null,
    precisionAtK: bundle.manifest.metrics?.precisionAtK ?? null,
    popularityNdcgAtK: popularity.ndcgAtK,
    popularityPrecisionAtK: popularity.precisionAtK,
  };
}

async function main(): Promise<void> {
  if (process.argv[2] === '--case') {
    const spec = cases.find((c) => c.name === process.argv[3]);
    if (!spec) throw new Error(`unknown case ${process.argv[3]}`);
    process.stdout.write(JSON.stringify(await runCase(spec)) + '\n');
    return;
  }
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !cases.some((c) => c.name === name));
  if (unknown.length > 0)
    throw new Error(`unknown case ${unknown.join(', ')}; cases: ${cases.map((c) => c.name).join(', ')}`);
  const results: CaseResult[] = [];
  for (const spec of cases.filter((c) => wanted.length === 0 || wanted.includes(c.name))) {
    process.stderr.write(`affinity training bench: ${spec.name} interactions…\n`);
    const output = execFileSync(
      process.execPath,
      ['--max-old-space-size=4096', __filename, '--case', spec.name],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    results.push(JSON.parse(output) as CaseResult);
  }
  const rows = results.map((r) => [
    r.name,
    String(r.items),
    r.floorSeconds.toFixed(2),
    r.fitSeconds === null
      ? '-'
      : `${r.fitSeconds.toFixed(1)} (${(r.fitSeconds / r.floorSeconds).toFixed(0)}×)`,
    `${r.pipelineSeconds.toFixed(1)} (${(r.pipelineSeconds / r.floorSeconds).toFixed(0)}×)`,
    r.pipelineCpuSeconds.toFixed(1),
    r.peakRssMb.toFixed(0),
    r.modelMb.toFixed(1),
    r.algorithm,
    `${r.parameters}, ${r.weighting}`,
    `${r.ndcgAtK} / ${r.precisionAtK}`,
    `${r.popularityNdcgAtK} / ${r.popularityPrecisionAtK}`,
  ]);
  const header = [
    'case',
    'items',
    'floor s',
    'fit s (× floor)',
    'pipeline s (× floor)',
    'pipeline CPU s',
    'peak RSS MB',
    'model MB',
    'algorithm',
    'parameters',
    'held-out nDCG@10 / P@10',
    'popularity nDCG@10 / P@10',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write([format(header), ...rows.map(format)].join('\n') + '\n');

  const directory = join(__dirname, '..', '..', 'bench', 'results');
  const file = join(directory, 'affinityTraining.json');
  // A run of some cases keeps the figures of the others from the last run that measured them.
  const json = (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {}) as Record<
    string,
    number | string | null
  >;
  json.generatedAt = new Date().toISOString();
  json.loadAverage1m = round(loadavg()[0] ?? 0);
  for (const r of results) {
    const key = (name: string) => `affinity.train_${r.name}.${name}`;
    json[key('floor_s')] = round(r.floorSeconds);
    json[key('fit_s')] = r.fitSeconds === null ? null : round(r.fitSeconds);
    json[key('pipeline_s')] = round(r.pipelineSeconds);
    json[key('pipeline_cpu_s')] = round(r.pipelineCpuSeconds);
    json[key('pipeline_over_floor')] = round(r.pipelineSeconds / r.floorSeconds);
    json[key('peak_rss_mb')] = Math.round(r.peakRssMb);
    json[key('model_mb')] = round(r.modelMb);
    json[key('items')] = r.items;
    json[key('algorithm')] = r.algorithm;
    json[key('parameters')] = r.parameters;
    json[key('weighting')] = r.weighting;
    json[key('ndcg_at_10')] = r.ndcgAtK;
    json[key('precision_at_10')] = r.precisionAtK;
    json[key('popularity_ndcg_at_10')] = r.popularityNdcgAtK;
    json[key('popularity_precision_at_10')] = r.popularityPrecisionAtK;
  }
  mkdirSync(directory, { recursive: true });
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
