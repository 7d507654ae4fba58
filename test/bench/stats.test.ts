import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatNumber,
  formatTable,
  packageRoot,
  percentile,
  ratio,
  round,
  seededRandom,
  summarize,
  weightedPicker,
  writeResults,
  zipfSampler,
} from '../../bench/support/stats';

describe('percentile (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose

  it('returns the smallest value with p% of the values at or below it', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile(hundred, 0)).toBe(1);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([10, 20], 50)).toBe(10);
    expect(percentile([10, 20], 51)).toBe(20);
  });

  it('never returns a value that was not measured', () => {
    expect([1, 5, 9]).toContain(percentile([9, 1, 5], 75));
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  it('refuses no values and percentiles outside 0-100', () => {
    expect(() => percentile([], 50)).toThrow(/no values/);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('agrees with percentile and reports count, mean and max', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i * 7919) % 1000);
    const summary = summarize(values);
    expect(summary).toEqual({
      count: 1000,
      mean: 499.5,
      p50: percentile(values, 50),
      p90: percentile(values, 90),
      p99: percentile(values, 99),
      max: 999,
    });
    expect(summary.p99).toBe(989);
  });

  it('refuses an empty list', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('ratio', () => {
  it('divides by the floor and refuses a zero floor', () => {
    expect(ratio(50, 200)).toBe(0.25);
    expect(() => ratio(1, 0)).toThrow(/floor/);
  });
});

describe('seededRandom', () => {
  it('repeats for a seed, differs between seeds, stays in [0, 1)', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const draws = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(draws);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(draws);
    expect(draws.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('zipfSampler', () => {
  it('draws every rank in range, the first ranks most often, in Zipf proportions', () => {
    const n = 100;
    const draw = zipfSampler(n, 1, seededRandom(1));
    const counts = new Array<number>(n).fill(0);
    const draws = 200_000;
    let outOfRange = 0;
    for (let i = 0; i < draws; i++) {
      const rank = draw();
      if (Number.isInteger(rank) && rank >= 0 && rank < n) counts[rank]! += 1;
      else outOfRange += 1;
    }
    expect(outOfRange).toBe(0);
    const harmonic = Array.from({ length: n }, (_, k) => 1 / (k + 1)).reduce((s, x) => s + x, 0);
    // Rank 0 holds 1/H(100) ≈ 19% of the draws, rank 1 half as much.
    expect(counts[0]! / draws).toBeCloseTo(1 / harmonic, 2);
    expect(counts[1]! / counts[0]!).toBeCloseTo(0.5, 1);
    expect(counts[0]!).toBeGreaterThan(counts[9]! * 5);
  });

  it('is uniform with exponent 0 and refuses bad sizes', () => {
    const draw = zipfSampler(4, 0, seededRandom(3));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[draw()]! += 1;
    for (const count of counts) expect(count / 40_000).toBeCloseTo(0.25, 1);
    expect(() => zipfSampler(0, 1, Math.random)).toThrow(RangeError);
    expect(() => zipfSampler(10, -1, Math.random)).toThrow(RangeError);
  });
});

describe('weightedPicker', () => {
  it('picks keys in proportion to their weights and never a zero-weight key', () => {
    const pick = weightedPicker({ a: 3, b: 1, never: 0 }, seededRandom(5));
    const counts: Record<string, number> = { a: 0, b: 0, never: 0 };
    for (let i = 0; i < 40_000; i++) counts[pick()]! += 1;
    expect(counts.a! / 40_000).toBeCloseTo(0.75, 1);
    expect(counts.never).toBe(0);
    expect(() => weightedPicker({}, Math.random)).toThrow(RangeError);
  });
});

describe('formatting', () => {
  it('formats integers with separators and fractions with a few significant digits', () => {
    expect(formatNumber(12345)).toBe('12,345');
    expect(formatNumber(3.14159)).toBe('3.14');
    expect(formatNumber(42.42)).toBe('42.4');
    expect(formatNumber(0.12345)).toBe('0.123');
    expect(formatNumber(1234.5)).toBe('1,235');
  });

  it('prints an aligned Markdown table', () => {
    expect(
      formatTable(
        ['name', 'rps'],
        [
          ['bare', 10000],
          ['ingest', 2.5],
        ],
      ),
    ).toBe(
      ['| name   | rps    |', '| ------ | ------ |', '| bare   | 10,000 |', '| ingest | 2.50   |'].join('\n'),
    );
  });

  it('rounds for the JSON file', () => {
    expect(round(1.23456)).toBe(1.23);
    expect(round(1.23456, 3)).toBe(1.235);
    expect(round(1234.5, 0)).toBe(1235);
  });
});

describe('results files', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'bench-results-'));
    writeFileSync(join(root, 'package.json'), '{}');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes bench/results/<name>.json under the package root', () => {
    const path = writeResults('sample', { 'x.ratio': 0.5 }, root);
    expect(path).toBe(join(root, 'bench', 'results', 'sample.json'));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ 'x.ratio': 0.5 });
  });

  it('refuses a name that would leave the results folder', () => {
    expect(() => writeResults('../escape', {}, root)).toThrow(/result name/);
  });

  it('finds the package root from a nested folder', () => {
    expect(packageRoot(join(root, 'bench', 'results'))).toBe(root);
  });
});
