/** One call waiting for its batch. */
interface Waiter<Input, Output> {
  input: Input;
  signal: AbortSignal | undefined;
  resolve: (output: Output) => void;
  reject: (reason: unknown) => void;
  settled: boolean;
}

/**
 * Serves the calls made during one turn of the event loop with one call of `runBatch`.
 *
 * Why: under load, the HTTP requests parsed in one poll phase each ask for the same kind of thing (a
 * profile read, a model run). Each such call has a fixed cost on the host's one thread (the SDK's request
 * pipeline, an HTTP exchange, a trip into onnxruntime) that is far larger than its share of a batch.
 * Calls are gathered until `setImmediate`, which runs once the poll phase is done: an idle host waits no
 * longer than the current turn, a loaded one sends fewer, fuller batches.
 *
 * Each call keeps its own `signal`: when it aborts, that call rejects with the signal's reason (at once
 * while its batch runs, else when the batch would start) and the others wait on; the batch's own signal
 * aborts only when every call in it has given up, so a batch nobody waits for stops its requests and
 * retries.
 */
export class TurnBatcher<Input, Output> {
  private pending: Array<Waiter<Input, Output>> = [];
  private scheduled = false;

  /**
   * @param runBatch answers the inputs in order, one output each; a throw rejects every call in the batch.
   * @param maxBatchSize the most inputs one `runBatch` call takes; a fuller turn is split.
   */
  constructor(
    private readonly runBatch: (inputs: Input[], signal: AbortSignal) => Promise<Output[]>,
    private readonly maxBatchSize: number,
  ) {
    if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${maxBatchSize}`);
    }
  }

  submit(input: Input, signal?: AbortSignal): Promise<Output> {
    return new Promise<Output>((resolve, reject) => {
      this.pending.push({ input, signal, resolve, reject, settled: false });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const waiters = this.pending;
    this.pending = [];
    for (let start = 0; start < waiters.length; start += this.maxBatchSize) {
      void this.run(waiters.slice(start, start + this.maxBatchSize));
    }
  }

  private async run(waiters: Array<Waiter<Input, Output>>): Promise<void> {
    const batch = new AbortController();
    let waiting = 0;
    const detach: Array<() => void> = [];
    for (const waiter of waiters) {
      const { signal } = waiter;
      if (signal?.aborted) {
        waiter.settled = true;
        waiter.reject(signal.reason);
        continue;
      }
      waiting += 1;
      if (!signal) continue;
      const onAbort = () => {
        if (waiter.settled) return;
        waiter.settled = true;
        waiter.reject(signal.reason);
        if (--waiting === 0) batch.abort(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      detach.push(() => signal.removeEventListener('abort', onAbort));
    }
    const live = waiters.filter((waiter) => !waiter.settled);
    try {
      if (live.length === 0) return;
      const outputs = await this.runBatch(
        live.map((waiter) => waiter.input),
        batch.signal,
      );
      if (outputs.length !== live.length) {
        throw new Error(`a batch of ${live.length} inputs was answered with ${outputs.length} outputs`);
      }
      live.forEach((waiter, i) => {
        if (waiter.settled) return;
        waiter.settled = true;
        waiter.resolve(outputs[i] as Output);
      });
    } catch (error) {
      for (const waiter of live) {
        if (waiter.settled) continue;
        waiter.settled = true;
        waiter.reject(error);
      }
    } finally {
      for (const remove of detach) remove();
    }
  }
}
