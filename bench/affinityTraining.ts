import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { trainEase } from '../models/affinity/ease';
import { buildInteractionMatrix } from '../models/affinity/interactionMatrix';
import { parseInteractions } from '../models/affinity/interactions';
import { generateSyntheticInteractions, toCsv } from '../models/affinity/synthetic';
import { trainAffinityModel } from '../models/affinity/train';

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
 */

interface Case {
  name: string;
  users: number;
  items: number;
  interactions: number;
}

const cases: Case[] = [
  { name: '100k', users: 943, items: 1682, interactions: 100_000 },
  { name: '1M', users: 6040, items: 3706, interactions: 1_000_000 },
];

interface CaseResult {
  name: string;
  interactions: number;
  items: number;
  floorSeconds: number;
  fitSeconds: number;
  pipelineSeconds: number;
  /** CPU time (user + system, all threads) of the pipeline: the figure other load does not inflate. */
  pipelineCpuSeconds: number;
  peakRssMb: number;
  modelMb: number;
  lambda: number;
  weighting: string;
  blend: number;
  rp3Beta: number;
  lowRankShare: number;
  lowRank: number;
  ndcgAtK: number | null;
  precisionAtK: number | null;
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function runCase(spec: Case): Promise<CaseResult> {
  const interactions = generateSyntheticInteractions({ ...spec, seed: 1 });
  const csv = toCsv(interactions);

  let start = process.hrtime.bigint();
  const parsed = parseInteractions(csv, 'bench');
  const floorSeconds = seconds(start);
  if (parsed.length !== interactions.length) throw new Error('floor pass lost interactions');

  const matrix = buildInteractionMatrix(parsed);
  start = process.hrtime.bigint();
  trainEase(matrix.rows, matrix.itemIds.length, { lambda: 400, maxItems: 5000, weighting: 'binary' });
  const fitSeconds = seconds(start);

  start = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  const bundle = await trainAffinityModel(parsed, {});
  const pipelineSeconds = seconds(start);
  const cpu = process.cpuUsage(cpuBefore);
  const pipelineCpuSeconds = (cpu.user + cpu.system) / 1e6;

  return {
    name: spec.name,
    interactions: parsed.length,
    items: bundle.manifest.itemCount,
    floorSeconds,
    fitSeconds,
    pipelineSeconds,
    pipelineCpuSeconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    modelMb: bundle.files['model.onnx'].byteLength / 1e6,
    lambda: Number(bundle.manifest.parameters.lambda),
    weighting: bundle.manifest.weighting,
    blend: Number(bundle.manifest.parameters.blend),
    rp3Beta: Number(bundle.manifest.parameters.rp3Beta),
    lowRankShare: Number(bundle.manifest.parameters.lowRankShare),
    lowRank: Number(bundle.manifest.parameters.lowRank),
    ndcgAtK: bundle.manifest.metrics?.ndcgAtK ?? null,
    precisionAtK: bundle.manifest.metrics?.precisionAtK ?? null,
  };
}

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only !== undefined) {
    const spec = cases.find((c) => c.name === only);
    if (!spec) throw new Error(`unknown case ${only}`);
    process.stdout.write(JSON.stringify(await runCase(spec)) + '\n');
    return;
  }
  const results: CaseResult[] = [];
  for (const spec of cases) {
    process.stderr.write(`affinity training bench: ${spec.name} interactions…\n`);
    const output = execFileSync(process.execPath, ['--max-old-space-size=4096', __filename, spec.name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    results.push(JSON.parse(output) as CaseResult);
  }
  const rows = results.map((r) => [
    r.name,
    String(r.items),
    r.floorSeconds.toFixed(2),
    `${r.fitSeconds.toFixed(1)} (${(r.fitSeconds / r.floorSeconds).toFixed(0)}×)`,
    `${r.pipelineSeconds.toFixed(1)} (${(r.pipelineSeconds / r.floorSeconds).toFixed(0)}×)`,
    r.pipelineCpuSeconds.toFixed(1),
    r.peakRssMb.toFixed(0),
    r.modelMb.toFixed(1),
    `${r.lambda} ${r.weighting}`,
    `${r.blend} / ${r.rp3Beta} / ${r.lowRankShare} / ${r.lowRank}`,
    `${r.ndcgAtK} / ${r.precisionAtK}`,
  ]);
  const header = [
    'interactions',
    'items',
    'floor s',
    'fit s (× floor)',
    'pipeline s (× floor)',
    'pipeline CPU s',
    'peak RSS MB',
    'model MB',
    'λ, weighting',
    's / β / c / r',
    'held-out nDCG@10 / P@10',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stdout.write([format(header), ...rows.map(format)].join('\n') + '\n');

  const json: Record<string, number | string | null> = {
    generatedAt: new Date().toISOString(),
    loadAverage1m: round(loadavg()[0] ?? 0),
  };
  for (const r of results) {
    json[`affinity.train_${r.name}.floor_s`] = round(r.floorSeconds);
    json[`affinity.train_${r.name}.fit_s`] = round(r.fitSeconds);
    json[`affinity.train_${r.name}.pipeline_s`] = round(r.pipelineSeconds);
    json[`affinity.train_${r.name}.pipeline_cpu_s`] = round(r.pipelineCpuSeconds);
    json[`affinity.train_${r.name}.pipeline_over_floor`] = round(r.pipelineSeconds / r.floorSeconds);
    json[`affinity.train_${r.name}.peak_rss_mb`] = Math.round(r.peakRssMb);
    json[`affinity.train_${r.name}.model_mb`] = round(r.modelMb);
    json[`affinity.train_${r.name}.items`] = r.items;
    json[`affinity.train_${r.name}.ndcg_at_10`] = r.ndcgAtK;
    json[`affinity.train_${r.name}.precision_at_10`] = r.precisionAtK;
    json[`affinity.train_${r.name}.blend`] = r.blend;
    json[`affinity.train_${r.name}.rp3_beta`] = r.rp3Beta;
    json[`affinity.train_${r.name}.low_rank_share`] = r.lowRankShare;
    json[`affinity.train_${r.name}.low_rank`] = r.lowRank;
  }
  const directory = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'affinityTraining.json'), JSON.stringify(json, null, 2) + '\n');
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
