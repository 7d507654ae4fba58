import { Interaction } from './interactions';

/** One user's items (indices ascending, no repeats) with their weights summed over interactions. */
export interface UserRow {
  items: Int32Array;
  weights: Float64Array;
}

/** Interactions indexed into a sparse user × item matrix. */
export interface InteractionMatrix {
  userIds: string[];
  itemIds: string[];
  rows: UserRow[];
  interactions: number;
  /** Epoch milliseconds of the oldest and newest timestamped interaction. */
  from: number | undefined;
  to: number | undefined;
}

export function buildInteractionMatrix(interactions: readonly Interaction[]): InteractionMatrix {
  const userIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const perUser: Array<Map<number, number>> = [];
  let from: number | undefined;
  let to: number | undefined;
  for (const interaction of interactions) {
    let user = userIndex.get(interaction.userId);
    if (user === undefined) {
      user = userIndex.size;
      userIndex.set(interaction.userId, user);
      perUser.push(new Map());
    }
    let item = itemIndex.get(interaction.itemId);
    if (item === undefined) {
      item = itemIndex.size;
      itemIndex.set(interaction.itemId, item);
    }
    const items = perUser[user];
    if (items) items.set(item, (items.get(item) ?? 0) + interaction.weight);
    if (interaction.timestamp !== undefined) {
      if (from === undefined || interaction.timestamp < from) from = interaction.timestamp;
      if (to === undefined || interaction.timestamp > to) to = interaction.timestamp;
    }
  }
  return {
    userIds: [...userIndex.keys()],
    itemIds: [...itemIndex.keys()],
    rows: perUser.map(rowFromMap),
    interactions: interactions.length,
    from,
    to,
  };
}

export function rowFromMap(items: ReadonlyMap<number, number>): UserRow {
  const sorted = [...items.entries()].sort((a, b) => a[0] - b[0]);
  return { items: Int32Array.from(sorted, (e) => e[0]), weights: Float64Array.from(sorted, (e) => e[1]) };
}

/** Number of users who engaged with each item. */
export function itemUserCounts(rows: readonly UserRow[], itemCount: number): Float64Array {
  const counts = new Float64Array(itemCount);
  for (const row of rows) for (const item of row.items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}
