import Redis from 'ioredis';

/**
 * Cold-start product scores for users without history: a global list and lists per context
 * (`category:<name>`, `hour:<0-23>`), each a Redis sorted set of productId → score.
 */
export interface ColdStartScores {
  global: Array<{ itemId: string; score: number }>;
  byContext: Record<string, Array<{ itemId: string; score: number }>>;
}

export interface ColdStartStore {
  /** The top products for the first context that has scores, else the global list. */
  topProducts(contexts: readonly string[], limit: number): Promise<Map<string, number>>;
  /** Replaces every list at once (a new model's scores); readers never see a mix of old and new. */
  replace(scores: ColdStartScores): Promise<void>;
}

export class RedisColdStartStore implements ColdStartStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  private key(name: string): string {
    return `${this.keyPrefix}coldstart:${name}`;
  }

  async topProducts(contexts: readonly string[], limit: number): Promise<Map<string, number>> {
    const pipeline = this.redis.pipeline();
    for (const name of [...contexts, 'global'])
      pipeline.zrevrange(this.key(name), 0, limit - 1, 'WITHSCORES');
    const replies = (await pipeline.exec()) ?? [];
    for (const [error, reply] of replies) {
      if (error) throw error;
      const flat = reply as string[];
      if (flat.length === 0) continue;
      const result = new Map<string, number>();
      for (let i = 0; i + 1 < flat.length; i += 2) result.set(flat[i] as string, Number(flat[i + 1]));
      return result;
    }
    return new Map();
  }

  async replace(scores: ColdStartScores): Promise<void> {
    const lists: Array<[string, ColdStartScores['global']]> = [
      ['global', scores.global],
      ...Object.entries(scores.byContext),
    ];
    // SCAN, not KEYS: the Redis may be shared, and KEYS blocks it while it walks every key.
    const existing: string[] = [];
    for await (const keys of this.redis.scanStream({ match: this.key('*'), count: 500 }))
      existing.push(...(keys as string[]));
    // Build under temporary keys, then swap all in one MULTI so readers see old or new, never half.
    const stamp = Date.now().toString(36);
    const build = this.redis.pipeline();
    for (const [name, items] of lists) {
      if (items.length === 0) continue;
      const args: Array<string | number> = [];
      for (const item of items) args.push(item.score, item.itemId);
      build.zadd(`${this.key(name)}~${stamp}`, ...args);
    }
    await build.exec();
    const swap = this.redis.multi();
    for (const key of existing) swap.del(key);
    for (const [name, items] of lists)
      if (items.length > 0) swap.rename(`${this.key(name)}~${stamp}`, this.key(name));
    await swap.exec();
  }
}
