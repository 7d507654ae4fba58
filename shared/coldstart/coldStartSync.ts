import { BundleFiles, VerifiedBundle, verifiedBundleOf, verifyBundle } from '../affinity/bundle';
import { AffinityBundleStore, LATEST_POINTER } from '../affinity/bundleStore';
import { errorMessage } from '../errors';
import { isTransientStatus, RetryOptions, withRetry } from '../resilience/retry';
import { ColdStartStore, VersionedColdStartStore } from './coldStartStore';

/**
 * Keeps the cold-start lists in Redis (what the offer function serves users without history from) those
 * of the model `affinity/latest.json` names. The retraining run calls `syncColdStartToLatest` after
 * every publish; it writes only when Redis does not already hold that version's lists (the version is
 * recorded with them), so it is idempotent, and a run after one whose Redis write failed repairs it.
 * After writing it reads the pointer again and follows it if it moved meanwhile, so a run that read the
 * pointer before another run moved it never leaves Redis with the older version's lists.
 */

export interface ColdStartLoad {
  version: string;
  /** The global list and one per context. */
  lists: number;
  globalItems: number;
}

/**
 * Loads a bundle's cold-start lists into Redis, replacing the previous ones at once and recording the
 * bundle's version. Files are verified first, the whole bundle (format, every file against its digest in
 * manifest.json; BundleError otherwise), as the offer function verifies it, so Redis never gets lists
 * from a corrupt or mixed bundle; a bundle verifyBundle returned is not hashed again. What
 * `npx nextoffer coldstart load` does with a bundle directory.
 */
export async function loadBundleColdStart(
  store: ColdStartStore,
  files: Partial<BundleFiles> | VerifiedBundle,
): Promise<ColdStartLoad> {
  const bundle = verifiedBundleOf(files);
  await store.replace(bundle.coldStart, bundle.manifest.version);
  return {
    version: bundle.manifest.version,
    lists: 1 + Object.keys(bundle.coldStart.byContext).length,
    globalItems: bundle.coldStart.global.length,
  };
}

const REDIS_REPLY_TRANSIENT = /^(LOADING|BUSY|TRYAGAIN|READONLY|MASTERDOWN|CLUSTERDOWN)\b/;
const REDIS_CONNECTION_MESSAGES = [
  'Connection is closed.',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'connect ETIMEDOUT',
  'Command timed out',
];

/**
 * Whether a Redis error may pass: no connection (not yet connected, reset, timed out), a failover or
 * restart in progress (READONLY, LOADING, MASTERDOWN), a busy script. A wrong type, a bad command or
 * refused credentials are not.
 */
export function isTransientRedisError(error: unknown): boolean {
  // Duck-typed: errors of Node's net module need not be instances of this realm's Error.
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  if (typeof message !== 'string') return false;
  if (name === 'ReplyError') return REDIS_REPLY_TRANSIENT.test(message);
  if (name === 'AbortError' || name === 'MaxRetriesPerRequestError') return true;
  if (isTransientStatus(error)) return true; // ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, …
  return REDIS_CONNECTION_MESSAGES.some((prefix) => message.startsWith(prefix));
}

/** About 15 s at most: long enough for a reconnect or a managed Redis failover. */
export const coldStartSyncRetry: Omit<RetryOptions, 'isTransient'> = {
  attempts: 6,
  baseDelayMs: 500,
  maxDelayMs: 8000,
};

export type ColdStartSync =
  /** Redis already held the lists of `latest`'s version: nothing written. */
  | { status: 'current'; version: string }
  | ({ status: 'loaded' } & ColdStartLoad)
  /** Nothing was ever published: Redis is left as it is. */
  | { status: 'no-model' }
  | { status: 'failed'; version: string | undefined; error: string };

/** Rounds of write-then-check before the sync gives up on a pointer that keeps moving. */
const MAX_SYNC_ROUNDS = 3;

export interface ColdStartSyncOptions {
  /**
   * The bundle in hand (the one just published), as verifyBundle returned it: used, without downloading
   * or hashing it again, when `latest` names its version.
   */
  candidate?: VerifiedBundle;
  retry?: Partial<Omit<RetryOptions, 'isTransient'>>;
  /** Each retry of a Redis call, with the error that caused it, and each reload after the pointer moved. */
  onRetry?: (message: string) => void;
}

/** Makes Redis hold the cold-start lists of the version `latest` names. Never throws: the result says. */
export async function syncColdStartToLatest(
  bundles: AffinityBundleStore,
  coldStart: VersionedColdStartStore,
  options: ColdStartSyncOptions = {},
): Promise<ColdStartSync> {
  const retry: RetryOptions = {
    ...coldStartSyncRetry,
    ...options.retry,
    isTransient: isTransientRedisError,
    onRetry: (error, attempt, delayMs) =>
      options.onRetry?.(
        `cold-start: Redis call failed (${errorMessage(error)}); attempt ${attempt + 1} in ${Math.round(delayMs)} ms`,
      ),
  };
  let version: string | undefined;
  try {
    const latest = await bundles.readLatest();
    if (latest === undefined) return { status: 'no-model' };
    version = latest.pointer.version;
    for (let round = 1; ; round++) {
      const target: string = version;
      if ((await withRetry(() => coldStart.loadedVersion(), retry)) === target)
        return { status: 'current', version: target };
      const { candidate } = options;
      // Verified once, here or before the publish: the retries below do not hash it again.
      const bundle =
        candidate?.manifest.version === target
          ? verifiedBundleOf(candidate)
          : verifyBundle(await bundles.readBundle(target));
      const loaded = await withRetry(() => loadBundleColdStart(coldStart, bundle), retry);
      // Another run may have moved the pointer since it was read (and loaded its version's lists before
      // this write): then Redis must follow it, or it would keep this older version's lists.
      const now = (await bundles.readLatest())?.pointer.version;
      if (now === undefined || now === target) return { status: 'loaded', ...loaded };
      version = now;
      if (round >= MAX_SYNC_ROUNDS) {
        throw new Error(
          `${LATEST_POINTER} kept moving while the cold-start lists were loaded (last ${target}, now ${now})`,
        );
      }
      options.onRetry?.(
        `cold-start: ${LATEST_POINTER} moved from ${target} to ${now} while its lists were loaded; loading ${now}`,
      );
    }
  } catch (error) {
    return { status: 'failed', version, error: errorMessage(error) };
  }
}
