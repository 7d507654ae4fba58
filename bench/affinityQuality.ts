import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { AffinityEvaluation, evaluateAffinity } from '../models/affinity/evaluation';
import { Interaction } from '../models/affinity/interactions';
import { generateGenreInteractions, generateSyntheticInteractions } from '../models/affinity/synthetic';

/**
 * Ranking quality under the Recommenders protocol (per-user random 75/25, top 10, training items
 * excluded) on two independent synthetic shapes of MovieLens-100k (943 users, 1,682 items, ~100k
 * ratings): `latent` (models/affinity/synthetic.ts, Gaussian latent factors, popularity independent of
 * taste) and `genre` (a non-negative genre mixture, popularity that follows quality). Each runs twice on
 * the same split: the model as shipped (blend chosen on validation) and EASE alone (--blend 0
 * --low-rank-share 0), so the blend's gain is measured against the same baselines in the same run.
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
  return `${model.algorithm} (λ ${model.lambda} ${model.weighting}, s ${model.blend}, β ${model.rp3Beta}, c ${model.lowRankShare}, r ${model.lowRank})`;
}

async function main(): Promise<void> {
  const json: Record<string, number | string> = {
    generatedAt: new Date().toISOString(),
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
  const lines: string[] = [];
  for (const shape of shapes) {
    process.stderr.write(`affinity quality bench: ${shape.name}…\n`);
    const interactions = shape.interactions();
    const shipped = await evaluateAffinity(interactions, {});
    const easeAlone = await evaluateAffinity(interactions, { blend: 0, lowRankShare: 0 });
    const { popularity, sar } = shipped.baselines;
    const rows: Array<[string, { ndcgAtK: number; precisionAtK: number; map: number; recallAtK: number }]> = [
      [describeModel(shipped.model), shipped.model],
      [describeModel(easeAlone.model), easeAlone.model],
      ['SAR (Jaccard)', sar],
      ['popularity', popularity],
    ];
    lines.push(
      `${shape.name}: ${shipped.protocol.interactions} interactions, ${shipped.protocol.users} users`,
    );
    for (const [label, m] of rows) {
      lines.push(
        `  ${label.padEnd(72)} nDCG@10 ${m.ndcgAtK.toFixed(3)}  P@10 ${m.precisionAtK.toFixed(3)}  MAP ${m.map.toFixed(3)}  R@10 ${m.recallAtK.toFixed(3)}`,
      );
    }
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
  process.stdout.write(lines.join('\n') + '\n');
  const directory = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, 'affinityQuality.json'), JSON.stringify(json, null, 2) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
