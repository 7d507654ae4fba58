import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * Cold-start product scores for users without history: a global list and lists per context
 * (`category:<name>`, `hour:<0-23>`), each a Redis sorted set of productId → score, plus a record of
 * the lists loaded and the model version they came from (`coldstart:@loaded`), written in the same
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
   * Replaces every list at once (a new model's scores); readers never see a mix of old and new, and when
   * several replaces run at once the lists are those of one of them, whole. With a version, that version
   * is recorded with the lists; without one, none is.
   */
  replace(scores: ColdStartScores, version?: string): Promise<void>;
}

/** A store that records which model version its lists came from (what keeps Redis in step with `latest`). */
export interface VersionedColdStartStore extends ColdStartStore {
  /**
   * The model version whose lists are loaded, if they were loaded with one, every one of them is still
   * there (an `allkeys-lru` Redis may evict some; a restarted Basic-tier cache has none), and there is no
   * other list (one written by something else than `replace`).
   */
  loadedVersion(): Promise<string | undefined>;
}

/** `version` is absent when the lists were loaded without one. */
const loadedRecordSchema = z.object({ version: z.string().optional(), lists: z.array(z.string()) });

/** Lists under construction expire if their writer dies before the swap. */
const BUILD_TTL_MS = 10 * 60 * 1000;

/**
 * The swap, atomic as every script: deletes every list there is (those the caller found by SCAN, which
 * may include lists some other writer left, and those the record names, which include the lists of a
 * swap that ran after that SCAN), renames the built lists in and writes the record. So whatever the
 * interleaving of several replaces, the lists are those of the last swap, and only those.
 *
 * KEYS: the record, then the built lists, then the lists they become (as many), then the keys the SCAN
 * found. ARGV: the number of built lists, the key prefix of the lists (`…coldstart:`), the new record.
 * The lists the record names are not among KEYS (they are not known before the script reads the record):
 * fine on a standalone or replicated Redis (Azure Cache Basic, Standard, Premium without clustering);
 * on a cluster every key of the store would have to share a hash slot anyway.
 */
const SWAP_SCRIPT = `
local record_key = KEYS[1]
local count = tonumber(ARGV[1])
local prefix = ARGV[2]
for i = 2, count + 1 do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    return redis.error_reply('cold-start build ' .. KEYS[i] .. ' expired before the swap')
  end
end
local doomed = {}
for i = 2 * count + 2, #KEYS do doomed[KEYS[i]] = true end
local raw = redis.call('GET', record_key)
if raw then
  local ok, record = pcall(cjson.decode, raw)
  if ok and type(record) == 'table' and type(record.lists) == 'table' then
    for _, name in ipairs(record.lists) do
      if type(name) == 'string' then doomed[prefix .. name] = true end
    end
  end
end
for key in pairs(doomed) do redis.call('DEL', key) end
for i = 2, count + 1 do
  redis.call('RENAME', KEYS[i], KEYS[i + count])
  redis.call('PERSIST', KEYS[i + count]) -- RENAME keeps the build's expiry
end
redis.call('SET', record_key, ARGV[3])
return count
`;

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
    if (record.version === undefined) return undefined;
    // Exactly the recorded lists: none missing (evicted), none besides (written by something else).
    const expected = new Set([...record.lists.map((name) => this.key(name)), this.key('@loaded')]);
    const present = await this.existingKeys();
    if (present.length !== expected.size || present.some((key) => !expected.has(key))) return undefined;
    return record.version;
  }

  /** The keys of the namespace, by SCAN, not KEYS: the Redis may be shared, and KEYS blocks it. */
  private async existingKeys(): Promise<string[]> {
    const keys = new Set<string>();
    for await (const batch of this.redis.scanStream({ match: this.key('*'), count: 500 }))
      for (const key of batch as string[]) keys.add(key); // SCAN may return a key twice
    return [...keys];
  }

  async replace(scores: ColdStartScores, version?: string): Promise<void> {
    const lists = (
      [['global', scores.global], ...Object.entries(scores.byContext)] as Array<
        [string, ColdStartScores['global']]
      >
    ).filter(([, items]) => items.length > 0);
    // Lists written by something else than a swap (an older build of this code) are found only by SCAN.
    const existing = await this.existingKeys();
    // Build under keys of this replace alone (two replaces at once must not swap in each other's
    // half-built lists), then swap all in one script so readers see old or new, never half.
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
    const names = lists.map(([name]) => name);
    const record = JSON.stringify(version === undefined ? { lists: names } : { version, lists: names });
    const keys = [
      this.key('@loaded'),
      ...names.map((name) => this.buildKey(build, name)),
      ...names.map((name) => this.key(name)),
      ...existing,
    ];
    await this.redis.eval(SWAP_SCRIPT, keys.length, ...keys, names.length, this.key(''), record);
  }
}
