import { AffinityModel, loadAffinityModelFromFiles, LoadOptions } from './affinityModel';
import { BundleError } from './bundle';
import { AffinityBundleStore } from './bundleStore';
import { errorMessage } from '../errors';

export interface AffinityModelProviderOptions {
  store: AffinityBundleStore;
  /** The pointer is re-read at most this often, in the background of requests. */
  refreshIntervalMs: number;
  /** A replaced model is released after this delay, so requests already scoring with it finish. */
  releaseDelayMs?: number;
  log?: (message: string) => void;
  loadOptions?: LoadOptions;
  now?: () => number;
  /**
   * After a check that failed for a reason that may pass (Blob unreachable, throttled, a reset
   * download), the next one is due after this delay, doubled per further failure, with jitter, and
   * never later than `refreshIntervalMs`. Default 1 s.
   */
  retryBaseMs?: number;
}

/**
 * The model the offer function scores with, kept current without a restart. Each request asks for the
 * current model; at most every `refreshIntervalMs` that also starts a background check of the `latest`
 * pointer, and a new version is loaded beside the old one and swapped in only once it loaded and passed
 * its checks. A corrupt or incompatible bundle is refused with a log line naming it, and the previous
 * model keeps serving; the refused version is not retried until the pointer changes again. Only a bundle
 * that is bad in itself (a BundleError: incompatible, not matching its digests, failing the probe run)
 * is refused: a read that failed on the way (a Blob 503, a reset connection) is retried with a backoff.
 */
export class AffinityModelProvider {
  private model: AffinityModel | undefined;
  private nextCheckAt = Number.NEGATIVE_INFINITY;
  /** Checks in a row that failed for a reason that may pass; sets the backoff of the next one. */
  private failures = 0;
  private checking: Promise<void> | undefined;
  private refusedEtag: string | undefined;
  private closed = false;
  private readonly pendingReleases = new Map<NodeJS.Timeout, AffinityModel>();
  private readonly log: (message: string) => void;
  private readonly now: () => number;

  constructor(private readonly options: AffinityModelProviderOptions) {
    this.log = options.log ?? ((message) => console.error(message));
    this.now = options.now ?? (() => Date.now());
  }

  /** The model now, without waiting; starts a background check when one is due. */
  current(): AffinityModel | undefined {
    if (!this.closed && this.checking === undefined && this.now() >= this.nextCheckAt) {
      void this.refresh();
    }
    return this.model;
  }

  /**
   * The model for a request. Only the first call of the process waits (for the first load); later calls
   * return at once and refresh in the background. Undefined when no usable model was published.
   */
  async getCurrentModel(): Promise<AffinityModel | undefined> {
    const model = this.current();
    if (model === undefined && this.checking !== undefined) await this.checking;
    return this.model;
  }

  /** Checks the pointer now (also what the background check runs); never throws. */
  refresh(): Promise<void> {
    this.checking ??= this.check().then(
      (outcome) => {
        this.failures = outcome === 'retry' ? this.failures + 1 : 0;
        this.nextCheckAt = this.now() + this.delayAfter(outcome);
        this.checking = undefined;
      },
      () => {
        // check() catches everything it expects; whatever else stays out of the request path.
        this.nextCheckAt = this.now() + this.options.refreshIntervalMs;
        this.checking = undefined;
      },
    );
    return this.checking;
  }

  /** Until the next check: the refresh interval, or after a failure that may pass a shorter backoff. */
  private delayAfter(outcome: 'done' | 'retry'): number {
    const interval = this.options.refreshIntervalMs;
    if (outcome === 'done') return interval;
    const backoff = (this.options.retryBaseMs ?? 1000) * 2 ** Math.min(this.failures - 1, 30);
    // Jitter in [0.5, 1] of the backoff, so processes that failed together do not retry together.
    return Math.min(interval, backoff * (0.5 + Math.random() / 2));
  }

  private async check(): Promise<'done' | 'retry'> {
    let latest;
    try {
      latest = await this.options.store.readLatest();
    } catch (error) {
      const retry = !(error instanceof BundleError);
      this.log(
        `affinity: cannot read the latest pointer (${errorMessage(error)}); keeping ${this.model?.version ?? 'no model'}${retry ? '; retrying soon' : ''}`,
      );
      return retry ? 'retry' : 'done';
    }
    if (
      latest === undefined ||
      latest.pointer.version === this.model?.version ||
      latest.etag === this.refusedEtag
    )
      return 'done';
    const version = latest.pointer.version;
    let loaded: AffinityModel;
    try {
      loaded = await loadAffinityModelFromFiles(
        await this.options.store.readBundle(version),
        this.options.loadOptions,
      );
    } catch (error) {
      const keeping = this.model?.version ?? 'no model';
      if (!(error instanceof BundleError)) {
        // The bundle may be fine: the read failed on the way. Not refused, so the next check retries it.
        this.log(
          `affinity: cannot load model ${version} (${errorMessage(error)}); keeping ${keeping}; retrying soon`,
        );
        return 'retry';
      }
      this.refusedEtag = latest.etag;
      this.log(`affinity: refused model ${version}: ${errorMessage(error)}; keeping ${keeping}`);
      return 'done';
    }
    if (this.closed) {
      await loaded.close();
      return 'done';
    }
    const previous = this.model;
    this.model = loaded;
    this.refusedEtag = undefined;
    this.log(`affinity: serving model ${version}${previous ? ` (replaced ${previous.version})` : ''}`);
    if (previous) this.releaseLater(previous);
    return 'done';
  }

  private releaseLater(model: AffinityModel): void {
    const timer = setTimeout(() => {
      this.pendingReleases.delete(timer);
      model
        .close()
        .catch((error: unknown) =>
          this.log(`affinity: releasing ${model.version} failed: ${errorMessage(error)}`),
        );
    }, this.options.releaseDelayMs ?? 30_000);
    timer.unref();
    this.pendingReleases.set(timer, model);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.checking;
    const replaced = [...this.pendingReleases.entries()];
    this.pendingReleases.clear();
    for (const [timer, model] of replaced) {
      clearTimeout(timer);
      await model.close();
    }
    await this.model?.close();
    this.model = undefined;
  }
}
