import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import {
  defaultRunId,
  loadPlanLeads,
  RunInProgressError,
  runCampaignBatch,
  RunSupersededError,
} from '../../shared/campaign/batch';
import { BundleError, EvaluationSummary, readBundle, writeBundle } from '../../shared/campaign/bundle';
import { readConstraintsFile } from '../../shared/campaign/constraints';
import { CsvTable, Delimiter, formatCsvLine, readCsvFile } from '../../shared/campaign/csv';
import { ColumnMapping, FeatureKind, buildTouchFrame } from '../../shared/campaign/dataset';
import { encodeFrame } from '../../shared/campaign/encoding';
import { CampaignInputError, MissingTableError } from '../../shared/campaign/errors';
import {
  DELIMITER_VALUES,
  mappedColumnWithoutFile,
  OptionalPlanFile,
  parseDelimiter,
} from '../../shared/campaign/inputOptions';
import { LeadPlan } from '../../shared/campaign/planner';
import { CampaignPlanner } from '../../shared/campaign/planner';
import { CosmosCampaignPlanStore } from '../../shared/campaign/planStore';
import { CampaignScorer } from '../../shared/campaign/scorer';
import { parseCampaignSettings, parseCosmosSettings } from '../../shared/config/settings';
import { defaultGbdtOptions } from '../../models/campaign/gbdt';
import { generateCampaignData, plantedBestPlan } from '../../models/campaign/generator';
import { defaultTrainOptions, trainCampaignModel } from '../../models/campaign/train';
import { Command, UsageError } from '../command';
import { commandEnvironment } from '../commandEnvironment';

const usage = `usage: npx nextoffer campaign <action> [options]

Campaign optimisation: predict each lead's response and recommend the best channel, day of week and
time of day. Results go to stdout (or --out), progress to stderr. See docs/campaign.md.

actions:
  train    --touches FILE [--leads FILE] [--campaigns FILE] [--products FILE] --out DIR
           [--learning-rate 0.05] [--max-iterations 600] [--max-leaves 31] [--min-leaf 20] [--l2 1]
           [--holdout 0.1] [--validation 0.1] [--no-refit] [--seed 42]
           [--types COL:numeric|categorical,...] [--exclude COL,...]
           Trains gradient-boosted trees (ONNX) and a logistic-regression baseline; prints both evaluations.
  score    --model DIR --touches FILE [--leads FILE] [--campaigns FILE] [--products FILE] [--out FILE]
           The touch rows in input order with a probability column appended (CSV).
  plan     --model DIR --leads FILE [--touches FILE] [--campaigns FILE] [--products FILE]
           [--constraints FILE] [--out FILE] [--format jsonl|csv]
           One plan per lead: best channel/day/time, probability, runner-up, uplift over the last touch
           (the touch with the latest timestamp, else the lead's last row in the touches file). A model
           trained with --campaigns/--products needs them too: each lead's campaign is the one its row of
           the leads file names, else its last touch's; its product the one its row names, else the one
           that goes with that campaign: the last touch's when the campaign is that touch's, otherwise
           the campaign's Product_Id in --campaigns.
  batch    --model DIR --leads FILE [--touches FILE] [--campaigns FILE] [--products FILE]
           [--constraints FILE] [--run-id ID]
           Plans every lead and writes the plans to Cosmos (CosmosDBConnection, COSMOS_DATABASE,
           CAMPAIGN_PLANS_CONTAINER) for Power BI; reruns with the same run id overwrite.
  generate --out DIR [--leads 10000] [--touches-per-lead 5] [--seed 1]
           Synthetic leads.csv, touches.csv and planted-plans.csv with planted channel/day/time preferences.

column mapping (aliases such as Lead_Id, Day_Of_Week, Conversion_Flag, contact, y are recognised without
options):
  train, score, plan, batch  --lead-id COL  --channel COL  --day COL  --time COL  --timestamp COL
                             --campaign-id COL  --product-id COL
                             --delimiter ,|;|tab (default: detected from the header)
  train, score               --target COL`;

/** The mapping of the columns plan and batch read (leads, touch history, campaigns and products). */
const planMappingOptions = {
  'lead-id': { type: 'string' },
  channel: { type: 'string' },
  day: { type: 'string' },
  time: { type: 'string' },
  timestamp: { type: 'string' },
  'campaign-id': { type: 'string' },
  'product-id': { type: 'string' },
  delimiter: { type: 'string' },
} as const;

/** train and score also read outcomes. */
const mappingOptions = {
  ...planMappingOptions,
  target: { type: 'string' },
} as const;

/** The input tables (and the output file) that train and score both read. */
const tableFileOptions = {
  touches: { type: 'string' },
  leads: { type: 'string' },
  campaigns: { type: 'string' },
  products: { type: 'string' },
  out: { type: 'string' },
} as const;

type MappingValues = Partial<Record<keyof typeof mappingOptions, string>>;

function mappingFrom(values: MappingValues): ColumnMapping {
  const mapping: ColumnMapping = {};
  const set = (role: keyof ColumnMapping, value: string | undefined) => {
    if (value !== undefined) mapping[role] = value;
  };
  set('leadId', values['lead-id']);
  set('channel', values.channel);
  set('dayOfWeek', values.day);
  set('timeOfDay', values.time);
  set('converted', values.target);
  set('campaignId', values['campaign-id']);
  set('productId', values['product-id']);
  set('timestamp', values.timestamp);
  return mapping;
}

function delimiterFrom(value: string | undefined): Delimiter | undefined {
  if (value === undefined) return undefined;
  const delimiter = parseDelimiter(value);
  if (delimiter === undefined)
    throw new UsageError(`--delimiter must be ${DELIMITER_VALUES}, not '${value}'`);
  return delimiter;
}

/** The option naming each role whose column is in one optional file only. */
const singleFileOptions = {
  timestamp: 'timestamp',
  campaignId: 'campaign-id',
  productId: 'product-id',
} as const;

/** A mapping that could never be used (its file is not given) is refused, not ignored. */
function checkPlanMapping(values: MappingValues & Partial<Record<OptionalPlanFile, string>>): void {
  const mapping = mappingFrom(values);
  const unusable = mappedColumnWithoutFile(
    { timestamp: mapping.timestamp, campaignId: mapping.campaignId, productId: mapping.productId },
    values,
  );
  if (unusable !== undefined)
    throw new UsageError(
      `--${singleFileOptions[unusable.role]} names the column that ${unusable.purpose}; give --${unusable.file} too`,
    );
}

function numberOption(
  values: Record<string, unknown>,
  name: string,
  fallback: number,
  check: (n: number) => boolean,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || !check(n))
    throw new UsageError(
      `--${name}: '${typeof raw === 'string' ? raw : JSON.stringify(raw)}' is out of range`,
    );
  return n;
}

function typesFrom(value: string | undefined): Record<string, FeatureKind> | undefined {
  if (value === undefined) return undefined;
  const types: Record<string, FeatureKind> = {};
  for (const entry of value.split(',').filter((e) => e.trim() !== '')) {
    const at = entry.lastIndexOf(':');
    const kind = entry.slice(at + 1).trim();
    if (at <= 0 || (kind !== 'numeric' && kind !== 'categorical')) {
      throw new UsageError(`--types: '${entry}' is not COLUMN:numeric or COLUMN:categorical`);
    }
    types[entry.slice(0, at).trim()] = kind;
  }
  return types;
}

const log = (message: string) => process.stderr.write(`campaign: ${message}\n`);

/** Writes the whole result at once, through a temporary file, so a failure leaves no partial output. */
async function emit(out: string | undefined, text: string): Promise<void> {
  if (out === undefined) {
    process.stdout.write(text);
    return;
  }
  const temporary = `${out}.tmp-${process.pid}`;
  await mkdir(dirname(out), { recursive: true });
  try {
    await writeFile(temporary, text);
    await rename(temporary, out);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function readTables(
  values: { touches?: string; leads?: string; campaigns?: string; products?: string },
  delimiter: Delimiter | undefined,
) {
  const read = async (path: string | undefined): Promise<CsvTable | undefined> =>
    path === undefined ? undefined : readCsvFile(path, delimiter ? { delimiter } : {});
  const touches = await read(values.touches);
  if (!touches) throw new UsageError('--touches is required');
  const leads = await read(values.leads);
  const campaigns = await read(values.campaigns);
  const products = await read(values.products);
  return {
    touches,
    ...(leads ? { leads } : {}),
    ...(campaigns ? { campaigns } : {}),
    ...(products ? { products } : {}),
  };
}

async function train(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...mappingOptions,
      ...tableFileOptions,
      'learning-rate': { type: 'string' },
      'max-iterations': { type: 'string' },
      'max-leaves': { type: 'string' },
      'min-leaf': { type: 'string' },
      l2: { type: 'string' },
      holdout: { type: 'string' },
      validation: { type: 'string' },
      'no-refit': { type: 'boolean' },
      seed: { type: 'string' },
      types: { type: 'string' },
      exclude: { type: 'string' },
    },
  });
  if (values.out === undefined) throw new UsageError('--out is required');
  const holdoutFraction = numberOption(
    values,
    'holdout',
    defaultTrainOptions.holdoutFraction,
    (n) => n >= 0 && n < 0.5,
  );
  const validationFraction = numberOption(
    values,
    'validation',
    defaultTrainOptions.validationFraction,
    (n) => n >= 0 && n < 0.5,
  );
  const gbdt = {
    ...defaultGbdtOptions,
    learningRate: numberOption(
      values,
      'learning-rate',
      defaultGbdtOptions.learningRate,
      (n) => n > 0 && n <= 1,
    ),
    maxIterations: numberOption(
      values,
      'max-iterations',
      defaultGbdtOptions.maxIterations,
      (n) => Number.isInteger(n) && n >= 1 && n <= 10000,
    ),
    maxLeaves: numberOption(
      values,
      'max-leaves',
      defaultGbdtOptions.maxLeaves,
      (n) => Number.isInteger(n) && n >= 2 && n <= 1024,
    ),
    minSamplesLeaf: numberOption(
      values,
      'min-leaf',
      defaultGbdtOptions.minSamplesLeaf,
      (n) => Number.isInteger(n) && n >= 1,
    ),
    l2: numberOption(values, 'l2', defaultGbdtOptions.l2, (n) => n >= 0),
  };
  const seed = numberOption(values, 'seed', defaultTrainOptions.seed, (n) => Number.isInteger(n));
  const started = Date.now();
  const tables = await readTables(values, delimiterFrom(values.delimiter));
  log(
    `read ${tables.touches.rows.length} touches${tables.leads ? ` and ${tables.leads.rows.length} leads` : ''}`,
  );
  const types = typesFrom(values.types);
  const frame = buildTouchFrame(tables, {
    mapping: mappingFrom(values),
    requireTarget: true,
    ...(types ? { types } : {}),
    exclude: values.exclude?.split(',').map((c) => c.trim()) ?? [],
  });
  log(`features: ${frame.features.map((f) => `${f.name} (${f.kind})`).join(', ')}`);
  const trained = await trainCampaignModel(frame, {
    gbdt,
    holdoutFraction,
    validationFraction,
    refit: values['no-refit'] !== true,
    seed,
    progress: log,
  });
  await writeBundle(values.out, trained.bundle);
  const { manifest } = trained.bundle;
  log(
    `model ${manifest.version} written to ${values.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  const summary = {
    model: values.out,
    version: manifest.version,
    touches: manifest.training.touches,
    trees: manifest.learner.trees,
    dimensions: Object.fromEntries(manifest.encoding.dimensions.map((d) => [d.dimension, d.values])),
    holdout: manifest.metrics
      ? {
          rows: manifest.metrics.model.rows,
          trees: { auc: manifest.metrics.model.auc, logLoss: manifest.metrics.model.logLoss },
          logisticBaseline: {
            auc: manifest.metrics.baseline.auc,
            logLoss: manifest.metrics.baseline.logLoss,
          },
          liftByDecile: liftOf(manifest.metrics.model, 'lift'),
          cumulativeLiftByDecile: liftOf(manifest.metrics.model, 'cumulativeLift'),
          baselineLiftByDecile: liftOf(manifest.metrics.baseline, 'lift'),
          baselineCumulativeLiftByDecile: liftOf(manifest.metrics.baseline, 'cumulativeLift'),
          calibration: calibrationOf(manifest.metrics.model),
          baselineCalibration: calibrationOf(manifest.metrics.baseline),
        }
      : null,
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
  return 0;
}

/** One lift figure per decile, rounded for the summary. */
function liftOf(metrics: EvaluationSummary, figure: 'lift' | 'cumulativeLift'): number[] {
  return metrics.lift.map((decile) => Number(decile[figure].toFixed(3)));
}

function calibrationOf(metrics: EvaluationSummary) {
  return metrics.calibration.map((c) => ({
    decile: c.decile,
    predicted: Number(c.meanPredicted.toFixed(4)),
    observed: Number(c.observedRate.toFixed(4)),
  }));
}

async function score(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...mappingOptions,
      model: { type: 'string' },
      ...tableFileOptions,
    },
  });
  if (values.model === undefined) throw new UsageError('--model is required');
  const bundle = await readBundle(values.model);
  const tables = await readTables(values, delimiterFrom(values.delimiter));
  const frame = buildTouchFrame(tables, {
    mapping: mappingFrom(values),
    preferred: bundle.manifest.mapping,
    requireTarget: false,
    features: bundle.manifest.encoding.features,
  });
  const matrix = encodeFrame(bundle.manifest.encoding, frame);
  const scorer = await CampaignScorer.create(bundle);
  try {
    log(`scoring ${frame.rowCount} touches`);
    const probabilities = await scorer.score(matrix, frame.rowCount);
    const { touches } = tables;
    const parts = [formatCsvLine([...touches.header, 'probability'])];
    touches.rows.forEach((row, t) => parts.push(formatCsvLine([...row, probabilities[t]!.toFixed(6)])));
    await emit(values.out, parts.join(''));
    if (values.out !== undefined)
      process.stdout.write(JSON.stringify({ scored: frame.rowCount, out: values.out }) + '\n');
    return 0;
  } finally {
    await scorer.close();
  }
}

const planCsvHeader = [
  'leadId',
  'channel',
  'dayOfWeek',
  'timeOfDay',
  'probability',
  'runnerUpChannel',
  'runnerUpDayOfWeek',
  'runnerUpTimeOfDay',
  'runnerUpProbability',
  'lastChannel',
  'lastDayOfWeek',
  'lastTimeOfDay',
  'lastProbability',
  'uplift',
  'reason',
];

function planCsvRow(plan: LeadPlan): string[] {
  const text = (v: string | number | undefined | null) =>
    v === undefined || v === null ? '' : typeof v === 'number' ? v.toFixed(6) : v;
  return [
    plan.leadId,
    text(plan.best?.channel),
    text(plan.best?.dayOfWeek),
    text(plan.best?.timeOfDay),
    text(plan.best?.probability),
    text(plan.runnerUp?.channel),
    text(plan.runnerUp?.dayOfWeek),
    text(plan.runnerUp?.timeOfDay),
    text(plan.runnerUp?.probability),
    text(plan.last?.channel),
    text(plan.last?.dayOfWeek),
    text(plan.last?.timeOfDay),
    text(plan.last?.probability),
    text(plan.uplift),
    text(plan.reason),
  ];
}

/** The input files of `plan` and `batch`. */
const planFileOptions = {
  model: { type: 'string' },
  leads: { type: 'string' },
  touches: { type: 'string' },
  campaigns: { type: 'string' },
  products: { type: 'string' },
  constraints: { type: 'string' },
} as const;

/**
 * What `plan` and `batch` both read: the bundle, the constraints and the leads (with their touches, and
 * the campaigns and products a model trained with them needs, refused up front when not given).
 */
async function readPlanInputs(values: MappingValues & Partial<Record<keyof typeof planFileOptions, string>>) {
  if (values.model === undefined) throw new UsageError('--model is required');
  if (values.leads === undefined) throw new UsageError('--leads is required');
  checkPlanMapping(values);
  const delimiter = delimiterFrom(values.delimiter);
  const bundle = await readBundle(values.model);
  const constraints = values.constraints === undefined ? {} : await readConstraintsFile(values.constraints);
  const { touches, campaigns, products } = values;
  try {
    const leads = await loadPlanLeads(
      bundle.manifest,
      {
        leads: values.leads,
        ...(touches === undefined ? {} : { touches }),
        ...(campaigns === undefined ? {} : { campaigns }),
        ...(products === undefined ? {} : { products }),
      },
      {
        mapping: mappingFrom(values),
        ...(delimiter ? { delimiter } : {}),
        unused: (table, why) => log(`--${table} is not used: ${why}`),
      },
    );
    return { bundle, constraints, leads };
  } catch (error) {
    if (error instanceof MissingTableError)
      throw new UsageError(`--${error.table} is required: ${error.problem} (model ${values.model})`);
    throw error;
  }
}

async function plan(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...planMappingOptions,
      ...planFileOptions,
      out: { type: 'string' },
      format: { type: 'string' },
    },
  });
  const inputs = await readPlanInputs(values);
  const format = values.format ?? (values.out?.toLowerCase().endsWith('.csv') ? 'csv' : 'jsonl');
  if (format !== 'csv' && format !== 'jsonl')
    throw new UsageError(`--format must be jsonl or csv, not '${format}'`);
  const { bundle, constraints, leads } = inputs;
  const scorer = await CampaignScorer.create(bundle);
  try {
    const planner = new CampaignPlanner(scorer, constraints, values.constraints ?? 'constraints');
    log(`planning ${leads.length} leads × ${planner.combinations.length} combinations`);
    const started = Date.now();
    const plans = await planner.plan(leads, (done) => {
      if (done % 20480 === 0) log(`scored ${done} of ${leads.length} leads`);
    });
    log(`planned ${plans.length} leads in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const text =
      format === 'csv'
        ? [formatCsvLine(planCsvHeader), ...plans.map((p) => formatCsvLine(planCsvRow(p)))].join('')
        : plans.map((p) => JSON.stringify(p) + '\n').join('');
    await emit(values.out, text);
    if (values.out !== undefined)
      process.stdout.write(JSON.stringify({ planned: plans.length, out: values.out }) + '\n');
    return 0;
  } finally {
    await scorer.close();
  }
}

async function batch(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...planMappingOptions,
      ...planFileOptions,
      'run-id': { type: 'string' },
    },
  });
  const runId = values['run-id'] ?? defaultRunId();
  if (!/^[\w.:-]{1,64}$/.test(runId))
    throw new UsageError('--run-id may hold only letters, digits and . : - _ (at most 64)');
  const { bundle, constraints, leads } = await readPlanInputs(values);
  const env = commandEnvironment();
  const cosmosSettings = parseCosmosSettings(env);
  const campaignSettings = parseCampaignSettings(env);
  const scorer = await CampaignScorer.create(bundle);
  // Loaded here only: the other actions need no Azure SDK (nor the Functions host's registry).
  const { createCosmosClient } = await import('../../shared/runtime/clients');
  const cosmos = createCosmosClient(cosmosSettings.connection);
  try {
    const store = new CosmosCampaignPlanStore(
      cosmos.database(cosmosSettings.database),
      campaignSettings.plansContainer,
      { onRetry: log },
    );
    const result = await runCampaignBatch({ scorer, constraints, leads, store, runId, progress: log });
    process.stdout.write(JSON.stringify({ ...result, container: campaignSettings.plansContainer }) + '\n');
    return 0;
  } finally {
    cosmos.dispose();
    await scorer.close();
  }
}

async function generate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      leads: { type: 'string' },
      'touches-per-lead': { type: 'string' },
      seed: { type: 'string' },
    },
  });
  if (values.out === undefined) throw new UsageError('--out is required');
  const leadCount = numberOption(
    values,
    'leads',
    10000,
    (n) => Number.isInteger(n) && n >= 1 && n <= 5_000_000,
  );
  const touchesPerLead = numberOption(values, 'touches-per-lead', 5, (n) => n >= 1 && n <= 100);
  const seed = numberOption(values, 'seed', 1, (n) => Number.isInteger(n));
  const data = generateCampaignData({ leads: leadCount, touchesPerLead, seed });
  await mkdir(values.out, { recursive: true });
  const toCsv = (table: CsvTable) =>
    [formatCsvLine(table.header), ...table.rows.map((r) => formatCsvLine(r))].join('');
  const planted = [
    formatCsvLine(['Lead_Id', 'Channel', 'Day_Of_Week', 'Time_Of_Day', 'Probability']),
    ...data.leads.map((lead) => {
      const best = plantedBestPlan(lead);
      return formatCsvLine([
        lead.leadId,
        best.plan.channel,
        best.plan.dayOfWeek,
        best.plan.timeOfDay,
        best.probability.toFixed(6),
      ]);
    }),
  ].join('');
  await emit(`${values.out}/leads.csv`, toCsv(data.leadTable));
  await emit(`${values.out}/touches.csv`, toCsv(data.touchTable));
  await emit(`${values.out}/planted-plans.csv`, planted);
  process.stdout.write(
    JSON.stringify({ out: values.out, leads: data.leads.length, touches: data.touchTable.rows.length }) +
      '\n',
  );
  return 0;
}

const actions: Record<string, (args: string[]) => Promise<number>> = { train, score, plan, batch, generate };

export const command: Command = {
  summary: 'campaign optimisation: train, score, plan, batch (Cosmos), generate',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    const run = action === undefined ? undefined : actions[action];
    if (!run) throw new UsageError(action === undefined ? 'missing action' : `unknown action '${action}'`);
    try {
      return await run(rest);
    } catch (error) {
      if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
        throw new UsageError(error.message);
      }
      if (
        error instanceof CampaignInputError ||
        error instanceof BundleError ||
        error instanceof RunInProgressError ||
        error instanceof RunSupersededError
      ) {
        process.stderr.write(`nextoffer campaign ${action}: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
