import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AffinityEvaluation, evaluateAffinity } from '../models/affinity/evaluation';
import {
  Interaction,
  InteractionFormat,
  interactionFormats,
  readInteractionsFile,
} from '../models/affinity/interactions';
import { generateGenreInteractions, generateSyntheticInteractions } from '../models/affinity/synthetic';

/**
 * Ranking quality under the Recommenders protocol (per-user random 75/25, top 10, training items
 * excluded) on two independent synthetic shapes of MovieLens-100k (943 users, 1,682 items, ~100k
 * ratings): `latent` (models/affinity/synthetic.ts, Gaussian latent factors, popularity independent of
 * taste) and `genre` (a non-negative genre mixture, popularity that follows quality). Each runs twice on
 * the same split: the model as shipped (blend chosen on validation) and EASE alone (--blend 0
 * --low-rank-share 0 --low-pass-share 0), so the blend's gain is measured against the same baselines in the same run.
 *
 * With `--input FILE` it runs a real ratings file instead (MovieLens-100k's u.data: the data set the
 * quality goal names, which the repository cannot ship) over several split seeds, and reports each
 * seed and the mean and worst seed of every row.
 */

interface Shape {
  name: string;
  interactions: () => Interaction[];
}

const shapes: Shape[] = [
  {
    name: 'latent',
    interactions: () =>
      generateSyntheticInteractions({ users: 943, items: 1682, interactions: 100_000, seed: 1 }),
  },
  {
    name: 'genre',
    interactions: () => generateGenreInteractions({ users: 943, items: 1682, interactions: 100_000 }),
  },
];

function describeModel(model: AffinityEvaluation['model']): string {
  if (!('lambda' in model))
    return `${model.algorithm} (${model.weighting}, β ${model.rp3Beta}, K ${model.neighbours})`;
  return `${model.algorithm} (λ ${model.lambda} ${model.weighting}, s ${model.blend}, β ${model.rp3Beta}, c ${model.lowRankShare}, r ${model.lowRank}, h ${model.lowPassShare}, q ${model.lowPassRank})`;
}

type Metrics = Pick<AffinityEvaluation['model'], 'ndcgAtK' | 'precisionAtK' | 'map' | 'recallAtK'>;

function metricLine(label: string, m: Metrics): string {
  return `  ${label.padEnd(72)} nDCG@10 ${m.ndcgAtK.toFixed(3)}  P@10 ${m.precisionAtK.toFixed(3)}  MAP ${m.map.toFixed(3)}  R@10 ${m.recallAtK.toFixed(3)}`;
}

/** The shipped model and EASE alone on one split, with the run's baselines. */
async function evaluateBoth(interactions: readonly Interaction[], seed?: number) {
  const seedOption = seed === undefined ? {} : { seed };
  const shipped = await evaluateAffinity(interactions, seedOption);
  const easeAlone = await evaluateAffinity(interactions, {
    ...seedOption,
    blend: 0,
    lowRankShare: 0,
    lowPassShare: 0,
  });
  return { shipped, easeAlone };
}

async function syntheticShapes(json: Record<string, number | string>, lines: string[]): Promise<void> {
  for (const shape of shapes) {
    process.stderr.write(`affinity quality bench: ${shape.name}…\n`);
    const { shipped, easeAlone } = await evaluateBoth(shape.interactions());
    const { popularity, sar } = shipped.baselines;
    lines.push(
      `${shape.name}: ${shipped.protocol.interactions} interactions, ${shipped.protocol.users} users`,
      metricLine(describeModel(shipped.model), shipped.model),
      metricLine(describeModel(easeAlone.model), easeAlone.model),
      metricLine('SAR (Jaccard)', sar),
      metricLine('popularity', popularity),
    );
    const key = `affinity.quality_${shape.name}`;
    json[`${key}.model`] = describeModel(shipped.model);
    json[`${key}.ndcg_at_10`] = shipped.model.ndcgAtK;
    json[`${key}.precision_at_10`] = shipped.model.precisionAtK;
    json[`${key}.ease_alone.ndcg_at_10`] = easeAlone.model.ndcgAtK;
    json[`${key}.ease_alone.precision_at_10`] = easeAlone.model.precisionAtK;
    json[`${key}.sar.ndcg_at_10`] = sar.ndcgAtK;
    json[`${key}.sar.precision_at_10`] = sar.precisionAtK;
    json[`${key}.popularity.ndcg_at_10`] = popularity.ndcgAtK;
    json[`${key}.popularity.precision_at_10`] = popularity.precisionAtK;
    json[`${key}.model_s`] = shipped.model.seconds;
  }
}

const round = (value: number) => Math.round(value * 1e4) / 1e4;
const mean = (values: readonly number[]) => round(values.reduce((a, b) => a + b, 0) / values.length);

/**
 * A ratings file (MovieLens-100k's u.data, say) over several split seeds: one seed's split moves P@10
 * by about ±0.005 on 100k ratings, as much as the gap between close models, so a goal is judged on
 * the mean and the worst seed rather than on one split.
 */
async function ratingsFile(
  path: string,
  format: InteractionFormat,
  seeds: readonly number[],
  json: Record<string, number | string>,
  lines: string[],
): Promise<void> {
  const interactions = await readInteractionsFile(path, format);
  const runs: Array<{ seed: number } & Awaited<ReturnType<typeof evaluateBoth>>> = [];
  for (const seed of seeds) {
    process.stderr.write(`affinity quality bench: ${path}, split seed ${seed}…\n`);
    runs.push({ seed, ...(await evaluateBoth(interactions, seed)) });
  }
  const first = runs[0]!.shipped.protocol;
  lines.push(`${path}: ${first.interactions} interactions, ${first.users} users, ${first.items} items`);
  for (const { seed, shipped } of runs) {
    lines.push(metricLine(`seed ${seed}: ${describeModel(shipped.model)}`, shipped.model));
  }
  const rows: Array<[string, string, (run: (typeof runs)[number]) => Metrics]> = [
    ['model as shipped', 'model', (run) => run.shipped.model],
    ['EASE alone', 'ease_alone', (run) => run.easeAlone.model],
    ['SAR (Jaccard)', 'sar', (run) => run.shipped.baselines.sar],
    ['popularity', 'popularity', (run) => run.shipped.baselines.popularity],
  ];
  lines.push(`mean over seeds ${seeds.join(', ')} (worst seed in brackets):`);
  for (const [label, key, pick] of rows) {
    const ndcg = runs.map((run) => pick(run).ndcgAtK);
    const precision = runs.map((run) => pick(run).precisionAtK);
    lines.push(
      `  ${label.padEnd(20)} nDCG@10 ${mean(ndcg).toFixed(4)} (${Math.min(...ndcg).toFixed(4)})  P@10 ${mean(precision).toFixed(4)} (${Math.min(...precision).toFixed(4)})`,
    );
    json[`affinity.quality_input.${key}.ndcg_at_10_mean`] = mean(ndcg);
    json[`affinity.quality_input.${key}.ndcg_at_10_min`] = Math.min(...ndcg);
    json[`affinity.quality_input.${key}.precision_at_10_mean`] = mean(precision);
    json[`affinity.quality_input.${key}.precision_at_10_min`] = Math.min(...precision);
  }
  json['affinity.quality_input.file'] = path;
  json['affinity.quality_input.seeds'] = seeds.join(',');
}

const usage = `usage: node dist/bench/affinityQuality.js [--input FILE [--format F] [--seeds 42,1,2,3,7]]
  without --input   the two synthetic MovieLens-100k shapes, split seed 42 (bench/results/affinityQuality.json)
  --input FILE      a ratings file in any format 'affinity evaluate' reads, over each split seed
                    (bench/results/affinityQuality-input.json)`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      input: { type: 'string' },
      format: { type: 'string', default: 'auto' },
      seeds: { type: 'string', default: '42,1,2,3,7' },
      help: { type: 'boolean' },
    },
  });
  if (values.help === true) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const format = values.format as InteractionFormat;
  if (!interactionFormats.includes(format)) {
    throw new Error(`--format must be one of ${interactionFormats.join(', ')}, got ${values.format}`);
  }
  const seeds = values.seeds.split(',').map((raw) => {
    const seed = Number(raw);
    if (raw.trim() === '' || !Number.isInteger(seed)) throw new Error(`--seeds: "${raw}" is not an integer`);
    return seed;
  });
  const json: Record<string, number | string> = {
    generatedAt: new Date().toISOString(),
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
  const lines: string[] = [];
  if (values.input === undefined) await syntheticShapes(json, lines);
  else await ratingsFile(values.input, format, seeds, json, lines);
  process.stdout.write(lines.join('\n') + '\n');
  const directory = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  const name = values.input === undefined ? 'affinityQuality.json' : 'affinityQuality-input.json';
  writeFileSync(join(directory, name), JSON.stringify(json, null, 2) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
