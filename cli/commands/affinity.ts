import { parseArgs } from 'node:util';
import { Command, UsageError } from '../command';
import { commandEnvironment } from '../commandEnvironment';
import { versionSchema } from '../../shared/affinity/bundle';
import { MAX_DENSE_ITEMS } from '../../shared/config/settings';
import type { Interaction, InteractionFormat } from '../../models/affinity/interactions';
import type { AffinityTrainingOptions, ModelKind } from '../../models/affinity/train';
import type { Weighting } from '../../models/affinity/ease';

const usage = `usage: npx nextoffer affinity <subcommand> [options]

  train --input FILE --out DIR [--format F] [--model auto|dense|sparse] [--max-items N] [--neighbours K]
        [--lambda auto|N] [--weighting W] [--blend auto|N] [--rp3-beta auto|N] [--low-rank-share auto|N]
        [--low-rank auto|N] [--low-pass-share auto|N] [--low-pass-rank auto|N] [--no-evaluate] [--seed N]
        [--model-version V]
      Trains the affinity model and writes a bundle (model.onnx, items.json, coldStart.json,
      manifest.json) to DIR. Without --input it reads the last AFFINITY_TRAINING_DAYS days of the
      clickstream archive (settings ArchiveStorage, ARCHIVE_CONTAINER, EVENTHUB_NAME).

  recommend --model DIR --histories FILE [--k 10] [--include-seen] [--format F]
      Prints one JSON line {"userId","items"} per user of FILE, scored through the ONNX model.
      Each user's history items are left out unless --include-seen; a user with no item the model
      knows gets the cold-start list.

  evaluate --input FILE [--k 10] [--seed N] [--format F] [--model auto|dense|sparse] [--max-items N]
           [--neighbours K] [--lambda auto|N] [--weighting W] [--blend auto|N] [--rp3-beta auto|N]
           [--low-rank-share auto|N] [--low-rank auto|N] [--low-pass-share auto|N] [--low-pass-rank auto|N]
      Per-user random 75/25 split; prints MAP, nDCG@k, Precision@k, Recall@k of the model and of the
      popularity and SAR (Jaccard co-occurrence) baselines as JSON.

  publish --model DIR [--force]
      Uploads a bundle to the models container (MODELS_CONTAINER) as affinity/<version>/ and moves
      affinity/latest.json to it when its offline metrics are not worse than the current latest's
      (--force moves it regardless).

Input files (FILE): CSV with header userId,itemId[,weight][,timestamp][,category], JSON Lines with those
fields, or MovieLens rating dumps (u.data, ratings.dat, ratings.csv); --format auto|csv|jsonl|movielens
(default auto). The dense model blends EASE, RP3beta, a low-rank projection and a degree-normalised
low-pass filter into one item matrix over at most --max-items items (default 5000, the most popular):
--lambda is EASE's regularisation, --rp3-beta RP3beta's popularity exponent (0 or more), --blend
RP3beta's share next to EASE (0 = EASE alone, 1 = RP3beta alone), --low-rank the projection's rank and
--low-rank-share its share (0 = none), --low-pass-rank the filter's rank and --low-pass-share its share
(0 = none), --weighting W (auto|binary|log1p|raw) how weights enter the model; 'auto' (the default for all) chooses
them on a validation split of the training data. The sparse model keeps each item's --neighbours K
(default 100) strongest RP3beta neighbours over the whole catalog (--rp3-beta and --weighting apply,
the other dense options do not). --model auto (the default) trains the dense model when the catalog
has at most --max-items items and the sparse one otherwise; dense or sparse force one.
Progress goes to stderr, the result to stdout.`;

const formats = ['auto', 'csv', 'jsonl', 'movielens'];
const modelKinds = ['auto', 'dense', 'sparse'];
const weightings = ['auto', 'binary', 'raw', 'log1p'];

function progress(message: string): void {
  process.stderr.write(`[affinity ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function positiveInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new UsageError(`--${name} must be a positive integer, got '${raw}'`);
  return value;
}

/** The dense model's item cap, bounded as AFFINITY_MAX_ITEMS is: its memory grows with the square. */
function maxItems(raw: string | undefined): number {
  const value = positiveInteger('max-items', raw, 5000);
  if (value > MAX_DENSE_ITEMS) {
    throw new UsageError(
      `--max-items must be at most ${MAX_DENSE_ITEMS} (larger catalogs get the sparse model), got ${value}`,
    );
  }
  return value;
}

/** Checked before the input is read: the version names blobs, so it must be short and safe. */
function modelVersion(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const parsed = versionSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UsageError(`--model-version ${parsed.error.issues[0]?.message ?? 'is invalid'}, got '${raw}'`);
  }
  return parsed.data;
}

function nonNegativeInteger(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new UsageError(`--${name} must be a whole number, got '${raw}'`);
  return value;
}

function format(raw: string | undefined): InteractionFormat {
  if (raw === undefined) return 'auto';
  if (!formats.includes(raw))
    throw new UsageError(`--format must be one of ${formats.join(', ')}, got '${raw}'`);
  return raw as InteractionFormat;
}

function lambda(raw: string | undefined): number | 'auto' {
  if (raw === undefined || raw === 'auto') return 'auto';
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--lambda must be 'auto' or a positive number, got '${raw}'`);
  return value;
}

function share(name: string, raw: string | undefined): number | 'auto' {
  if (raw === undefined || raw === 'auto') return 'auto';
  const value = Number(raw);
  if (raw.trim() === '' || !(value >= 0 && value <= 1))
    throw new UsageError(`--${name} must be 'auto' or a number from 0 to 1, got '${raw}'`);
  return value;
}

function lowRank(raw: string | undefined): number | 'auto' {
  if (raw === undefined || raw === 'auto') return 'auto';
  return positiveInteger('low-rank', raw, 1);
}

function lowPassRank(raw: string | undefined): number | 'auto' {
  if (raw === undefined || raw === 'auto') return 'auto';
  return positiveInteger('low-pass-rank', raw, 1);
}

function rp3Beta(raw: string | undefined): number | 'auto' {
  if (raw === undefined || raw === 'auto') return 'auto';
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new UsageError(`--rp3-beta must be 'auto' or a number of 0 or more, got '${raw}'`);
  return value;
}

function weighting(raw: string | undefined): Weighting | 'auto' | undefined {
  if (raw === undefined) return undefined;
  if (!weightings.includes(raw))
    throw new UsageError(`--weighting must be one of ${weightings.join(', ')}, got '${raw}'`);
  return raw as Weighting | 'auto';
}

/** The sparse model holds items × K slots (12 bytes each); beyond 1,000 it outgrows any use of it. */
function neighbours(raw: string | undefined): number {
  const value = positiveInteger('neighbours', raw, 100);
  if (value > 1000) throw new UsageError(`--neighbours must be at most 1000, got ${value}`);
  return value;
}

function modelKind(raw: string | undefined): ModelKind | 'auto' {
  if (raw === undefined) return 'auto';
  if (!modelKinds.includes(raw))
    throw new UsageError(`--model must be one of ${modelKinds.join(', ')}, got '${raw}'`);
  return raw as ModelKind | 'auto';
}

function required(name: string, value: string | undefined): string {
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

async function readInput(path: string, inputFormat: InteractionFormat): Promise<Interaction[]> {
  const { readInteractionsFile } = await import('../../models/affinity/interactions');
  progress(`reading ${path}`);
  const interactions = await readInteractionsFile(path, inputFormat, (lines) =>
    progress(`${lines} lines read`),
  );
  progress(`${interactions.length} interactions read`);
  return interactions;
}

async function readArchive(): Promise<Interaction[]> {
  const { parseAffinitySettings, parseArchiveSettings, parseEventHubName } =
    await import('../../shared/config/settings');
  const { createBlobServiceClient } = await import('../../shared/runtime/clients');
  const { readArchiveInteractions } = await import('../../models/affinity/archiveReader');
  const env = commandEnvironment();
  const archive = parseArchiveSettings(env);
  const days = parseAffinitySettings(env).trainingDays;
  const to = new Date();
  const from = new Date(to.getTime() - days * 24 * 3600 * 1000);
  const eventHubName = parseEventHubName(env);
  progress(
    `reading the archive container ${archive.rawEventsContainer}, hub ${eventHubName}, from ${from.toISOString()}`,
  );
  const container = createBlobServiceClient(archive.connection).getContainerClient(
    archive.rawEventsContainer,
  );
  const result = await readArchiveInteractions(container, { eventHubName, from, to, onProgress: progress });
  if (result.interactions.length === 0)
    throw new Error(`the archive holds no product events of the last ${days} days`);
  return result.interactions;
}

async function train(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      input: { type: 'string' },
      out: { type: 'string' },
      format: { type: 'string' },
      lambda: { type: 'string' },
      'max-items': { type: 'string' },
      model: { type: 'string' },
      neighbours: { type: 'string' },
      weighting: { type: 'string' },
      blend: { type: 'string' },
      'rp3-beta': { type: 'string' },
      'low-rank-share': { type: 'string' },
      'low-rank': { type: 'string' },
      'low-pass-share': { type: 'string' },
      'low-pass-rank': { type: 'string' },
      'no-evaluate': { type: 'boolean' },
      seed: { type: 'string' },
      'model-version': { type: 'string' },
    },
  });
  const out = required('out', values.out);
  const options: AffinityTrainingOptions = {
    lambda: lambda(values.lambda),
    maxItems: maxItems(values['max-items']),
    model: modelKind(values.model),
    neighbours: neighbours(values.neighbours),
    weighting: weighting(values.weighting),
    blend: share('blend', values.blend),
    rp3Beta: rp3Beta(values['rp3-beta']),
    lowRankShare: share('low-rank-share', values['low-rank-share']),
    lowRank: lowRank(values['low-rank']),
    lowPassShare: share('low-pass-share', values['low-pass-share']),
    lowPassRank: lowPassRank(values['low-pass-rank']),
    evaluate: values['no-evaluate'] !== true,
    seed: nonNegativeInteger('seed', values.seed, 42),
    version: modelVersion(values['model-version']),
    onProgress: progress,
  };
  let interactions: Interaction[];
  if (values.input !== undefined) {
    interactions = await readInput(values.input, format(values.format));
  } else {
    interactions = await readArchive();
  }
  const { trainAffinityModel, writeBundle } = await import('../../models/affinity/train');
  const bundle = await trainAffinityModel(interactions, options);
  await writeBundle(out, bundle);
  progress(`bundle written to ${out}`);
  process.stdout.write(
    JSON.stringify({
      version: bundle.manifest.version,
      directory: out,
      metrics: bundle.manifest.metrics,
      data: bundle.manifest.data,
    }) + '\n',
  );
  return 0;
}

async function recommend(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      model: { type: 'string' },
      histories: { type: 'string' },
      k: { type: 'string' },
      'include-seen': { type: 'boolean' },
      format: { type: 'string' },
    },
  });
  const directory = required('model', values.model);
  const historiesPath = required('histories', values.histories);
  const k = positiveInteger('k', values.k, 10);
  if (k > 1000) throw new UsageError(`--k must be at most 1000, got ${k}`);
  const includeSeen = values['include-seen'] === true;
  const { loadAffinityModelFromDirectory, topItems } = await import('../../shared/affinity/affinityModel');
  const model = await loadAffinityModelFromDirectory(directory);
  try {
    progress(`model ${model.version}: ${model.itemIds.length} items`);
    const interactions = await readInput(historiesPath, format(values.format));
    const histories = new Map<string, Array<{ itemId: string; weight: number }>>();
    for (const { userId, itemId, weight } of interactions) {
      let history = histories.get(userId);
      if (history === undefined) histories.set(userId, (history = []));
      history.push({ itemId, weight });
    }
    const users = [...histories.keys()];
    const batchSize = 256;
    let coldStartUsers = 0;
    for (let start = 0; start < users.length; start += batchSize) {
      const batch = users.slice(start, start + batchSize);
      const scores = await model.scoreBatch(batch.map((user) => histories.get(user) ?? []));
      const lines = batch.map((userId, b) => {
        const history = histories.get(userId) ?? [];
        const seenIds = new Set(history.map((entry) => entry.itemId));
        const seen = new Set<number>();
        for (const itemId of seenIds) {
          const index = model.indexOf(itemId);
          if (index !== undefined) seen.add(index);
        }
        let items: string[];
        if (seen.size === 0) {
          // Nothing the model knows: the answer is cold start, as the offer function gives.
          coldStartUsers++;
          items = model.coldStart.global
            .map((entry) => entry.itemId)
            .filter((itemId) => includeSeen || !seenIds.has(itemId))
            .slice(0, k);
        } else {
          items = topItems(scores[b]!, k, includeSeen ? new Set() : seen).map(
            (index) => model.itemIds[index]!,
          );
        }
        return JSON.stringify({ userId, items });
      });
      process.stdout.write(lines.join('\n') + '\n');
      progress(`${Math.min(start + batchSize, users.length)}/${users.length} users`);
    }
    if (coldStartUsers > 0) progress(`${coldStartUsers} users had no known item and got the cold-start list`);
  } finally {
    await model.close();
  }
  return 0;
}

async function evaluate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      input: { type: 'string' },
      k: { type: 'string' },
      seed: { type: 'string' },
      format: { type: 'string' },
      lambda: { type: 'string' },
      'max-items': { type: 'string' },
      model: { type: 'string' },
      neighbours: { type: 'string' },
      weighting: { type: 'string' },
      blend: { type: 'string' },
      'rp3-beta': { type: 'string' },
      'low-rank-share': { type: 'string' },
      'low-rank': { type: 'string' },
      'low-pass-share': { type: 'string' },
      'low-pass-rank': { type: 'string' },
    },
  });
  const input = required('input', values.input);
  const k = positiveInteger('k', values.k, 10);
  if (k > 1000) throw new UsageError(`--k must be at most 1000, got ${k}`);
  const options: AffinityTrainingOptions = {
    k,
    seed: nonNegativeInteger('seed', values.seed, 42),
    lambda: lambda(values.lambda),
    maxItems: maxItems(values['max-items']),
    model: modelKind(values.model),
    neighbours: neighbours(values.neighbours),
    weighting: weighting(values.weighting),
    blend: share('blend', values.blend),
    rp3Beta: rp3Beta(values['rp3-beta']),
    lowRankShare: share('low-rank-share', values['low-rank-share']),
    lowRank: lowRank(values['low-rank']),
    lowPassShare: share('low-pass-share', values['low-pass-share']),
    lowPassRank: lowPassRank(values['low-pass-rank']),
    onProgress: progress,
  };
  const interactions = await readInput(input, format(values.format));
  const { evaluateAffinity } = await import('../../models/affinity/evaluation');
  const result = await evaluateAffinity(interactions, options);
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  return 0;
}

async function publish(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { model: { type: 'string' }, force: { type: 'boolean' } },
  });
  const directory = required('model', values.model);
  const { readBundleDirectory } = await import('../../shared/affinity/affinityModel');
  const { parseAffinitySettings, parseArchiveSettings } = await import('../../shared/config/settings');
  const { createAffinityBundleStore } = await import('../../shared/affinity/runtime');
  const env = commandEnvironment();
  const store = createAffinityBundleStore(parseArchiveSettings(env), parseAffinitySettings(env));
  const files = await readBundleDirectory(directory);
  const outcome = await store.publish(files, { force: values.force === true });
  progress(outcome.reason);
  process.stdout.write(JSON.stringify(outcome) + '\n');
  return 0;
}

const subcommands: Record<string, (args: string[]) => Promise<number>> = {
  train,
  recommend,
  evaluate,
  publish,
};

export const command: Command = {
  summary: 'train, evaluate, publish and query the product-affinity model',
  usage,
  async run(args: string[]): Promise<number> {
    const [name, ...rest] = args;
    const subcommand = name === undefined ? undefined : subcommands[name];
    if (subcommand === undefined) {
      throw new UsageError(name === undefined ? 'missing subcommand' : `unknown subcommand '${name}'`);
    }
    try {
      return await subcommand(rest);
    } catch (error) {
      // parseArgs reports unknown options and missing values with a code; they are usage errors.
      if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
        throw new UsageError((error as Error).message);
      }
      // Bad input and refused bundles are the user's to fix: say what and where, without a stack.
      if (
        error instanceof Error &&
        ['InteractionInputError', 'BundleError', 'ConfigurationError'].includes(error.name)
      ) {
        process.stderr.write(`nextoffer affinity ${name}: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
