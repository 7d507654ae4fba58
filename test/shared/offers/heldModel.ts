import { ScoringModel } from '../../../shared/offers/modelAffinityScorer';

/**
 * `model` with its first run held until `release()`: what a run that takes long looks like to the runs
 * queued behind it. `runs` holds what `describeRun` says of each run's histories, in the order they ran.
 */
export function holdFirstRun<T>(
  model: ScoringModel,
  describeRun: (histories: Parameters<ScoringModel['scoreBatch']>[0]) => T,
): { scoring: ScoringModel; runs: T[]; release: () => void; firstRunStarted: Promise<void> } {
  const runs: T[] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const firstRunStarted = new Promise<void>((resolve) => (started = resolve));
  const scoring: ScoringModel = {
    version: model.version,
    itemIds: model.itemIds,
    scoreBatch: async (histories) => {
      runs.push(describeRun(histories));
      if (runs.length === 1) {
        started();
        await held;
      }
      return model.scoreBatch(histories);
    },
  };
  return { scoring, runs, release, firstRunStarted };
}
