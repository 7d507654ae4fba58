import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * Cold-start product scores for users without history: a global list and lists per context
 * (`category:<name>`, `hour:<0-23>`), each a Redis sorted set of productId → score, plus a record of
 * the model version they came from and the lists it loaded (`coldstart:@loaded`), written in the same
 * swap as the lists.
 */
export interface ColdStartScores {
  global: Array<{ itemId: string; score: number }>;
  byContext: Record<string, Array<{ itemId: string; score: number }>>;
}

export interface ColdStartStore {
  /** The top products for the first context that has scores, else the global list. */
  topProducts(contexts: readonly string[], limit: number): Promise<Map<string, number>>;
  /**
   * Replaces every list at once (a new model's scores); readers never see a mix of old and new. With a
   * version, that version is recorded with the lists; without one, the record is cleared.
   */
  replace(scores: ColdStartScores, version?: string): Promise<void>;
}

/** A store that records which model version its lists came from (what keeps Redis in step with `latest`). */
export interface VersionedColdStartStore extends ColdStartStore {
  /**
   * The model version whose lists are loaded, if they were loaded with one and every one of them is
   * still there (an `allkeys-lru` Redis may evict some; a restarted Basic-tier cache has none).
   */
  loadedVersion(): Promise<string | undefined>;
}

const loadedRecordSchema = z.object({ version: z.string(), lists: z.array(z.string()) });

/** Lists under construction expire if their writer dies before the swap. */
const BUILD_TTL_MS = 10 * 60 * 1000;

/** The replies of a pipeline or MULTI, with the first error thrown (ioredis resolves with them). */
function checkReplies(replies: Array<[Error | null, unknown]> | null, what: string): void {
  if (replies === null) throw new Error(`cold-start ${what} was aborted`);
  for (const [error] of replies) if (error) throw error;
}

export class RedisColdStartStore implements VersionedColdStartStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  private key(name: string): string {
    return `${this.keyPrefix}coldstart:${name}`;
  }

  /** Outside the `coldstart:` namespace, so a build in progress is not among the keys a swap deletes. */
  private buildKey(build: string, name: string): string {
    return `${this.keyPrefix}coldstart~${build}:${name}`;
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

  async loadedVersion(): Promise<string | undefined> {
    const raw = await this.redis.get(this.key('@loaded'));
    if (raw === null) return undefined;
    let record: z.infer<typeof loadedRecordSchema>;
    try {
      record = loadedRecordSchema.parse(JSON.parse(raw));
    } catch {
      return undefined; // not a record this code wrote: reload
    }
    if (record.lists.length > 0) {
      const present = await this.redis.exists(...record.lists.map((name) => this.key(name)));
      if (present !== record.lists.length) return undefined;
    }
    return record.version;
  }

  async replace(scores: ColdStartScores, version?: string): Promise<void> {
    const lists = (
      [['global', scores.global], ...Object.entries(scores.byContext)] as Array<
        [string, ColdStartScores['global']]
      >
    ).filter(([, items]) => items.length > 0);
    // SCAN, not KEYS: the Redis may be shared, and KEYS blocks it while it walks every key.
    const existing: string[] = [];
    for await (const keys of this.redis.scanStream({ match: this.key('*'), count: 500 }))
      existing.push(...(keys as string[]));
    // Build under keys of this replace alone (two replaces at once must not swap in each other's
    // half-built lists), then swap all in one MULTI so readers see old or new, never half.
    const build = randomUUID();
    const pipeline = this.redis.pipeline();
    for (const [name, items] of lists) {
      const args: Array<string | number> = [];
      for (const item of items) args.push(item.score, item.itemId);
      pipeline.del(this.buildKey(build, name));
      pipeline.zadd(this.buildKey(build, name), ...args);
      pipeline.pexpire(this.buildKey(build, name), BUILD_TTL_MS);
    }
    checkReplies(await pipeline.exec(), 'build');
    const swap = this.redis.multi();
    for (const key of existing) swap.del(key);
    for (const [name] of lists) {
      swap.rename(this.buildKey(build, name), this.key(name));
      swap.persist(this.key(name)); // RENAME keeps the build's expiry
    }
    if (version !== undefined)
      swap.set(this.key('@loaded'), JSON.stringify({ version, lists: lists.map(([name]) => name) }));
    checkReplies(await swap.exec(), 'swap');
  }
}
