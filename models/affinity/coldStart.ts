import { ColdStartScores, ScoredItem } from '../../shared/affinity/bundle';
import { Interaction } from './interactions';

/**
 * Scores for users without a usable history: item popularity (summed interaction weight) overall, per
 * item category and per UTC hour of day, each list best first and scaled so its best item scores 1.
 * Written to `coldStart.json`; the cold-start loader puts these lists into Redis.
 */
export function computeColdStartScores(
  interactions: readonly Interaction[],
  listSize: number,
): ColdStartScores {
  const global = new Map<string, number>();
  const byContext = new Map<string, Map<string, number>>();
  const add = (context: string, itemId: string, weight: number): void => {
    let scores = byContext.get(context);
    if (scores === undefined) byContext.set(context, (scores = new Map<string, number>()));
    scores.set(itemId, (scores.get(itemId) ?? 0) + weight);
  };
  for (const interaction of interactions) {
    global.set(interaction.itemId, (global.get(interaction.itemId) ?? 0) + interaction.weight);
    if (interaction.category !== undefined)
      add(`category:${interaction.category}`, interaction.itemId, interaction.weight);
    if (interaction.timestamp !== undefined) {
      add(`hour:${new Date(interaction.timestamp).getUTCHours()}`, interaction.itemId, interaction.weight);
    }
  }
  const contexts: Record<string, ScoredItem[]> = {};
  for (const context of [...byContext.keys()].sort())
    contexts[context] = ranked(byContext.get(context)!, listSize);
  return { global: ranked(global, listSize), byContext: contexts };
}

function ranked(scores: ReadonlyMap<string, number>, listSize: number): ScoredItem[] {
  const sorted = [...scores.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, listSize);
  const best = sorted[0]?.[1] ?? 1;
  return sorted.map(([itemId, score]) => ({ itemId, score: Math.round((score / best) * 1e6) / 1e6 }));
}
