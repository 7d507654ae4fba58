import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { seededRandom } from '../../shared/random/seededRandom';

/** The seeded generator of the whole project, re-exported for the benchmarks. */
export { seededRandom };

/** Statistics and reporting shared by the benchmarks. Pure functions, tested in test/bench/stats.test.ts. */

/**
 * The p-th percentile (0-100) by the nearest-rank method: the smallest value with at least p% of the
 * values at or below it. Nearest rank never invents a latency nobody saw, unlike interpolation.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!Number.isFinite(p) || p < 0 || p > 100) throw new RangeError(`percentile must be 0-100, got ${p}`);
  if (values.length === 0) throw new RangeError('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): LatencySummary {
  if (values.length === 0) throw new RangeError('summary of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] as number;
  return {
    count: sorted.length,
    mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    max: sorted[sorted.length - 1] as number,
  };
}

/** `value / floor`, refusing a zero or missing floor rather than printing Infinity. */
export function ratio(value: number, floor: number): number {
  if (!(floor > 0)) throw new RangeError(`floor must be positive, got ${floor}`);
  return value / floor;
}

/**
 * Draws ranks 0..n-1 with probability proportional to 1 / (rank + 1)^exponent (Zipf), the usual shape of
 * popularity on a shop: a few users and products account for most events.
 */
export function zipfSampler(n: number, exponent: number, random: () => number): () => number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!(exponent >= 0)) throw new RangeError(`exponent must be ≥ 0, got ${exponent}`);
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 0; rank < n; rank++) {
    total += 1 / Math.pow(rank + 1, exponent);
    cumulative[rank] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((cumulative[mid] as number) < target) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

/** Picks a key by weight; weights need not sum to 1. */
export function weightedPicker<K extends string>(
  weights: Readonly<Record<K, number>>,
  random: () => number,
): () => K {
  const entries = Object.entries(weights) as Array<[K, number]>;
  const total = entries.reduce((sum, [, w]) => sum + w, 0);
  if (entries.length === 0 || !(total > 0)) throw new RangeError('weights must hold a positive weight');
  return () => {
    let target = random() * total;
    for (const [key, weight] of entries) {
      target -= weight;
      if (target < 0) return key;
    }
    return (entries[entries.length - 1] as [K, number])[0];
  };
}

export type Cell = string | number;

/** Formats a number for a table: integers with thousands separators, others with 2-3 significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return value.toLocaleString('en-US');
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A Markdown table (so it can be pasted into docs/benchmarks.md as printed), columns padded to align. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const text = [headers, ...rows.map((row) => row.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...text.map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    `| ${widths.map((w, i) => (row[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [
    line(text[0] as string[]),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...text.slice(1).map(line),
  ].join('\n');
}

/** The repository root: the nearest folder above `from` holding package.json (works from dist/ too). */
export function packageRoot(from: string = __dirname): string {
  let dir = resolve(from);
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** Writes bench/results/<name>.json with keys in a stable order; returns the path. */
export function writeResults(name: string, results: Record<string, unknown>, root = packageRoot()): string {
  if (!/^[\w-]+$/.test(name)) throw new Error(`result name '${name}' must be letters, digits, - or _`);
  const folder = join(root, 'bench', 'results');
  mkdirSync(folder, { recursive: true });
  const path = join(folder, `${name}.json`);
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}

/** Rounds to `digits` decimals for the JSON file, so results diff cleanly between runs. */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
