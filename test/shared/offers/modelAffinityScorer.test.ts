import { trainAffinityModel } from '../../../models/affinity/train';
import { AffinityModel, loadAffinityModelFromFiles } from '../../../shared/affinity/affinityModel';
import { ModelAffinityScorer } from '../../../shared/offers/modelAffinityScorer';
import { holdFirstRun } from './heldModel';

describe('ModelAffinityScorer', () => {
  it('maps the strongest positive scores to item ids', async () => {
    const scorer = new ModelAffinityScorer(
      async () => ({
        version: 'v1',
        itemIds: ['a', 'b', 'c'],
        scoreBatch: async (histories) => histories.map(() => Float32Array.from([0.2, -1, 3])),
      }),
      2,
    );
    const result = await scorer.score([{ itemId: 'a', weight: 1 }]);
    expect(result?.version).toBe('v1');
    expect([...result!.scores.entries()]).toEqual([
      ['c', 3],
      ['a', expect.closeTo(0.2, 5)],
    ]);
  });

  it('answers undefined when no model is loaded', async () => {
    expect(await new ModelAffinityScorer(async () => undefined).score([])).toBeUndefined();
  });
});

describe('ModelAffinityScorer under a backlog', () => {
  let model: AffinityModel;

  beforeAll(async () => {
    const interactions = [];
    for (let u = 0; u < 30; u++) {
      const family = ['shoes', 'hats', 'bags'][u % 3]!;
      for (const item of [`${family}-1`, `${family}-2`, `${family}-3`])
        interactions.push({ userId: `t${u}`, itemId: item, weight: 1 });
    }
    model = await loadAffinityModelFromFiles(
      (await trainAffinityModel(interactions, { evaluate: false, lambda: 1 })).files,
    );
  });

  afterAll(async () => {
    await model.close();
  });

  /**
   * The real model, whose first run is held until `release()`: what a run that takes long looks like to
   * the batches behind it. `runs` lists, per run, the first item of each history it scored.
   */
  function heldModel() {
    const { scoring, ...held } = holdFirstRun(model, (histories) => histories.map((h) => h[0]?.itemId ?? ''));
    return { scorer: new ModelAffinityScorer(async () => scoring), ...held };
  }

  const history = (itemId: string) => [{ itemId, weight: 1 }];
  /** After the batcher's flush of the calls made so far: they are in a batch. */
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('drops a history whose caller has given up from its batch before the run', async () => {
    const { scorer, runs, release, firstRunStarted } = heldModel();
    const first = scorer.score(history('shoes-1'));
    await firstRunStarted;
    const givenUp = new AbortController();
    const dropped = scorer.score(history('hats-1'), givenUp.signal);
    const kept = scorer.score(history('bags-1'), new AbortController().signal);
    await nextTurn();
    givenUp.abort(new Error('the decision gave up'));
    release();

    await expect(dropped).rejects.toThrow('the decision gave up');
    expect((await kept)?.scores.has('bags-2')).toBe(true);
    expect((await first)?.scores.has('shoes-2')).toBe(true);
    expect(runs).toEqual([['shoes-1'], ['bags-1']]);
  });

  it('skips a batch whose callers have all given up', async () => {
    const { scorer, runs, release, firstRunStarted } = heldModel();
    const first = scorer.score(history('shoes-1'));
    await firstRunStarted;
    const givenUp = [new AbortController(), new AbortController()];
    const abandoned = [
      scorer.score(history('hats-1'), givenUp[0]!.signal),
      scorer.score(history('hats-2'), givenUp[1]!.signal),
    ];
    await nextTurn();
    for (const controller of givenUp) controller.abort(new Error('the decision gave up'));
    release();

    for (const call of abandoned) await expect(call).rejects.toThrow('the decision gave up');
    await first;
    // Runs go in order: once a later call is answered, the abandoned batch has had its turn.
    expect((await scorer.score(history('bags-1')))?.scores.has('bags-2')).toBe(true);
    expect(runs).toEqual([['shoes-1'], ['bags-1']]);
  });
});
