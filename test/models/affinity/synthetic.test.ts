import { generateGenreInteractions } from '../../../models/affinity/synthetic';

describe('generateGenreInteractions', () => {
  const options = { users: 120, items: 200, interactions: 5000, seed: 4 };
  const interactions = generateGenreInteractions(options);

  it('gives every user at least the floor of distinct items, rated 1 to 5, about the target in total', () => {
    const perUser = new Map<string, Set<string>>();
    for (const { userId, itemId, weight } of interactions) {
      const items = perUser.get(userId) ?? new Set<string>();
      expect(items.has(itemId)).toBe(false);
      items.add(itemId);
      perUser.set(userId, items);
      expect([1, 2, 3, 4, 5]).toContain(weight);
    }
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
