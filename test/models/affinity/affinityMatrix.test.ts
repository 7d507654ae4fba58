import { blendMatrices, frobeniusNorm, trainAffinityMatrix } from '../../../models/affinity/affinityMatrix';
import { catalogRows, scoreWithItemMatrix, trainEase } from '../../../models/affinity/ease';
import { buildInteractionMatrix } from '../../../models/affinity/interactionMatrix';
import { rp3betaWeights } from '../../../models/affinity/rp3beta';
import { generateSyntheticInteractions } from '../../../models/affinity/synthetic';

const matrix = buildInteractionMatrix(
  generateSyntheticInteractions({ users: 150, items: 80, interactions: 4000, seed: 21 }),
);
const itemCount = matrix.itemIds.length;
const base = { lambda: 40, maxItems: 1000, weighting: 'log1p' as const, rp3Beta: 0.6 };

describe('trainAffinityMatrix', () => {
  it('is EASE itself at blend 0', () => {
    const blended = trainAffinityMatrix(matrix.rows, itemCount, { ...base, blend: 0 });
    const ease = trainEase(matrix.rows, itemCount, base);
    expect(blended.catalog).toEqual(ease.catalog);
    expect(blended.weights).toEqual(ease.weights);
  });

  it('scores a user with the same blend of the two models’ normalised scores', () => {
    const blend = 0.7;
    const blended = trainAffinityMatrix(matrix.rows, itemCount, { ...base, blend });
    const ease = trainEase(matrix.rows, itemCount, base);
    const rp3beta = rp3betaWeights(
      catalogRows(matrix.rows, ease.catalog, itemCount, 'log1p'),
      ease.catalog.length,
      0.6,
    );
    const row = matrix.rows[3]!;
    const fromBlend = scoreWithItemMatrix(blended, row, itemCount, 'log1p');
    const fromEase = scoreWithItemMatrix(ease, row, itemCount, 'log1p');
    const fromWalk = scoreWithItemMatrix(
      { catalog: ease.catalog, weights: Float32Array.from(rp3beta) },
      row,
      itemCount,
      'log1p',
    );
    const easeNorm = frobeniusNorm(ease.weights);
    const walkNorm = frobeniusNorm(rp3beta);
    fromBlend.forEach((score, j) =>
      expect(score).toBeCloseTo(
        ((1 - blend) * fromEase[j]!) / easeNorm + (blend * fromWalk[j]!) / walkNorm,
        6,
      ),
    );
    // Both parts matter: the blend ranks differently from either model alone.
    const order = (scores: Float32Array) => Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!);
    expect(order(fromBlend)).not.toEqual(order(fromEase));
    expect(order(fromBlend)).not.toEqual(order(fromWalk));
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

describe('blendMatrices', () => {
  it('weighs each matrix by its share over its norm, and leaves a matrix of zeros out', () => {
    const ease = Float32Array.from([0, 3, 4, 0]);
    const walk = Float64Array.from([0, 1, 0, 0]);
    expect(blendMatrices(ease, walk, 0.5)).toEqual(Float32Array.from([0, 0.5 * 0.6 + 0.5, 0.5 * 0.8, 0]));
    expect(blendMatrices(ease, new Float64Array(4), 0.5)).toEqual(Float32Array.from([0, 0.3, 0.4, 0]));
  });

  it('refuses a share outside [0, 1]', () => {
    expect(() => blendMatrices(new Float32Array(1), new Float64Array(1), 1.5)).toThrow('blend');
    expect(() => blendMatrices(new Float32Array(1), new Float64Array(1), Number.NaN)).toThrow('blend');
  });
});
