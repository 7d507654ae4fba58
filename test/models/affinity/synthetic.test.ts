import {
  generateGenreInteractions,
  generateLargeCatalogInteractions,
} from '../../../models/affinity/synthetic';
import { Interaction } from '../../../models/affinity/interactions';

/** Each user's items, checking on the way that no user has an item twice and every rating is 1 to 5. */
function distinctRatedItemsPerUser(interactions: readonly Interaction[]): Map<string, Set<string>> {
  const perUser = new Map<string, Set<string>>();
  for (const { userId, itemId, weight } of interactions) {
    const items = perUser.get(userId) ?? new Set<string>();
    expect(items.has(itemId)).toBe(false);
    items.add(itemId);
    perUser.set(userId, items);
    expect([1, 2, 3, 4, 5]).toContain(weight);
  }
  return perUser;
}

describe('generateGenreInteractions', () => {
  const options = { users: 120, items: 200, interactions: 5000, seed: 4 };
  const interactions = generateGenreInteractions(options);

  it('gives every user at least the floor of distinct items, rated 1 to 5, about the target in total', () => {
    const perUser = distinctRatedItemsPerUser(interactions);
    expect(perUser.size).toBe(120);
    for (const items of perUser.values()) expect(items.size).toBeGreaterThanOrEqual(20);
    expect(interactions.length).toBeGreaterThan(4500);
    expect(interactions.length).toBeLessThan(5500);
  });

  it('skews popularity and groups items by genre', () => {
    const counts = new Map<string, number>();
    for (const { itemId } of interactions) counts.set(itemId, (counts.get(itemId) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted[0]!).toBeGreaterThan(4 * sorted[Math.floor(sorted.length / 2)]!);
    const genres = new Set(interactions.map((i) => i.category));
    expect(genres.size).toBeGreaterThan(10);
    expect(genres.size).toBeLessThanOrEqual(18);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    expect(generateGenreInteractions(options)).toEqual(interactions);
    expect(generateGenreInteractions({ ...options, seed: 5 })).not.toEqual(interactions);
  });
});

describe('generateLargeCatalogInteractions', () => {
  const options = { users: 300, items: 20_000, interactions: 12_000, topics: 50, seed: 8 };
  const interactions = generateLargeCatalogInteractions(options);

  it('gives every user distinct items, at least the floor, about the target in total, reproducibly', () => {
    const perUser = distinctRatedItemsPerUser(interactions);
    expect(perUser.size).toBe(300);
    for (const items of perUser.values()) expect(items.size).toBeGreaterThanOrEqual(10);
    expect(interactions.length).toBeGreaterThan(11_000);
    expect(interactions.length).toBeLessThan(13_000);
    expect(generateLargeCatalogInteractions(options)).toEqual(interactions);
  });

  it('skews popularity into a long tail and keeps users on few topics', () => {
    const users = new Map<string, number>();
    for (const { itemId } of interactions) users.set(itemId, (users.get(itemId) ?? 0) + 1);
    const counts = [...users.values()].sort((a, b) => b - a);
    // A long tail: far more distinct items than the dense cap's share of them, most seen once or twice.
    expect(users.size).toBeGreaterThan(4000);
    expect(counts.filter((c) => c <= 2).length).toBeGreaterThan(users.size / 2);
    expect(counts[0]!).toBeGreaterThan(20 * counts[Math.floor(counts.length / 2)]!);
    // Users follow one to three of 50 topics (80 % of their picks); the rest follow global popularity.
    const perUser = new Map<string, Map<string, number>>();
    for (const { userId, category } of interactions) {
      const topics = perUser.get(userId) ?? new Map<string, number>();
      topics.set(category!, (topics.get(category!) ?? 0) + 1);
      perUser.set(userId, topics);
    }
    let inTopThree = 0;
    for (const topics of perUser.values()) {
      const sorted = [...topics.values()].sort((a, b) => b - a);
      inTopThree += sorted.slice(0, 3).reduce((a, b) => a + b, 0);
    }
    expect(inTopThree / interactions.length).toBeGreaterThan(0.7);
  });
});
