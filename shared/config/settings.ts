import { z } from 'zod';
import { resolve } from 'node:path';
import { parseSchedule, ScheduleError } from '../hosting/ncrontab';
import { packageRoot } from '../hosting/packageRoot';
import type { Delimiter } from '../campaign/csv';
import { DELIMITER_VALUES, mappedColumnWithoutFile, parseDelimiter } from '../campaign/inputOptions';

/**
 * All settings, parsed once into a frozen object. Names follow the Functions host conventions so the
 * same names work in local.settings.json, app settings in Azure and the local host:
 * a connection is either a connection string under its bare name (`EventHubConnection`) or, for managed
 * identity, its endpoint under `__fullyQualifiedNamespace` / `__accountEndpoint` / `__blobServiceUri`.
 */

/**
 * Which identity an identity-based connection uses, from `X__credential` and `X__clientId` as the
 * Functions host reads them: with `X__credential` = managedidentity, the app's managed identity (the
 * user-assigned one `X__clientId` names, else the system-assigned one); with neither set,
 * `DefaultAzureCredential` (the developer's sign-in locally; `AZURE_CLIENT_ID` picks the identity in Azure).
 */
export interface IdentityChoice {
  managedIdentity?: {
    /** Client id of a user-assigned identity; absent: the system-assigned identity. */
    clientId?: string;
  };
}

export type EventHubConnectionSettings =
  | { kind: 'connectionString'; connectionString: string }
  | ({ kind: 'identity'; fullyQualifiedNamespace: string } & IdentityChoice);

export type CosmosConnectionSettings =
  | { kind: 'connectionString'; endpoint: string; key: string }
  | ({ kind: 'identity'; endpoint: string } & IdentityChoice);

export type BlobConnectionSettings =
  | { kind: 'connectionString'; connectionString: string }
  | ({ kind: 'identity'; serviceUri: string } & IdentityChoice);

export interface Settings {
  eventHub: {
    connection: EventHubConnectionSettings;
    /** Setting name of the connection, as the Event Hubs trigger binding refers to it. */
    connectionSettingName: string;
    name: string;
    consumerGroup: string;
  };
  cosmos: {
    connection: CosmosConnectionSettings;
    database: string;
  };
  /** Archive of raw events, dead letters and model bundles. */
  archive: {
    connection: BlobConnectionSettings;
    rawEventsContainer: string;
    deadLetterContainer: string;
    modelsContainer: string;
  };
  redis: {
    url: string;
    keyPrefix: string;
  };
  ingest: {
    /** Origins allowed to call the HTTP endpoints from a browser; empty means none. */
    allowedOrigins: readonly string[];
    maxEventsPerRequest: number;
    maxBodyBytes: number;
  };
  offer: {
    /** Time budget for each dependency call on the offer path before degrading. */
    dependencyTimeoutMs: number;
    explorationRate: number;
    /**
     * Seed of the exploration draws, for reproducible runs (simulations, tests); unset: Math.random. Each
     * process draws the same sequence from one seed, so leave it unset where several instances serve.
     */
    explorationSeed: number | undefined;
    /** How often each instance re-reads the per-offer click-through aggregates that exploration uses. */
    statsRefreshSeconds: number;
  };
  /** The product-affinity model: retraining, promotion and hot reload (models/affinity, shared/affinity). */
  affinity: AffinitySettings;
  /** Campaign optimisation: plan recommendation (shared/campaign, models/campaign). */
  campaign: CampaignSettings;
}

export interface CampaignSettings {
  /** Directory of the campaign model bundle (model.onnx + campaign-model.json) the functions serve. */
  modelDir: string;
  /** Optional JSON file of plan constraints (allowed values, exclusions, capacity). */
  constraintsPath: string | undefined;
  /** Most leads one POST /api/campaign/plan may carry. */
  maxLeadsPerRequest: number;
  /** NCRONTAB schedule of the batch plan function (functions/campaignBatchPlan.ts registers this value). */
  batchSchedule: string;
  /** Leads CSV the batch run plans; the batch function refuses to run without it. */
  batchLeadsPath: string | undefined;
  /** Optional touch history CSV: each lead's last combination (uplift) and touch-level features. */
  batchTouchesPath: string | undefined;
  /** Campaigns CSV joined by campaign id, for a model trained with campaign features (`--campaigns`). */
  batchCampaignsPath: string | undefined;
  /** Products CSV joined by product id, for a model trained with product features (`--products`). */
  batchProductsPath: string | undefined;
  /**
   * The batch run's column mapping, as `campaign batch --lead-id … --product-id` takes it; unset roles use
   * the model's columns and the aliases.
   */
  batchColumns: CampaignBatchColumns;
  /** Delimiter of the batch run's CSV files; detected from each header when unset. */
  batchDelimiter: Delimiter | undefined;
  /** Cosmos container receiving one plan document per lead and run, for Power BI. */
  plansContainer: string;
}

/** Which column of the batch run's files plays each role (see docs/campaign.md, "Data"). */
export type CampaignBatchColumns = Partial<
  Record<'leadId' | 'channel' | 'dayOfWeek' | 'timeOfDay' | 'timestamp' | 'campaignId' | 'productId', string>
>;

export interface AffinitySettings {
  /** NCRONTAB schedule of the retraining function (functions/retrainAffinity.ts registers this value). */
  retrainSchedule: string;
  /** Days of the clickstream archive that retraining reads. */
  trainingDays: number;
  /** EASE regularisation, or 'auto' to choose it on a validation split. */
  lambda: number | 'auto';
  /** Largest catalog the dense model keeps (most popular items); memory grows with its square. */
  maxItems: number;
  /** A new model is promoted when its held-out nDCG and precision are at most this much below the current one's. */
  promotionTolerance: number;
  /** How often a serving process checks the latest pointer for a new model version. */
  refreshSeconds: number;
  /**
   * Retention of model bundles in Blob: each retraining run deletes the versions that are neither the
   * serving one (nor the one it replaced) nor among this many newest.
   */
  keepVersions: number;
}

type Env = Record<string, string | undefined>;

/** The largest catalog the dense affinity model may cover: memory grows with its square. */
export const MAX_DENSE_ITEMS = 20_000;

/** The most model versions retention may keep: a year of nightly candidates (up to ~170 MB each). */
export const MAX_KEEP_VERSIONS = 365;

export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`setting ${setting}: ${problem}`);
  }
}

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function required(env: Env, name: string, hint: string): string {
  const value = read(env, name);
  if (value === undefined) throw new ConfigurationError(name, `missing (${hint})`);
  return value;
}

function parsed<T>(env: Env, name: string, schema: z.ZodType<T>, fallback: string): T {
  const raw = read(env, name) ?? fallback;
  const result = schema.safeParse(raw);
  if (!result.success) {
    // Connection settings can hold keys: say what is wrong without echoing the value.
    const shown = /connection|key|secret|password/i.test(name) ? '' : ` '${raw}'`;
    throw new ConfigurationError(
      name,
      `malformed value${shown}: ${result.error.issues[0]?.message ?? 'invalid'}`,
    );
  }
  return result.data;
}

// Plain decimal text only: z.coerce.number alone would take '0x10' as 16 and ' ' as 0.
const decimal = z
  .string()
  .regex(/^[+-]?(\d+(\.\d*)?|\.\d+)$/, 'must be a decimal number')
  .pipe(z.coerce.number());
const positiveInt = (max = Number.MAX_SAFE_INTEGER) => decimal.pipe(z.number().int().positive().max(max));
const probability = decimal.pipe(z.number().min(0).max(1));
/** A six-field NCRONTAB expression, checked as the timer trigger will read it. */
const ncrontab = (example: string) =>
  z.string().superRefine((value, ctx) => {
    try {
      parseSchedule(value);
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      ctx.addIssue({ code: 'custom', message: `${error.message} (a schedule such as ${example})` });
    }
  });
/** Cosmos DB resource ids may not hold / \\ # ? and are at most 255 characters. */
const cosmosContainerName = z.string().regex(/^[^/\\#?]{1,255}$/, 'not a valid Cosmos DB container id');

/** An absolute http(s) URL, for endpoints; `what` names the part of the setting in the error. */
function checkUrl(name: string, value: string, what: string): void {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ConfigurationError(name, `${what} is not an http(s) URL`);
  }
}
const blobContainerName = z
  .string()
  .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'not a valid blob container name');

/** Splits `Key=Value;Key=Value` connection strings; keys are matched case-insensitively. */
export function parseConnectionString(value: string): Map<string, string> {
  const parts = new Map<string, string>();
  for (const segment of value.split(';')) {
    const at = segment.indexOf('=');
    if (at <= 0) continue;
    parts.set(segment.slice(0, at).trim().toLowerCase(), segment.slice(at + 1).trim());
  }
  return parts;
}

const clientIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `X__credential` and `X__clientId` of an identity-based connection (see IdentityChoice). */
export function identityChoice(env: Env, name: string): IdentityChoice {
  const credential = read(env, `${name}__credential`);
  const clientId = read(env, `${name}__clientId`);
  if (credential === undefined) {
    if (clientId !== undefined) {
      throw new ConfigurationError(`${name}__clientId`, `needs ${name}__credential=managedidentity`);
    }
    return {};
  }
  if (credential.toLowerCase() !== 'managedidentity') {
    throw new ConfigurationError(
      `${name}__credential`,
      `'${credential}' is not supported; use managedidentity`,
    );
  }
  if (clientId === undefined) return { managedIdentity: {} };
  if (!clientIdPattern.test(clientId)) {
    throw new ConfigurationError(`${name}__clientId`, `'${clientId}' is not a client id (a GUID)`);
  }
  return { managedIdentity: { clientId } };
}

function eventHubConnection(env: Env, name: string): EventHubConnectionSettings {
  const connectionString = read(env, name);
  if (connectionString !== undefined) {
    const endpoint = parseConnectionString(connectionString).get('endpoint');
    if (endpoint === undefined || !/^sb:\/\/[^/\s]+\/?$/i.test(endpoint)) {
      throw new ConfigurationError(name, 'connection string needs Endpoint=sb://<namespace host>/');
    }
    return { kind: 'connectionString', connectionString };
  }
  const namespace = read(env, `${name}__fullyQualifiedNamespace`);
  if (namespace !== undefined) {
    if (!/^[a-z0-9.-]+(:\d+)?$/i.test(namespace)) {
      throw new ConfigurationError(
        `${name}__fullyQualifiedNamespace`,
        `'${namespace}' is not a host name such as myhub.servicebus.windows.net`,
      );
    }
    return { kind: 'identity', fullyQualifiedNamespace: namespace, ...identityChoice(env, name) };
  }
  throw new ConfigurationError(
    name,
    `missing (set ${name} to a connection string or ${name}__fullyQualifiedNamespace)`,
  );
}

function cosmosConnection(env: Env, name: string): CosmosConnectionSettings {
  const connectionString = read(env, name);
  if (connectionString !== undefined) {
    const parts = parseConnectionString(connectionString);
    const endpoint = parts.get('accountendpoint');
    const key = parts.get('accountkey');
    if (endpoint === undefined || key === undefined || key === '') {
      throw new ConfigurationError(name, 'connection string needs AccountEndpoint= and AccountKey=');
    }
    checkUrl(name, endpoint, 'AccountEndpoint');
    return { kind: 'connectionString', endpoint, key };
  }
  const endpoint = read(env, `${name}__accountEndpoint`);
  if (endpoint !== undefined) {
    checkUrl(`${name}__accountEndpoint`, endpoint, 'the value');
    return { kind: 'identity', endpoint, ...identityChoice(env, name) };
  }
  throw new ConfigurationError(
    name,
    `missing (set ${name} to a connection string or ${name}__accountEndpoint)`,
  );
}

function blobConnection(env: Env, name: string): BlobConnectionSettings {
  const connectionString = read(env, name);
  if (connectionString !== undefined) {
    if (connectionString === 'UseDevelopmentStorage=true') {
      throw new ConfigurationError(
        name,
        "UseDevelopmentStorage=true is not supported; give Azurite's full connection string",
      );
    }
    const parts = parseConnectionString(connectionString);
    const blobEndpoint = parts.get('blobendpoint');
    if (blobEndpoint !== undefined) checkUrl(name, blobEndpoint, 'BlobEndpoint');
    else if (!parts.get('accountname') || !parts.get('accountkey')) {
      throw new ConfigurationError(
        name,
        'connection string needs AccountName= and AccountKey= (or BlobEndpoint=), as the portal gives it',
      );
    }
    return { kind: 'connectionString', connectionString };
  }
  const serviceUriSetting = read(env, `${name}__blobServiceUri`)
    ? `${name}__blobServiceUri`
    : `${name}__serviceUri`;
  const serviceUri = read(env, serviceUriSetting);
  if (serviceUri !== undefined) {
    checkUrl(serviceUriSetting, serviceUri, 'the value');
    return { kind: 'identity', serviceUri, ...identityChoice(env, name) };
  }
  throw new ConfigurationError(
    name,
    `missing (set ${name} to a connection string or ${name}__blobServiceUri)`,
  );
}

function origins(env: Env, name: string): string[] {
  const raw = read(env, name);
  if (raw === undefined) return [];
  const list = raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o.length > 0);
  // Browsers send an origin as scheme://host[:port], host lowercased, default port left out: the list is
  // compared with it character for character, so each entry is brought to that form, and an entry that
  // names more than an origin (a path, a query) is refused rather than silently never matching.
  return list.map((origin) => {
    if (origin === '*') return origin;
    const refuse = () =>
      new ConfigurationError(name, `'${origin}' is not an origin such as https://shop.example`);
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw refuse();
    }
    const originOnly =
      (url.protocol === 'https:' || url.protocol === 'http:') &&
      url.pathname === '/' &&
      url.search === '' &&
      url.hash === '' &&
      url.username === '';
    if (!originOnly) throw refuse();
    return url.origin;
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The Cosmos DB section alone, for commands that need nothing else. */
export function parseCosmosSettings(env: Env): Settings['cosmos'] {
  return deepFreeze({
    connection: cosmosConnection(env, 'CosmosDBConnection'),
    database: read(env, 'COSMOS_DATABASE') ?? 'nextoffer',
  });
}

/** The Redis section alone, for commands that need nothing else. */
export function parseRedisSettings(env: Env): Settings['redis'] {
  return deepFreeze({
    url: parsed(
      env,
      'RedisConnection',
      z.string().regex(/^rediss?:\/\//, 'expected redis://host:port or rediss://:password@host:6380'),
      required(
        env,
        'RedisConnection',
        'the Redis that holds cold-start scores, as redis:// or rediss:// URL',
      ),
    ),
    // Lists are found with SCAN by this prefix: a glob character in it would match other keys.
    keyPrefix: parsed(
      env,
      'REDIS_KEY_PREFIX',
      z
        .string()
        .max(64)
        .regex(/^[^*?[\]\\\s]+$/, 'must not hold *, ?, [, ], \\ or spaces (it is used as a SCAN pattern)'),
      'nextoffer:',
    ),
  });
}

/** The archive section alone, for commands that need nothing else. */
export function parseArchiveSettings(env: Env): Settings['archive'] {
  return deepFreeze({
    connection: blobConnection(env, 'ArchiveStorage'),
    rawEventsContainer: parsed(env, 'ARCHIVE_CONTAINER', blobContainerName, 'clickstream-archive'),
    deadLetterContainer: parsed(env, 'DEADLETTER_CONTAINER', blobContainerName, 'clickstream-deadletter'),
    modelsContainer: parsed(env, 'MODELS_CONTAINER', blobContainerName, 'models'),
  });
}

/** The Event Hub's name alone, for commands that read its archive folder. */
export function parseEventHubName(env: Env): string {
  return required(env, 'EVENTHUB_NAME', 'the Event Hub that carries the clickstream');
}

/** The affinity section alone, for commands that need nothing else. */
export function parseAffinitySettings(env: Env): AffinitySettings {
  return deepFreeze({
    retrainSchedule: parsed(env, 'AFFINITY_RETRAIN_SCHEDULE', ncrontab('0 0 3 * * *'), '0 0 3 * * *'),
    trainingDays: parsed(env, 'AFFINITY_TRAINING_DAYS', positiveInt(366), '30'),
    lambda: parsed(
      env,
      'AFFINITY_LAMBDA',
      z.union([z.literal('auto'), decimal.pipe(z.number().positive().max(1e7))]),
      'auto',
    ),
    maxItems: parsed(env, 'AFFINITY_MAX_ITEMS', positiveInt(MAX_DENSE_ITEMS), '5000'),
    promotionTolerance: parsed(env, 'AFFINITY_PROMOTION_TOLERANCE', probability, '0'),
    refreshSeconds: parsed(env, 'AFFINITY_REFRESH_SECONDS', positiveInt(86400), '60'),
    keepVersions: parsed(env, 'AFFINITY_KEEP_VERSIONS', positiveInt(MAX_KEEP_VERSIONS), '7'),
  });
}

/** The batch run's column settings, by role: the same roles as the command's mapping options. */
const campaignBatchColumnSettings = {
  leadId: 'CAMPAIGN_BATCH_LEAD_ID_COLUMN',
  channel: 'CAMPAIGN_BATCH_CHANNEL_COLUMN',
  dayOfWeek: 'CAMPAIGN_BATCH_DAY_COLUMN',
  timeOfDay: 'CAMPAIGN_BATCH_TIME_COLUMN',
  timestamp: 'CAMPAIGN_BATCH_TIMESTAMP_COLUMN',
  campaignId: 'CAMPAIGN_BATCH_CAMPAIGN_ID_COLUMN',
  productId: 'CAMPAIGN_BATCH_PRODUCT_ID_COLUMN',
} as const;

/** The settings naming the batch run's files, by file. */
export const campaignBatchFileSettings = {
  leads: 'CAMPAIGN_BATCH_LEADS_PATH',
  touches: 'CAMPAIGN_BATCH_TOUCHES_PATH',
  campaigns: 'CAMPAIGN_BATCH_CAMPAIGNS_PATH',
  products: 'CAMPAIGN_BATCH_PRODUCTS_PATH',
} as const;

function campaignBatchColumns(env: Env): CampaignBatchColumns {
  const columns: CampaignBatchColumns = {};
  for (const [role, name] of Object.entries(campaignBatchColumnSettings) as Array<
    [keyof CampaignBatchColumns, string]
  >) {
    const value = read(env, name);
    if (value !== undefined) columns[role] = value;
  }
  // A column of a file the run does not read could never be used: refuse it rather than ignore it.
  const unusable = mappedColumnWithoutFile(columns, {
    touches: read(env, campaignBatchFileSettings.touches),
    campaigns: read(env, campaignBatchFileSettings.campaigns),
    products: read(env, campaignBatchFileSettings.products),
  });
  if (unusable !== undefined) {
    const file = campaignBatchFileSettings[unusable.file];
    throw new ConfigurationError(
      campaignBatchColumnSettings[unusable.role],
      `names the column that ${unusable.purpose}, but ${file} is not set`,
    );
  }
  return columns;
}

function campaignBatchDelimiter(env: Env): Delimiter | undefined {
  const value = read(env, 'CAMPAIGN_BATCH_DELIMITER');
  if (value === undefined) return undefined;
  const delimiter = parseDelimiter(value);
  if (delimiter === undefined) {
    throw new ConfigurationError(
      'CAMPAIGN_BATCH_DELIMITER',
      `malformed value '${value}': expected ${DELIMITER_VALUES}`,
    );
  }
  return delimiter;
}

/** CAMPAIGN_MODEL_DIR's default, read from `pathsFrom` like the other relative paths. */
export const DEFAULT_CAMPAIGN_MODEL_DIR = 'campaign-model';

/** The campaign section alone, for commands that need nothing else. */
export function parseCampaignSettings(env: Env, options: SettingsOptions = {}): CampaignSettings {
  const { pathsFrom } = options;
  const path = (name: string): string | undefined => {
    const value = read(env, name);
    return value === undefined || pathsFrom === undefined ? value : resolve(pathsFrom, value);
  };
  return deepFreeze({
    modelDir:
      path('CAMPAIGN_MODEL_DIR') ??
      (pathsFrom === undefined ? DEFAULT_CAMPAIGN_MODEL_DIR : resolve(pathsFrom, DEFAULT_CAMPAIGN_MODEL_DIR)),
    constraintsPath: path('CAMPAIGN_CONSTRAINTS_PATH'),
    maxLeadsPerRequest: parsed(env, 'CAMPAIGN_MAX_LEADS_PER_REQUEST', positiveInt(1000), '1000'),
    batchSchedule: parsed(env, 'CAMPAIGN_BATCH_SCHEDULE', ncrontab('0 30 2 * * *'), '0 30 2 * * *'),
    batchLeadsPath: path(campaignBatchFileSettings.leads),
    batchTouchesPath: path(campaignBatchFileSettings.touches),
    batchCampaignsPath: path(campaignBatchFileSettings.campaigns),
    batchProductsPath: path(campaignBatchFileSettings.products),
    batchColumns: campaignBatchColumns(env),
    batchDelimiter: campaignBatchDelimiter(env),
    plansContainer: parsed(env, 'CAMPAIGN_PLANS_CONTAINER', cosmosContainerName, 'campaign-plans'),
  });
}

export interface SettingsOptions {
  /**
   * Where relative file paths in settings (the campaign model, constraints and batch files) are read
   * from; unset: the working directory. The app reads them from its package root (getSettings), since in
   * Azure the worker's working directory is not promised to be the app's folder.
   */
  pathsFrom?: string;
}

/** Parses settings from an environment; throws ConfigurationError naming the first bad setting. */
export function parseSettings(env: Env, options: SettingsOptions = {}): Settings {
  const settings: Settings = {
    eventHub: {
      connection: eventHubConnection(env, 'EventHubConnection'),
      connectionSettingName: 'EventHubConnection',
      name: parseEventHubName(env),
      consumerGroup: read(env, 'EVENTHUB_CONSUMER_GROUP') ?? '$Default',
    },
    cosmos: parseCosmosSettings(env),
    archive: parseArchiveSettings(env),
    redis: parseRedisSettings(env),
    ingest: {
      allowedOrigins: origins(env, 'CORS_ALLOWED_ORIGINS'),
      maxEventsPerRequest: parsed(env, 'INGEST_MAX_EVENTS', positiveInt(5000), '500'),
      maxBodyBytes: parsed(env, 'INGEST_MAX_BODY_BYTES', positiveInt(4 * 1024 * 1024), String(1024 * 1024)),
    },
    offer: {
      dependencyTimeoutMs: parsed(env, 'OFFER_DEPENDENCY_TIMEOUT_MS', positiveInt(10000), '150'),
      explorationRate: parsed(env, 'OFFER_EXPLORATION_RATE', probability, '0.1'),
      explorationSeed:
        read(env, 'OFFER_EXPLORATION_SEED') === undefined
          ? undefined
          : parsed(env, 'OFFER_EXPLORATION_SEED', positiveInt(2 ** 32 - 1), ''),
      statsRefreshSeconds: parsed(env, 'OFFER_STATS_REFRESH_SECONDS', positiveInt(3600), '10'),
    },
    affinity: parseAffinitySettings(env),
    campaign: parseCampaignSettings(env, options),
  };
  return deepFreeze(settings);
}

let current: Settings | undefined;

/** The process's settings, parsed from process.env on first use and never again. */
export function getSettings(): Settings {
  current ??= parseSettings(process.env, { pathsFrom: packageRoot() });
  return current;
}
