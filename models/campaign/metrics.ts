/**
 * How well predicted probabilities rank and are calibrated: AUC, log loss, lift by decile and a
 * calibration table. Deciles are by predicted probability, highest first (decile 1 = top 10%).
 */

export interface DecileRow {
  decile: number;
  count: number;
  /** Observed response rate in the decile. */
  responseRate: number;
  /** Response rate divided by the overall rate. */
  lift: number;
  /** Lift of deciles 1..d together. */
  cumulativeLift: number;
}

export interface CalibrationRow {
  decile: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
}

export interface Evaluation {
  rows: number;
  positives: number;
  auc: number;
  logLoss: number;
  lift: DecileRow[];
  calibration: CalibrationRow[];
}

/** Area under the ROC curve via ranks; tied scores share their average rank. */
export function auc(scores: ArrayLike<number>, outcome: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSum = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (outcome[order[k]!] === 1) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function logLoss(scores: ArrayLike<number>, outcome: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(Math.max(scores[i]!, 1e-15), 1 - 1e-15);
    total -= outcome[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return scores.length === 0 ? NaN : total / scores.length;
}

export function evaluate(scores: ArrayLike<number>, outcome: ArrayLike<number>): Evaluation {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += outcome[i] === 1 ? 1 : 0;
  const overall = n === 0 ? 0 : positives / n;
  const lift: DecileRow[] = [];
  const calibration: CalibrationRow[] = [];
  let cumulativeCount = 0;
  let cumulativePositives = 0;
  for (let d = 0; d < 10; d++) {
    const start = Math.floor((d * n) / 10);
    const end = Math.floor(((d + 1) * n) / 10);
    let hits = 0;
    let predicted = 0;
    for (let k = start; k < end; k++) {
      hits += outcome[order[k]!] === 1 ? 1 : 0;
      predicted += scores[order[k]!]!;
    }
    const count = end - start;
    cumulativeCount += count;
    cumulativePositives += hits;
    const responseRate = count === 0 ? 0 : hits / count;
    lift.push({
      decile: d + 1,
      count,
      responseRate,
      lift: overall === 0 ? 0 : responseRate / overall,
      cumulativeLift:
        overall === 0 || cumulativeCount === 0 ? 0 : cumulativePositives / cumulativeCount / overall,
    });
    calibration.push({
      decile: d + 1,
      count,
      meanPredicted: count === 0 ? 0 : predicted / count,
      observedRate: responseRate,
    });
  }
  return {
    rows: n,
    positives,
    auc: auc(scores, outcome),
    logLoss: logLoss(scores, outcome),
    lift,
    calibration,
  };
}
