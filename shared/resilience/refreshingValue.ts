/**
 * A value loaded once and refreshed in the background, so the hot path never waits on it after the first
 * load. A failed refresh keeps the last good value (and reports the error), which is what serving wants.
 */
export class RefreshingValue<T> {
  private value: T | undefined;
  private loadedAt = 0;
  private inflight: Promise<T> | undefined;

  constructor(
    private readonly load: () => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** The current value; loads it on first use, refreshes it in the background when stale. */
  async get(): Promise<T> {
    if (this.value === undefined) return this.refresh();
    if (Date.now() - this.loadedAt > this.maxAgeMs && !this.inflight) {
      this.refresh().catch(this.onError);
    }
    return this.value;
  }

  refresh(): Promise<T> {
    this.inflight ??= this.load()
      .then((value) => {
        this.value = value;
        this.loadedAt = Date.now();
        return value;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}
