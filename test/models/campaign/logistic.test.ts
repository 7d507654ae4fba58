import { predictLogistic, trainLogistic } from '../../../models/campaign/logistic';
import { auc } from '../../../models/campaign/metrics';
import { seededRandom } from '../../../shared/random/seededRandom';

describe('trainLogistic', () => {
  it('recovers a linear signal from numeric, missing and categorical inputs', () => {
    const next = seededRandom(9);
    const rows = 20000;
    const values = new Float32Array(rows * 2);
    const y = new Uint8Array(rows);
    for (let r = 0; r < rows; r++) {
      const x = next() < 0.1 ? NaN : next() * 4 - 2;
      const code = Math.floor(next() * 3);
      values[r * 2] = x;
      values[r * 2 + 1] = code;
      const logit = (Number.isNaN(x) ? 1 : 1.5 * x) + [-1, 0, 1][code]!;
      y[r] = next() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    }
    const matrix = { values, rows, cols: 2 };
    const model = trainLogistic(matrix, y, [{ kind: 'numeric' }, { kind: 'categorical', codeCount: 3 }]);
    const p = predictLogistic(model, matrix);
    // The planted model's AUC is about 0.84 here; a constant would score 0.5.
    expect(auc(p, y)).toBeGreaterThan(0.8);
    // Category 2 raises the odds more than category 0.
    expect(model.weights[model.offsets[1]! + 2]!).toBeGreaterThan(model.weights[model.offsets[1]!]! + 1);
  });
});
