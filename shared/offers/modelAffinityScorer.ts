import { topItems } from '../affinity/affinityModel';
import { TurnBatcher } from '../runtime/turnBatcher';
import { AffinityScorer } from './offerService';

type History = ReadonlyArray<{ itemId: string; weight: number }>;

/** What the offer path needs of an affinity model (shared/affinity implements it with onnxruntime-node). */
export interface ScoringModel {
  version: string;
  itemIds: readonly string[];
  /** One score array per history, each aligned with `itemIds`, from one run of the model. */
  scoreBatch(histories: ReadonlyArray<History>): Promise<Float32Array[]>;
}

type Scored = Awaited<ReturnType<AffinityScorer['score']>>;

/** The most histories in one ONNX run; the model cuts larger runs by memory anyway. */
const MAX_HISTORIES_PER_RUN = 64;

/** One history to score, with the signal of the decision waiting for it. */
interface Request {
  history: History;
  signal: AbortSignal | undefined;
}

/** Resolves in the check phase of the next turn, after the timers that are due have run. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Adapts the current affinity model to the offer path: the offer logic needs the strongest products, not
 * a score for each of a catalog that may hold 100k items. The histories of requests that arrive in the
 * same turn of the event loop are scored in one ONNX run (see TurnBatcher): a run's fixed cost on the
 * host's thread is several times that of one more row.
 *
 * Runs go to the model one at a time, and work nobody waits for is left out just before each run: a
 * history whose decision has given up on it (its signal aborted, at OFFER_DEPENDENCY_TIMEOUT_MS) is dropped
 * from its batch, and a batch whose decisions have all given up is skipped. onnxruntime-node runs a
 * session on the host's one thread anyway (each run blocks it), so one at a time costs no parallelism; what
 * it buys is that a backlog, under overload, waits here where its callers can still be asked, instead of
 * in the event loop's queue where every run queued would execute, awaited or not.
 */
export class ModelAffinityScorer implements AffinityScorer {
  private readonly batcher: TurnBatcher<Request, Scored>;
  /** Settles when the batch handed over last is done with the model. */
  private lastRun: Promise<void> = Promise.resolve();
  /** Batches running or waiting for their turn. */
  private batchesInLine = 0;

  constructor(
    private readonly currentModel: () => Promise<ScoringModel | undefined>,
    private readonly topK = 1000,
  ) {
    this.batcher = new TurnBatcher(
      (requests, signal) => this.scoreTogether(requests, signal),
      MAX_HISTORIES_PER_RUN,
    );
  }

  score(history: History, signal?: AbortSignal): Promise<Scored> {
    return this.batcher.submit({ history, signal }, signal);
  }

  /** `batchSignal` aborts when every request of the batch has given up (see TurnBatcher). */
  private async scoreTogether(requests: Request[], batchSignal: AbortSignal): Promise<Scored[]> {
    const previous = this.lastRun;
    let done!: () => void;
    this.lastRun = new Promise<void>((resolve) => (done = resolve));
    const behindAnother = this.batchesInLine > 0;
    this.batchesInLine += 1;
    try {
      await previous;
      // The previous run ended in this very turn, before the timers of the decisions that gave up while
      // it ran: let them run first, so that their signals say so.
      if (behindAnother) await nextTurn();
      const waitedFor = () => (batchSignal.aborted ? [] : requests.filter((r) => !r.signal?.aborted));
      if (waitedFor().length === 0) return requests.map(() => undefined);
      // One model for the whole batch, so a new version is never mixed into a run of the old one.
      const model = await this.currentModel();
      // The first model of a process may have taken long to load.
      const live = waitedFor();
      if (!model || live.length === 0) return requests.map(() => undefined);
      const batchScores = await model.scoreBatch(live.map((r) => r.history));
      if (batchScores.length !== live.length) {
        throw new Error(
          `model ${model.version} answered ${live.length} histories with ${batchScores.length} scores`,
        );
      }
      const byRequest = new Map<Request, Scored>();
      live.forEach((request, i) => {
        const scores = batchScores[i];
        if (scores) byRequest.set(request, this.strongest(model, scores));
      });
      // Requests left out are answered by nobody: the batcher has rejected them already.
      return requests.map((request) => byRequest.get(request));
    } finally {
      this.batchesInLine -= 1;
      done();
    }
  }

  private strongest(model: ScoringModel, scores: Float32Array): NonNullable<Scored> {
    const result = new Map<string, number>();
    for (const index of topItems(scores, this.topK)) {
      const value = scores[index] as number;
      if (value > 0) result.set(model.itemIds[index] as string, value);
    }
    return { scores: result, version: model.version };
  }
}
