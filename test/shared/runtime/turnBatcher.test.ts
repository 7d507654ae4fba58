import { TurnBatcher } from '../../../shared/runtime/turnBatcher';

/** A batcher that doubles numbers and records the batches it was given. */
function doubler(maxBatchSize = 10) {
  const batches: number[][] = [];
  const signals: AbortSignal[] = [];
  const batcher = new TurnBatcher<number, number>(async (inputs, signal) => {
    batches.push(inputs);
    signals.push(signal);
    await new Promise((resolve) => setTimeout(resolve, 20));
    return inputs.map((n) => n * 2);
  }, maxBatchSize);
  return { batcher, batches, signals };
}

describe('TurnBatcher', () => {
  it('serves the calls of one turn with one batch, each call getting its own output', async () => {
    const { batcher, batches } = doubler();
    const outputs = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    expect(outputs).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('gives calls of later turns batches of their own', async () => {
    const { batcher, batches } = doubler();
    const first = batcher.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batcher.submit(2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(batches).toEqual([[1], [2]]);
  });

  it('splits a turn of more calls than maxBatchSize', async () => {
    const { batcher, batches } = doubler(2);
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)))).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('rejects a call whose signal aborts at once, while the rest of its batch is answered', async () => {
    const { batcher, signals } = doubler();
    const leaving = new AbortController();
    const left = batcher.submit(1, leaving.signal);
    const stays = batcher.submit(2);
    setTimeout(() => leaving.abort(new Error('gave up')), 5);
    await expect(left).rejects.toThrow('gave up');
    expect(await stays).toBe(4);
    expect(signals[0]?.aborted).toBe(false);
  });

  it("aborts the batch's signal once every call in it has given up", async () => {
    const { batcher, signals } = doubler();
    const controllers = [new AbortController(), new AbortController()];
    const calls = controllers.map((c, i) => batcher.submit(i, c.signal));
    await new Promise((resolve) => setTimeout(resolve, 5));
    controllers[0]?.abort(new Error('first gave up'));
    expect(signals[0]?.aborted).toBe(false);
    controllers[1]?.abort(new Error('second gave up'));
    expect(signals[0]?.aborted).toBe(true);
    await expect(calls[0]).rejects.toThrow('first gave up');
    await expect(calls[1]).rejects.toThrow('second gave up');
  });

  it('rejects a call whose signal has already aborted without running anything', async () => {
    const { batcher, batches } = doubler();
    await expect(batcher.submit(1, AbortSignal.abort(new Error('too late')))).rejects.toThrow('too late');
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([]);
  });

  it('rejects every call of a batch that fails, and serves the next turn afresh', async () => {
    let fail = true;
    const batcher = new TurnBatcher<number, number>(async (inputs) => {
      if (fail) throw new Error('service down');
      return inputs;
    }, 10);
    const failed = [batcher.submit(1), batcher.submit(2)];
    await expect(failed[0]).rejects.toThrow('service down');
    await expect(failed[1]).rejects.toThrow('service down');
    fail = false;
    expect(await batcher.submit(3)).toBe(3);
  });

  it('rejects the calls of a batch answered with the wrong number of outputs', async () => {
    const batcher = new TurnBatcher<number, number>(async () => [1], 10);
    await expect(Promise.all([batcher.submit(1), batcher.submit(2)])).rejects.toThrow(
      'a batch of 2 inputs was answered with 1 outputs',
    );
  });

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => new TurnBatcher(async (inputs: number[]) => inputs, 0)).toThrow(RangeError);
  });
});
