import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The affinity model bundle: the files that travel together from training to serving, on disk
 * (`affinity train --out DIR`) and in Blob (`affinity/<version>/<file>`).
 *
 * - `manifest.json`: what the bundle is (format version, model version, algorithm, data range,
 *   offline metrics) and the SHA-256 of every other file, so a truncated or mixed bundle is refused.
 * - `model.onnx`: input `item_indices` int64 [batch, history] and `item_weights` float32 [batch, history]
 *   (pad with index 0, weight 0), output `scores` float32 [batch, items] aligned with `items.json`.
 * - `items.json`: the catalog item ids in model index order.
 * - `coldStart.json`: scores for users without history, global and per context.
 */

export const BUNDLE_FORMAT = 'nextoffer-affinity';
export const BUNDLE_FORMAT_VERSION = 1;

export const bundleFileNames = ['manifest.json', 'model.onnx', 'items.json', 'coldStart.json'] as const;
export type BundleFileName = (typeof bundleFileNames)[number];
export type BundleFiles = Record<BundleFileName, Uint8Array>;

export const MODEL_INPUT_INDICES = 'item_indices';
export const MODEL_INPUT_WEIGHTS = 'item_weights';
export const MODEL_OUTPUT_SCORES = 'scores';

/** Versions become blob name segments, so they stay short and safe. */
export const versionSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'must be 1-64 letters, digits, . _ - starting with a letter or digit',
  );

export const offlineMetricsSchema = z.object({
  k: z.number().int().positive(),
  map: z.number().min(0).max(1),
  ndcgAtK: z.number().min(0).max(1),
  precisionAtK: z.number().min(0).max(1),
  recallAtK: z.number().min(0).max(1),
  users: z.number().int().nonnegative(),
});
export type OfflineMetrics = z.infer<typeof offlineMetricsSchema>;

const fileDigestSchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
});

export const manifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  formatVersion: z.literal(BUNDLE_FORMAT_VERSION),
  version: versionSchema,
  createdAt: z.iso.datetime(),
  algorithm: z.string().min(1),
  /** How history weights are turned into model inputs; applied inside the ONNX graph. */
  weighting: z.enum(['binary', 'raw', 'log1p']),
  itemCount: z.number().int().positive(),
  /** Longest history one scoring call sends; longer histories keep their heaviest items. */
  maxHistory: z.number().int().positive(),
  parameters: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  data: z.object({
    interactions: z.number().int().nonnegative(),
    users: z.number().int().nonnegative(),
    items: z.number().int().nonnegative(),
    /** Items of the data left out of the model (beyond the catalog cap). */
    itemsNotModelled: z.number().int().nonnegative(),
    from: z.iso.datetime().nullable(),
    to: z.iso.datetime().nullable(),
  }),
  /** Offline metrics of the held-out evaluation at training time; null when training skipped it. */
  metrics: offlineMetricsSchema.nullable(),
  files: z.object({
    'model.onnx': fileDigestSchema,
    'items.json': fileDigestSchema,
    'coldStart.json': fileDigestSchema,
  }),
});
export type BundleManifest = z.infer<typeof manifestSchema>;

export const itemIdsSchema = z.array(z.string().min(1).max(128)).min(1);

const scoredItemSchema = z.object({ itemId: z.string().min(1).max(128), score: z.number().finite() });
export type ScoredItem = z.infer<typeof scoredItemSchema>;

/** The shape the Redis cold-start loader reads: `byContext` keys are `category:<c>` and `hour:<0-23>`. */
export const coldStartSchema = z.object({
  global: z.array(scoredItemSchema),
  byContext: z.record(
    z.string().regex(/^(category|hour):.+$/, 'keys are category:<c> or hour:<h>'),
    z.array(scoredItemSchema),
  ),
});
export type ColdStartScores = z.infer<typeof coldStartSchema>;

export class BundleError extends Error {
  override name = 'BundleError';
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseJsonFile<T>(files: Partial<BundleFiles>, name: BundleFileName, schema: z.ZodType<T>): T {
  const bytes = files[name];
  if (bytes === undefined) throw new BundleError(`bundle has no ${name}`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new BundleError(`${name} is not JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new BundleError(`${name}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

export interface VerifiedBundle {
  readonly manifest: BundleManifest;
  readonly itemIds: string[];
  readonly coldStart: ColdStartScores;
  readonly model: Uint8Array;
  /** The files it was verified from (the same bytes, not copies). */
  readonly files: Readonly<BundleFiles>;
}

/** What verifyBundle returned: hashing a bundle of up to 168 MB again proves nothing more. */
const verifiedBundles = new WeakSet<VerifiedBundle>();

/**
 * Checks a bundle before anything serves it: known format version, every file present and matching
 * its digest, items consistent with the manifest. Throws BundleError saying what is wrong.
 */
export function verifyBundle(files: Partial<BundleFiles>): VerifiedBundle {
  const bundle = verifyFiles(files);
  verifiedBundles.add(bundle);
  return bundle;
}

/**
 * A bundle verified once, to pass along instead of its files: the result of verifyBundle as it is, the
 * files of anything else (files, or an object merely shaped like a VerifiedBundle) verified now.
 */
export function verifiedBundleOf(bundle: Partial<BundleFiles> | VerifiedBundle): VerifiedBundle {
  if ('files' in bundle) return verifiedBundles.has(bundle) ? bundle : verifyBundle(bundle.files);
  return verifyBundle(bundle);
}

function verifyFiles(files: Partial<BundleFiles>): VerifiedBundle {
  const manifestBytes = files['manifest.json'];
  if (manifestBytes === undefined) throw new BundleError('bundle has no manifest.json');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch (error) {
    throw new BundleError(`manifest.json is not JSON: ${(error as Error).message}`);
  }
  const format = z.object({ format: z.unknown(), formatVersion: z.unknown() }).safeParse(header);
  if (
    !format.success ||
    format.data.format !== BUNDLE_FORMAT ||
    format.data.formatVersion !== BUNDLE_FORMAT_VERSION
  ) {
    const found = format.success
      ? `${String(format.data.format)} v${String(format.data.formatVersion)}`
      : 'nothing';
    throw new BundleError(
      `incompatible bundle: expected ${BUNDLE_FORMAT} v${BUNDLE_FORMAT_VERSION}, found ${found}`,
    );
  }
  const manifest = parseJsonFile(files, 'manifest.json', manifestSchema);
  for (const name of ['model.onnx', 'items.json', 'coldStart.json'] as const) {
    const bytes = files[name];
    if (bytes === undefined) throw new BundleError(`bundle ${manifest.version} has no ${name}`);
    const expected = manifest.files[name];
    if (bytes.byteLength !== expected.bytes || sha256(bytes) !== expected.sha256) {
      throw new BundleError(
        `bundle ${manifest.version}: ${name} does not match its digest in manifest.json (corrupt or mixed bundle)`,
      );
    }
  }
  const itemIds = parseJsonFile(files, 'items.json', itemIdsSchema);
  if (itemIds.length !== manifest.itemCount) {
    throw new BundleError(
      `bundle ${manifest.version}: items.json has ${itemIds.length} items, manifest says ${manifest.itemCount}`,
    );
  }
  if (new Set(itemIds).size !== itemIds.length)
    throw new BundleError(`bundle ${manifest.version}: items.json repeats an item id`);
  const coldStart = parseJsonFile(files, 'coldStart.json', coldStartSchema);
  const verified: BundleFiles = {
    'manifest.json': manifestBytes,
    'model.onnx': files['model.onnx']!,
    'items.json': files['items.json']!,
    'coldStart.json': files['coldStart.json']!,
  };
  return { manifest, itemIds, coldStart, model: verified['model.onnx'], files: Object.freeze(verified) };
}
