import { Random } from '../../../shared/simulation/random';
import {
  categoryAffinity,
  generateWorld,
  plantedPreferences,
  productAffinity,
} from '../../../shared/simulation/world';

describe('generateWorld', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = generateWorld(42, { users: 50, products: 40 });
    const b = generateWorld(42, { users: 50, products: 40 });
    const c = generateWorld(43, { users: 50, products: 40 });
    expect(plantedPreferences(a)).toEqual(plantedPreferences(b));
    expect(a.products.map((p) => [p.category, p.price])).toEqual(
      b.products.map((p) => [p.category, p.price]),
    );
    expect(plantedPreferences(a)).not.toEqual(plantedPreferences(c));
  });

  it('names products and users with padded ids and covers every category', () => {
    const world = generateWorld(1, { users: 12, products: 30, categories: 5 });
    expect(world.products[0]!.productId).toBe('p0001');
    expect(world.products[29]!.productId).toBe('p0030');
    expect(world.users[0]!.userId).toBe('u00001');
    expect(new Set(world.products.map((p) => p.category))).toEqual(new Set(world.categories));
    for (const product of world.products) expect(product.price).toBeGreaterThan(0);
  });

  it('skews popularity like Zipf: the top product is rank 1, the tail falls off as 1/rank', () => {
    const world = generateWorld(3, { users: 1, products: 100 });
    const popularity = world.products.map((p) => p.popularity).sort((x, y) => y - x);
    expect(popularity[0]).toBe(1);
    expect(popularity[9]).toBeCloseTo(1 / 10);
    expect(popularity[99]).toBeCloseTo(1 / 100);
  });

  it("plants preferences: a user's favourite categories hold the products they like most", () => {
    const world = generateWorld(5, { users: 300, products: 240, categories: 12 });
    let favouriteTopProducts = 0;
    let total = 0;
    let favouriteFirst = 0;
    for (const [index, truth] of plantedPreferences(world, 5).entries()) {
      const user = world.users[index]!;
      for (const productId of truth.topProducts) {
        const product = world.products.find((p) => p.productId === productId)!;
        total++;
        if (user.favouriteCategories.includes(product.category)) favouriteTopProducts++;
      }
      const strongest = categoryAffinity(world, user, user.favouriteCategories[0]!);
      const others = world.categories.filter((c) => !user.favouriteCategories.includes(c));
      if (Math.max(...others.map((c) => categoryAffinity(world, user, c))) < strongest) favouriteFirst++;
    }
    // Category directions are random, not orthogonal, so a neighbour of a favourite may sometimes win.
    expect(favouriteFirst / world.users.length).toBeGreaterThan(0.9);
    // By chance about 2/12 of top products would fall in a user's (on average two) favourite categories.
    expect(favouriteTopProducts / total).toBeGreaterThan(0.8);
  });

  it('keeps affinity a probability', () => {
    const world = generateWorld(9, { users: 20, products: 20 });
    for (const user of world.users) {
      for (const product of world.products) {
        const affinity = productAffinity(user, product);
        expect(affinity).toBeGreaterThan(0);
        expect(affinity).toBeLessThan(1);
      }
    }
  });

  it('rejects sizes out of range, naming them', () => {
    expect(() => generateWorld(1, { users: 0, products: 10 })).toThrow(/users/);
    expect(() => generateWorld(1, { users: 10, products: 1.5 })).toThrow(/products/);
    expect(() => generateWorld(1, { users: 10, products: 5, categories: 6 })).toThrow(/categories/);
    expect(() => generateWorld(-1, { users: 10, products: 5 })).toThrow(/seed/);
  });
});

describe('Random', () => {
  it('gives the same stream for the same labels and different ones otherwise', () => {
    const draws = (random: Random) => Array.from({ length: 5 }, () => random.next());
    expect(draws(Random.stream(1, 'session', 7))).toEqual(draws(Random.stream(1, 'session', 7)));
    expect(draws(Random.stream(1, 'session', 7))).not.toEqual(draws(Random.stream(1, 'session', 8)));
  });

  it('draws indices in proportion to weights', () => {
    const random = new Random(11);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[random.weightedIndex([1, 1, 4])]!++;
    // Index 1 has weight 0 (running totals 1, 1, 4): never drawn; index 2 three times as often as 0.
    expect(counts[1]).toBe(0);
    expect(counts[2]! / counts[0]!).toBeGreaterThan(2.7);
    expect(counts[2]! / counts[0]!).toBeLessThan(3.3);
  });
});
