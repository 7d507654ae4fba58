import {
  blendMatrices,
  blendShares,
  frobeniusNorm,
  trainAffinityMatrix,
} from '../../../models/affinity/affinityMatrix';
import { catalogRows, scoreWithItemMatrix, trainEase } from '../../../models/affinity/ease';
import { buildInteractionMatrix } from '../../../models/affinity/interactionMatrix';
import { lowPassBasis, lowPassWeights } from '../../../models/affinity/lowPass';
import { lowRankBasis, lowRankWeights } from '../../../models/affinity/lowRank';
import { rp3betaWeights } from '../../../models/affinity/rp3beta';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';

const matrix = buildInteractionMatrix(
  generateSyntheticInteractions({ users: 150, items: 80, interactions: 4000, seed: 21 }),
);
const itemCount = matrix.itemIds.length;
const base = {
  lambda: 40,
  maxItems: 1000,
  weighting: 'log1p' as const,
  rp3Beta: 0.6,
  lowRankShare: 0,
  lowRank: 0,
  lowPassShare: 0,
  lowPassRank: 0,
};

const order = (scores: Float32Array) => Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);

describe('trainAffinityMatrix', () => {
  it('is EASE itself at blend 0 without a low-rank part', () => {
    const blended = trainAffinityMatrix(matrix.rows, itemCount, { ...base, blend: 0 });
    const ease = trainEase(matrix.rows, itemCount, base);
    expect(blended.catalog).toEqual(ease.catalog);
    expect(blended.weights).toEqual(ease.weights);
  });

  it('scores a user with the same blend of the four parts’ normalised scores', () => {
    const options = { ...base, blend: 0.7, lowRankShare: 0.3, lowRank: 6, lowPassShare: 0.4, lowPassRank: 8 };
    const blended = trainAffinityMatrix(matrix.rows, itemCount, options);
    const ease = trainEase(matrix.rows, itemCount, base);
    const rows = catalogRows(matrix.rows, ease.catalog, itemCount, 'log1p');
    const n = ease.catalog.length;
    const walk = rp3betaWeights(rows, n, 0.6);
    const lowRank = lowRankWeights(lowRankBasis(rows, n, 6), n, 6, 6);
    const lowPass = lowPassWeights(lowPassBasis(rows, n, 8), n, 8, 8);
    const row = matrix.rows[3]!;
    const score = (weights: Float32Array | Float64Array) =>
      scoreWithItemMatrix(
        { catalog: ease.catalog, weights: Float32Array.from(weights) },
        row,
        itemCount,
        'log1p',
      );
    const parts = [
      { scores: score(ease.weights), norm: frobeniusNorm(ease.weights), share: 0.6 * 0.7 * 0.3 },
      { scores: score(walk), norm: frobeniusNorm(walk), share: 0.6 * 0.7 * 0.7 },
      { scores: score(lowRank), norm: frobeniusNorm(lowRank), share: 0.6 * 0.3 },
      { scores: score(lowPass), norm: frobeniusNorm(lowPass), share: 0.4 },
    ];
    const fromBlend = scoreWithItemMatrix(blended, row, itemCount, 'log1p');
    fromBlend.forEach((value, j) =>
      expect(value).toBeCloseTo(
        parts.reduce((sum, part) => sum + (part.share * part.scores[j]!) / part.norm, 0),
        6,
      ),
    );
    // Every part matters: the blend ranks differently from each part alone.
    for (const part of parts) expect(order(fromBlend)).not.toEqual(order(part.scores));
  });

  it('is RP3beta alone at blend 1, without fitting EASE (whose λ 0 would be refused)', () => {
    expect(() => trainAffinityMatrix(matrix.rows, itemCount, { ...base, lambda: 0, blend: 0.5 })).toThrow(
      'lambda',
    );
    const walkOnly = trainAffinityMatrix(matrix.rows, itemCount, { ...base, lambda: 0, blend: 1 });
    const rp3beta = rp3betaWeights(
      catalogRows(matrix.rows, walkOnly.catalog, itemCount, 'log1p'),
      walkOnly.catalog.length,
      0.6,
    );
    const norm = frobeniusNorm(rp3beta);
    walkOnly.weights.forEach((weight, i) => expect(weight).toBeCloseTo(rp3beta[i]! / norm, 6));
  });
});

describe('blendShares', () => {
  it('splits what the low-pass part leaves between the low-rank part and the EASE-RP3beta pair', () => {
    expect(blendShares({ blend: 0.75, lowRankShare: 0.2, lowPassShare: 0 })).toEqual({
      ease: 0.8 * 0.25,
      rp3beta: 0.8 * 0.75,
      lowRank: 0.2,
      lowPass: 0,
    });
    const shares = blendShares({ blend: 0.75, lowRankShare: 0.2, lowPassShare: 0.5 });
    expect(shares.ease).toBeCloseTo(0.5 * 0.8 * 0.25, 12);
    expect(shares.rp3beta).toBeCloseTo(0.5 * 0.8 * 0.75, 12);
    expect(shares.lowRank).toBeCloseTo(0.5 * 0.2, 12);
    expect(shares.lowPass).toBe(0.5);
    expect(shares.ease + shares.rp3beta + shares.lowRank + shares.lowPass).toBeCloseTo(1, 12);
    expect(blendShares({ blend: 0, lowRankShare: 0, lowPassShare: 0 })).toEqual({
      ease: 1,
      rp3beta: 0,
      lowRank: 0,
      lowPass: 0,
    });
  });

  it('refuses shares outside [0, 1]', () => {
    expect(() => blendShares({ blend: 1.5, lowRankShare: 0, lowPassShare: 0 })).toThrow('blend');
    expect(() => blendShares({ blend: 0.5, lowRankShare: Number.NaN, lowPassShare: 0 })).toThrow(
      'lowRankShare',
    );
    expect(() => blendShares({ blend: 0.5, lowRankShare: 0, lowPassShare: -0.1 })).toThrow('lowPassShare');
  });
});

describe('blendMatrices', () => {
  it('weighs each matrix by its share over its norm, and leaves a matrix of zeros out', () => {
    const ease = Float32Array.from([0, 3, 4, 0]);
    const walk = Float64Array.from([0, 1, 0, 0]);
    expect(
      blendMatrices([
        { weights: ease, share: 0.5 },
        { weights: walk, share: 0.5 },
      ]),
    ).toEqual(Float32Array.from([0, 0.5 * 0.6 + 0.5, 0.5 * 0.8, 0]));
    expect(
      blendMatrices([
        { weights: ease, share: 0.5 },
        { weights: new Float64Array(4), share: 0.5 },
      ]),
    ).toEqual(Float32Array.from([0, 0.3, 0.4, 0]));
  });

  it('refuses a share outside [0, 1] and matrices of different sizes', () => {
    expect(() => blendMatrices([{ weights: new Float32Array(1), share: 1.5 }])).toThrow('share');
    expect(() =>
      blendMatrices([
        { weights: new Float32Array(1), share: 0.5 },
        { weights: new Float64Array(4), share: 0.5 },
      ]),
    ).toThrow('size');
  });
});
