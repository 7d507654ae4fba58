import { auc, evaluate, logLoss } from '../../../models/campaign/metrics';

describe('metrics', () => {
  it('computes AUC from ranks, with ties counted half', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 10);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBeCloseTo(0.5, 10);
    expect(auc([0.9, 0.1], [1, 0])).toBe(1);
    expect(Number.isNaN(auc([0.2, 0.3], [1, 1]))).toBe(true);
  });

  it('computes log loss with clipped probabilities', () => {
    expect(logLoss([0.8, 0.4], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 10);
    expect(Number.isFinite(logLoss([0, 1], [1, 0]))).toBe(true);
  });

  it('reports lift and calibration per decile, highest predictions first', () => {
    const scores = Array.from({ length: 100 }, (_, i) => i / 100);
    const outcome = scores.map((s) => (s >= 0.9 ? 1 : 0));
    const result = evaluate(scores, outcome);
    expect(result.positives).toBe(10);
    expect(result.lift[0]).toMatchObject({
      decile: 1,
      count: 10,
      responseRate: 1,
      lift: 10,
      cumulativeLift: 10,
    });
    expect(result.lift[1]!.lift).toBe(0);
    expect(result.lift[9]!.cumulativeLift).toBeCloseTo(1, 10);
    expect(result.calibration[0]!.meanPredicted).toBeCloseTo(0.945, 10);
    expect(result.calibration[0]!.observedRate).toBe(1);
  });
});
