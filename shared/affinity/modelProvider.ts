import { AffinityModel, loadAffinityModelFromFiles, LoadOptions } from './affinityModel';
import { AffinityBundleStore } from './bundleStore';

export interface AffinityModelProviderOptions {
  store: AffinityBundleStore;
  /** The pointer is re-read at most this often, in the background of requests. */
  refreshIntervalMs: number;
  /** A replaced model is released after this delay, so requests already scoring with it finish. */
  releaseDelayMs?: number;
  log?: (message: string) => void;
  loadOptions?: LoadOptions;
  now?: () => number;
}

/**
 * The model the offer function scores with, kept current without a restart. Each request asks for the
 * current model; at most every `refreshIntervalMs` that also starts a background check of the `latest`
 * pointer, and a new version is loaded beside the old one and swapped in only once it loaded and passed
 * its checks. A corrupt or incompatible bundle is refused with a log line naming it, and the previous
 * model keeps serving; the refused version is not retried until the pointer changes again.
 */
export class AffinityModelProvider {
  private model: AffinityModel | undefined;
  private lastCheck = Number.NEGATIVE_INFINITY;
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
    if (
      !this.closed &&
      this.checking === undefined &&
      this.now() - this.lastCheck >= this.options.refreshIntervalMs
    ) {
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
    this.checking ??= this.check().finally(() => {
      this.lastCheck = this.now();
      this.checking = undefined;
    });
    return this.checking;
  }

  private async check(): Promise<void> {
    let latest;
    try {
      latest = await this.options.store.readLatest();
    } catch (error) {
      this.log(
        `affinity: cannot read the latest pointer (${describe(error)}); keeping ${this.model?.version ?? 'no model'}`,
      );
      return;
    }
    if (
      latest === undefined ||
      latest.pointer.version === this.model?.version ||
      latest.etag === this.refusedEtag
    )
      return;
    const version = latest.pointer.version;
    let loaded: AffinityModel;
    try {
      loaded = await loadAffinityModelFromFiles(
        await this.options.store.readBundle(version),
        this.options.loadOptions,
      );
    } catch (error) {
      this.refusedEtag = latest.etag;
      this.log(
        `affinity: refused model ${version}: ${describe(error)}; keeping ${this.model?.version ?? 'no model'}`,
      );
      return;
    }
    if (this.closed) {
      await loaded.close();
      return;
    }
    const previous = this.model;
    this.model = loaded;
    this.refusedEtag = undefined;
    this.log(`affinity: serving model ${version}${previous ? ` (replaced ${previous.version})` : ''}`);
    if (previous) this.releaseLater(previous);
  }

  private releaseLater(model: AffinityModel): void {
    const timer = setTimeout(() => {
      this.pendingReleases.delete(timer);
      model
        .close()
        .catch((error: unknown) =>
          this.log(`affinity: releasing ${model.version} failed: ${describe(error)}`),
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
