import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ColumnMapping } from './dataset';
import { EncodingSpec } from './encoding';

/**
 * A trained campaign model on disk: `model.onnx` (the scorer) and `campaign-model.json` (this manifest:
 * how to turn rows into the model's inputs, the allowed plan values, the column mapping the model was
 * trained with, and the evaluation of the model and its logistic-regression baseline).
 */

export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'campaign-model.json';
export const MANIFEST_FORMAT = 'nextoffer.campaign-model/1';

export interface EvaluationSummary {
  rows: number;
  positives: number;
  auc: number;
  logLoss: number;
  lift: Array<{ decile: number; count: number; responseRate: number; lift: number; cumulativeLift: number }>;
  calibration: Array<{ decile: number; count: number; meanPredicted: number; observedRate: number }>;
}

export interface CampaignModelManifest {
  format: typeof MANIFEST_FORMAT;
  /** Unique per training run; plans written to Cosmos carry it. */
  version: string;
  createdAt: string;
  /** The touches file's column for each role, as found in training; scoring reads the same names. */
  mapping: ColumnMapping;
  encoding: EncodingSpec;
  learner: { kind: 'gradient-boosted-trees'; trees: number; options: Record<string, number> };
  training: {
    touches: number;
    positives: number;
    trainRows: number;
    validationRows: number;
    holdoutRows: number;
    seconds: number;
  };
  /** Measured on the holdout split (leads never seen in training). */
  metrics: { model: EvaluationSummary; baseline: EvaluationSummary } | undefined;
}

const categorical = z.object({
  kind: z.literal('categorical'),
  codes: z.record(z.string(), z.number().int().nonnegative()),
  otherCode: z.number().int().nonnegative(),
  missingCode: z.number().int().nonnegative(),
  codeCount: z.number().int().positive(),
});
const featureSpec = z.object({
  name: z.string(),
  source: z.enum(['lead', 'touch', 'campaign', 'product']),
  column: z.string(),
  kind: z.enum(['numeric', 'categorical']),
});
const dimension = z.enum(['channel', 'dayOfWeek', 'timeOfDay']);
const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.string().min(1),
  createdAt: z.string(),
  mapping: z.record(z.string(), z.string()),
  encoding: z.object({
    dimensions: z.array(z.object({ dimension, values: z.array(z.string()).min(1) })).min(1),
    features: z.array(featureSpec),
    inputs: z.array(
      z.object({
        name: z.string(),
        role: z.enum(['dimension', 'feature']),
        encoding: z.union([categorical, z.object({ kind: z.literal('numeric') })]),
      }),
    ),
  }),
  learner: z.object({
    kind: z.literal('gradient-boosted-trees'),
    trees: z.number(),
    options: z.record(z.string(), z.number()),
  }),
  training: z.object({
    touches: z.number(),
    positives: z.number(),
    trainRows: z.number(),
    validationRows: z.number(),
    holdoutRows: z.number(),
    seconds: z.number(),
  }),
  // Absent when trained with `--holdout 0` (nothing measured): JSON.stringify leaves undefined out.
  metrics: z.unknown().optional(),
});

export interface CampaignModelBundle {
  manifest: CampaignModelManifest;
  onnx: Uint8Array;
}

/** Writes both files into `dir`; each goes to a temporary name first, so a failed write leaves no half file. */
export async function writeBundle(dir: string, bundle: CampaignModelBundle): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: Array<[string, string | Uint8Array]> = [
    [MODEL_FILE, bundle.onnx],
    [MANIFEST_FILE, JSON.stringify(bundle.manifest, null, 2) + '\n'],
  ];
  try {
    for (const [name, content] of files) await writeFile(join(dir, `${name}.tmp`), content);
  } catch (error) {
    await Promise.all(files.map(([name]) => rm(join(dir, `${name}.tmp`), { force: true })));
    throw error;
  }
  for (const [name] of files) await rename(join(dir, `${name}.tmp`), join(dir, name));
}

export class BundleError extends Error {
  override name = 'BundleError';
}

export function parseManifest(text: string, source: string): CampaignModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new BundleError(`${source}: not JSON (${(error as Error).message})`);
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new BundleError(
      `${source}: field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const manifest = result.data as unknown as CampaignModelManifest;
  const problem = encodingProblem(manifest.encoding);
  if (problem !== undefined) throw new BundleError(`${source}: ${problem}`);
  return manifest;
}

/**
 * Why the encoding cannot drive the planner and scorer, or undefined. The planner trusts the manifest
 * (it looks features up by input name and plans every dimension value), so an inconsistent one is
 * refused here, naming the entry, rather than failing later with a TypeError or a silently wrong plan.
 */
function encodingProblem(encoding: EncodingSpec): string | undefined {
  const { dimensions, features, inputs } = encoding;
  if (inputs.length !== dimensions.length + features.length) {
    return `encoding.inputs has ${inputs.length} entries for ${dimensions.length} dimensions and ${features.length} features`;
  }
  const seen = new Set<string>();
  for (const [d, { dimension, values }] of dimensions.entries()) {
    if (seen.has(dimension)) return `encoding.dimensions[${d}]: ${dimension} is listed twice`;
    seen.add(dimension);
    const duplicate = values.find((value, i) => values.indexOf(value) !== i);
    if (duplicate !== undefined) return `encoding.dimensions[${d}].values lists '${duplicate}' twice`;
    // Inputs hold the dimensions first, in the same order, then the features.
    const input = inputs[d]!;
    const at = `encoding.inputs[${d}]`;
    if (input.role !== 'dimension' || input.name !== dimension) {
      return `${at} is ${input.role} '${input.name}' but encoding.dimensions[${d}] is '${dimension}'`;
    }
    if (input.encoding.kind !== 'categorical') return `${at} (${dimension}) must be categorical`;
    const coded = Object.keys(input.encoding.codes);
    const uncoded = values.find((value) => !coded.includes(value));
    if (uncoded !== undefined) return `${at} has no code for ${dimension} '${uncoded}'`;
    const unlisted = coded.find((value) => !values.includes(value));
    if (unlisted !== undefined) {
      return `${at} codes ${dimension} '${unlisted}', missing from encoding.dimensions[${d}].values`;
    }
  }
  const names = new Set<string>();
  for (const [f, feature] of features.entries()) {
    if (names.has(feature.name)) return `encoding.features[${f}]: '${feature.name}' is listed twice`;
    names.add(feature.name);
    const at = `encoding.inputs[${dimensions.length + f}]`;
    const input = inputs[dimensions.length + f]!;
    if (input.role !== 'feature' || input.name !== feature.name) {
      return `${at} is ${input.role} '${input.name}' but encoding.features[${f}] is '${feature.name}'`;
    }
    if (input.encoding.kind !== feature.kind) {
      return `${at} ('${feature.name}') is encoded as ${input.encoding.kind} but the feature is ${feature.kind}`;
    }
  }
  return undefined;
}

export async function readBundle(dir: string): Promise<CampaignModelBundle> {
  const manifestPath = join(dir, MANIFEST_FILE);
  let text: string;
  let onnx: Uint8Array;
  try {
    text = await readFile(manifestPath, 'utf8');
    onnx = await readFile(join(dir, MODEL_FILE));
  } catch (error) {
    throw new BundleError(`${dir}: not a campaign model directory (${(error as Error).message})`);
  }
  return { manifest: parseManifest(text, manifestPath), onnx };
}
