import { CampaignInputError } from './errors';
import { ColumnValues, FeatureKind, FeatureSpec, PlanDimension, TouchFrame } from './dataset';

/**
 * Turns a touch frame into the model's float matrix. Every input is one float:
 * numeric features as they are (NaN when missing; the trees learn where missing values go), categorical
 * ones as a code. Codes are ranks of the category's smoothed response rate in training, so a threshold on
 * the code groups categories that respond alike and the trees need few splits per categorical feature.
 * Categories seen fewer than MIN_CATEGORY_COUNT times, and categories never seen in training, share one
 * "other" code; plan dimensions (channel, day, time) refuse unseen values instead, since a plan on a
 * channel the model never saw would be a guess.
 */

export const MIN_CATEGORY_COUNT = 5;
/** Pseudo-count pulling small categories' response rate toward the overall rate when ordering them. */
const RATE_SMOOTHING = 20;

export interface CategoricalEncoding {
  kind: 'categorical';
  /** Code of each category seen often enough in training. */
  codes: Record<string, number>;
  /** Code for rare and unseen categories. */
  otherCode: number;
  /** Code for a missing value. */
  missingCode: number;
  codeCount: number;
}

export interface NumericEncoding {
  kind: 'numeric';
}

export interface InputEncoding {
  /** The model input's name: a plan dimension or a feature name. */
  name: string;
  role: 'dimension' | 'feature';
  encoding: CategoricalEncoding | NumericEncoding;
}

export interface DimensionValues {
  dimension: PlanDimension;
  /** Every value seen in training, in first-seen order. */
  values: string[];
}

export interface EncodingSpec {
  dimensions: DimensionValues[];
  features: FeatureSpec[];
  /** One per model input column: the dimensions first, then the features. */
  inputs: InputEncoding[];
}

function fitCategorical(
  values: readonly (string | undefined)[],
  outcome: Uint8Array,
  keepAll: boolean,
): CategoricalEncoding {
  const counts = new Map<string | undefined, { n: number; positives: number }>();
  let positives = 0;
  for (let i = 0; i < values.length; i++) {
    const key = values[i];
    const entry = counts.get(key) ?? { n: 0, positives: 0 };
    entry.n++;
    entry.positives += outcome[i]!;
    positives += outcome[i]!;
    counts.set(key, entry);
  }
  const prior = values.length === 0 ? 0 : positives / values.length;
  const rate = (n: number, p: number) => (p + RATE_SMOOTHING * prior) / (n + RATE_SMOOTHING);
  const OTHER = Symbol('other');
  const MISSING = Symbol('missing');
  let other = { n: 0, positives: 0 };
  const entries: Array<{ key: string | symbol; rate: number }> = [];
  for (const [key, entry] of counts) {
    if (key === undefined) entries.push({ key: MISSING, rate: rate(entry.n, entry.positives) });
    else if (entry.n < MIN_CATEGORY_COUNT && !keepAll)
      other = { n: other.n + entry.n, positives: other.positives + entry.positives };
    else entries.push({ key, rate: rate(entry.n, entry.positives) });
  }
  entries.push({ key: OTHER, rate: rate(other.n, other.positives) });
  if (!entries.some((e) => e.key === MISSING)) entries.push({ key: MISSING, rate: prior });
  // Ties broken by name so the encoding is deterministic.
  entries.sort((a, b) => a.rate - b.rate || String(a.key.toString()).localeCompare(b.key.toString()));
  const codes: Record<string, number> = {};
  let otherCode = 0;
  let missingCode = 0;
  entries.forEach((entry, code) => {
    if (entry.key === OTHER) otherCode = code;
    else if (entry.key === MISSING) missingCode = code;
    else codes[entry.key as string] = code;
  });
  return { kind: 'categorical', codes, otherCode, missingCode, codeCount: entries.length };
}

/** Learns the encoding from a training frame (which must carry outcomes). */
export function fitEncoding(frame: TouchFrame): EncodingSpec {
  const outcome = frame.converted;
  if (!outcome) throw new Error('fitEncoding needs a frame with outcomes');
  const dimensions: DimensionValues[] = [];
  const inputs: InputEncoding[] = [];
  for (const dimension of ['channel', 'dayOfWeek', 'timeOfDay'] as const) {
    const values = frame.dimensions[dimension];
    if (!values) continue;
    dimensions.push({ dimension, values: [...new Set(values)] });
    inputs.push({ name: dimension, role: 'dimension', encoding: fitCategorical(values, outcome, true) });
  }
  for (const feature of frame.features) {
    const column = frame.columns.get(feature.name)!;
    inputs.push({
      name: feature.name,
      role: 'feature',
      encoding:
        column.kind === 'numeric' ? { kind: 'numeric' } : fitCategorical(column.values, outcome, false),
    });
  }
  return { dimensions, features: frame.features, inputs };
}

export function encodeCategory(encoding: CategoricalEncoding, value: string | undefined): number {
  if (value === undefined) return encoding.missingCode;
  return Object.prototype.hasOwnProperty.call(encoding.codes, value)
    ? encoding.codes[value]!
    : encoding.otherCode;
}

/** Code of a plan dimension's value, or undefined when training never saw it. */
export function encodeDimension(encoding: CategoricalEncoding, value: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(encoding.codes, value) ? encoding.codes[value] : undefined;
}

export function inputKinds(spec: EncodingSpec): FeatureKind[] {
  return spec.inputs.map((input) => input.encoding.kind);
}

/** Encodes a whole frame row-major into [rowCount × inputs] floats. */
export function encodeFrame(spec: EncodingSpec, frame: TouchFrame): Float32Array {
  const width = spec.inputs.length;
  const matrix = new Float32Array(frame.rowCount * width);
  spec.inputs.forEach((input, column) => {
    if (input.role === 'dimension') {
      const dimension = input.name as PlanDimension;
      const values = frame.dimensions[dimension];
      if (!values)
        throw new CampaignInputError(
          frame.source,
          1,
          dimension,
          'missing required column (the model was trained with it)',
        );
      const encoding = input.encoding as CategoricalEncoding;
      for (let t = 0; t < frame.rowCount; t++) {
        const code = encodeDimension(encoding, values[t]!);
        if (code === undefined) {
          throw new CampaignInputError(
            frame.source,
            frame.lines[t],
            dimension,
            `${dimension} '${values[t]}' was never seen in training; known: ${Object.keys(encoding.codes).join(', ')}`,
          );
        }
        matrix[t * width + column] = code;
      }
      return;
    }
    const values = frame.columns.get(input.name) as ColumnValues;
    if (input.encoding.kind === 'numeric') {
      const numbers = values.values as Float64Array;
      for (let t = 0; t < frame.rowCount; t++) matrix[t * width + column] = numbers[t]!;
    } else {
      const encoding = input.encoding;
      const strings = values.values as (string | undefined)[];
      for (let t = 0; t < frame.rowCount; t++)
        matrix[t * width + column] = encodeCategory(encoding, strings[t]);
    }
  });
  return matrix;
}
