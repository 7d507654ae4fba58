import { CampaignInputError } from './errors';
import { CsvTable, rowLine } from './csv';

/**
 * Campaign data as the learner and the planner see it: one row per touch (a lead contacted on a channel,
 * a day of week and a time of day) with the lead's attributes, the campaign's and the product's joined in.
 * Column names are matched loosely (case, '_', ' ' and '-' ignored) so Microsoft's campaign-optimization
 * tables (Lead_Id, Channel, Day_Of_Week, Time_Of_Day, Conversion_Flag…) load as they are; explicit
 * mappings (`--channel contact`, `--target y`…) cover any other layout.
 */

export type FeatureKind = 'numeric' | 'categorical';

/** The plan dimensions: what the recommender chooses for each lead. */
export const planDimensions = ['channel', 'dayOfWeek', 'timeOfDay'] as const;
export type PlanDimension = (typeof planDimensions)[number];

export type Role = 'leadId' | PlanDimension | 'converted' | 'campaignId' | 'productId' | 'timestamp';

/** Which file column plays each role. Unset roles fall back to the aliases below. */
export type ColumnMapping = Partial<Record<Role, string>>;

const roleAliases: Record<Role, string[]> = {
  leadId: ['leadid', 'lead', 'customerid', 'clientid'],
  channel: ['channel', 'contact'],
  dayOfWeek: ['dayofweek', 'weekday', 'dow'],
  timeOfDay: ['timeofday', 'daypart'],
  converted: ['converted', 'conversionflag', 'conversion', 'y', 'target', 'label', 'response'],
  campaignId: ['campaignid'],
  productId: ['productid'],
  timestamp: ['timestamp', 'touchtime', 'date'],
};

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Values that mean "no value" in exports from spreadsheets, R and SQL. */
const missingTokens = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?']);

export function isMissing(value: string): boolean {
  return missingTokens.has(value.trim().toLowerCase());
}

export function parseNumber(value: string): number | undefined {
  const trimmed = value.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

const trueTokens = new Set(['yes', 'y', 'true', 't', '1', '1.0']);
const falseTokens = new Set(['no', 'n', 'false', 'f', '0', '0.0']);

export function parseOutcome(value: string): 0 | 1 | undefined {
  const token = value.trim().toLowerCase();
  if (trueTokens.has(token)) return 1;
  if (falseTokens.has(token)) return 0;
  return undefined;
}

/**
 * Finds the column playing a role: an explicit mapping must exist; a preferred one (the column a model was
 * trained with) is used when present; otherwise the first alias that matches.
 */
export function findRoleColumn(
  table: CsvTable,
  role: Role,
  mapping: ColumnMapping,
  preferred: ColumnMapping = {},
): string | undefined {
  const wanted = preferred[role];
  if (mapping[role] === undefined && wanted !== undefined && table.header.includes(wanted)) return wanted;
  const explicit = mapping[role];
  if (explicit !== undefined) {
    const found =
      table.header.find((h) => h === explicit) ??
      table.header.find((h) => normalizeName(h) === normalizeName(explicit));
    if (found === undefined) {
      throw new CampaignInputError(
        table.source,
        1,
        explicit,
        `missing required column (mapped to ${role}); the header has ${table.header.join(', ')}`,
      );
    }
    return found;
  }
  for (const alias of roleAliases[role]) {
    const found = table.header.find((h) => normalizeName(h) === alias);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Identifier-like columns (phone numbers, communication ids) say nothing general about a lead. */
export function looksLikeIdentifier(name: string): boolean {
  // "Comm_Id", "lead id", "customerId" (camel case needs the capital: "paid" and "valid" are not ids).
  return /(^|[_\s.-])id$/i.test(name) || /[a-z0-9]Id$/.test(name) || /phone|e-?mail_?address/i.test(name);
}

export type FeatureSource = 'lead' | 'touch' | 'campaign' | 'product';

/** One model input besides the plan dimensions. */
export interface FeatureSpec {
  /** Unique name in the model (prefixed with 'campaign.' or 'product.' for joined tables). */
  name: string;
  source: FeatureSource;
  /** Column name in its file. */
  column: string;
  kind: FeatureKind;
}

export interface AttributeTable {
  table: CsvTable;
  idColumn: string;
  rowById: Map<string, number>;
}

export function indexAttributeTable(
  table: CsvTable,
  role: 'leadId' | 'campaignId' | 'productId',
  mapping: ColumnMapping,
): AttributeTable {
  const idColumn = findRoleColumn(table, role, mapping);
  if (idColumn === undefined) {
    throw new CampaignInputError(
      table.source,
      1,
      role,
      `missing required column (${role}, e.g. ${roleAliases[role][0]})`,
    );
  }
  const at = table.header.indexOf(idColumn);
  const rowById = new Map<string, number>();
  table.rows.forEach((row, index) => {
    const id = row[at]!.trim();
    const line = rowLine(table, index);
    if (isMissing(id)) throw new CampaignInputError(table.source, line, idColumn, 'the id is empty');
    if (rowById.has(id))
      throw new CampaignInputError(table.source, line, idColumn, `id '${id}' appears twice`);
    rowById.set(id, index);
  });
  return { table, idColumn, rowById };
}

export type JoinRole = 'lead' | 'campaign' | 'product';

/** Where a join key was read (file, line and column), for the error when no table row has it. */
export interface KeyOrigin {
  source: string;
  line: number | undefined;
  column: string | undefined;
}

/**
 * The row of `attribute` holding each key, or -1 for a missing key. A key the table lacks is an error
 * naming where the key was read: `touches.csv, line 3, column 'Campaign_Id': campaign 'C9' appears in no
 * campaign file (campaigns.csv)`. Training joins touches this way; planning joins each lead's campaign and
 * product the same way.
 */
export function joinKeys(
  attribute: AttributeTable,
  keys: readonly (string | undefined)[],
  role: JoinRole,
  origin: (index: number) => KeyOrigin,
): Int32Array {
  const rows = new Int32Array(keys.length);
  keys.forEach((key, index) => {
    if (key === undefined) {
      rows[index] = -1;
      return;
    }
    const row = attribute.rowById.get(key);
    if (row === undefined) {
      const where = origin(index);
      throw new CampaignInputError(
        where.source,
        where.line,
        where.column,
        `${role} '${key}' appears in no ${role} file (${attribute.table.source})`,
      );
    }
    rows[index] = row;
  });
  return rows;
}

/**
 * The campaigns file's product column (Microsoft's sample names the product on the campaign, not on the
 * touch), or undefined when it has none; `keysOf` gives the product of each joined campaign row (-1: none).
 */
export function campaignProducts(
  campaigns: AttributeTable,
  mapping: ColumnMapping,
): { column: string; keysOf: (campaignRows: ArrayLike<number>) => (string | undefined)[] } | undefined {
  const column = findRoleColumn(campaigns.table, 'productId', mapping);
  if (column === undefined) return undefined;
  const at = campaigns.table.header.indexOf(column);
  return {
    column,
    keysOf: (campaignRows) =>
      Array.from(campaignRows, (row) => {
        const value = row < 0 ? undefined : campaigns.table.rows[row]![at]!.trim();
        return value === undefined || isMissing(value) ? undefined : value;
      }),
  };
}

/** A column of values as the encoder reads them; undefined is missing. */
export type ColumnValues =
  { kind: 'numeric'; values: Float64Array } | { kind: 'categorical'; values: (string | undefined)[] };

export interface TouchFrame {
  rowCount: number;
  /** For error messages: the file and the file line of every row. */
  source: string;
  lines: Int32Array;
  leadIds: string[];
  dimensions: Record<PlanDimension, string[] | undefined>;
  converted: Uint8Array | undefined;
  timestamps: (string | undefined)[] | undefined;
  features: FeatureSpec[];
  columns: Map<string, ColumnValues>;
  /** The touches file's column playing each role. */
  roleColumns: ColumnMapping;
}

export interface CampaignTables {
  touches: CsvTable;
  leads?: CsvTable;
  campaigns?: CsvTable;
  products?: CsvTable;
}

export interface FrameOptions {
  mapping: ColumnMapping;
  /** Columns to prefer when present (a model's training mapping); unlike `mapping`, never required. */
  preferred?: ColumnMapping;
  /** Declared kinds by feature or column name; the rest are inferred (numeric when every value parses). */
  types?: Record<string, FeatureKind>;
  /** Columns never used as features. */
  exclude?: readonly string[];
  requireTarget: boolean;
  /** The trained model's features: when given, exactly these are read, with these kinds. */
  features?: readonly FeatureSpec[];
}

interface ColumnRef {
  spec: Omit<FeatureSpec, 'kind'>;
  table: CsvTable;
  columnIndex: number;
  /** Row of `table` for each touch, or -1 when the touch has no row there (missing value). */
  rowOf: (touch: number) => number;
}

function readColumn(
  ref: ColumnRef,
  rowCount: number,
  kind: FeatureKind | undefined,
): ColumnValues & { inferred: FeatureKind } {
  const raw: (string | undefined)[] = new Array<string | undefined>(rowCount);
  let allNumeric = true;
  for (let t = 0; t < rowCount; t++) {
    const row = ref.rowOf(t);
    const value = row < 0 ? undefined : ref.table.rows[row]![ref.columnIndex]!;
    if (value === undefined || isMissing(value)) {
      raw[t] = undefined;
      continue;
    }
    raw[t] = value.trim();
    if (allNumeric && parseNumber(value) === undefined) allNumeric = false;
  }
  const resolved = kind ?? (allNumeric ? 'numeric' : 'categorical');
  if (resolved === 'categorical') return { kind: 'categorical', values: raw, inferred: resolved };
  const values = new Float64Array(rowCount);
  for (let t = 0; t < rowCount; t++) {
    const value = raw[t];
    if (value === undefined) {
      values[t] = NaN;
      continue;
    }
    const number = parseNumber(value);
    if (number === undefined) {
      const row = ref.rowOf(t);
      throw new CampaignInputError(
        ref.table.source,
        rowLine(ref.table, row),
        ref.spec.column,
        `'${value}' is not a number`,
      );
    }
    values[t] = number;
  }
  return { kind: 'numeric', values, inferred: resolved };
}

/**
 * Joins touches with leads, campaigns and products into one frame. Throws CampaignInputError for a missing
 * required column, a value of the wrong type, an unknown outcome or a touch whose lead, campaign or product
 * is in no file.
 */
export function buildTouchFrame(tables: CampaignTables, options: FrameOptions): TouchFrame {
  const { touches } = tables;
  const mapping = options.mapping;
  const rowCount = touches.rows.length;
  const lines = new Int32Array(rowCount);
  for (let t = 0; t < rowCount; t++) lines[t] = rowLine(touches, t);
  const columnIndex = (table: CsvTable, name: string) => table.header.indexOf(name);

  const roleColumn: Partial<Record<Role, string>> = {};
  for (const role of Object.keys(roleAliases) as Role[]) {
    const found = findRoleColumn(touches, role, mapping, options.preferred);
    if (found !== undefined) roleColumn[role] = found;
  }
  const leads = tables.leads ? indexAttributeTable(tables.leads, 'leadId', mapping) : undefined;
  if (leads && roleColumn.leadId === undefined) {
    throw new CampaignInputError(
      touches.source,
      1,
      mapping.leadId ?? 'leadId',
      'missing required column: touches must name their lead to join the leads file',
    );
  }
  if (roleColumn.channel === undefined) {
    throw new CampaignInputError(
      touches.source,
      1,
      mapping.channel ?? 'channel',
      `missing required column (the channel of each touch); the header has ${touches.header.join(', ')}`,
    );
  }
  if (options.requireTarget && roleColumn.converted === undefined) {
    throw new CampaignInputError(
      touches.source,
      1,
      mapping.converted ?? 'converted',
      'missing required column (the outcome of each touch: yes/no, true/false or 1/0)',
    );
  }

  const stringColumn = (role: Role): string[] | undefined => {
    const name = roleColumn[role];
    if (name === undefined) return undefined;
    const at = columnIndex(touches, name);
    return touches.rows.map((row, t) => {
      const value = row[at]!.trim();
      if (isMissing(value))
        throw new CampaignInputError(touches.source, lines[t], name, `the ${role} is empty`);
      return value;
    });
  };
  // Without a lead column every touch is its own lead (e.g. the UCI bank-marketing table).
  const leadIds = stringColumn('leadId') ?? touches.rows.map((_, t) => `row-${lines[t]!}`);
  const dimensions: Record<PlanDimension, string[] | undefined> = {
    channel: stringColumn('channel'),
    dayOfWeek: stringColumn('dayOfWeek'),
    timeOfDay: stringColumn('timeOfDay'),
  };
  let converted: Uint8Array | undefined;
  if (roleColumn.converted !== undefined && options.requireTarget) {
    const name = roleColumn.converted;
    const at = columnIndex(touches, name);
    converted = new Uint8Array(rowCount);
    touches.rows.forEach((row, t) => {
      const outcome = parseOutcome(row[at]!);
      if (outcome === undefined) {
        throw new CampaignInputError(
          touches.source,
          lines[t],
          name,
          `'${row[at]}' is not an outcome; expected yes/no, true/false or 1/0`,
        );
      }
      converted![t] = outcome;
    });
  }
  const timestampAt = roleColumn.timestamp === undefined ? -1 : columnIndex(touches, roleColumn.timestamp);
  const timestamps =
    timestampAt < 0
      ? undefined
      : touches.rows.map((row) => (isMissing(row[timestampAt]!) ? undefined : row[timestampAt]!.trim()));

  // Joins: every touch's lead, campaign and product must exist when the file is given.
  const join = (
    attribute: AttributeTable | undefined,
    keys: (string | undefined)[] | undefined,
    keyColumn: string,
    role: JoinRole,
  ): ((t: number) => number) => {
    if (!attribute || !keys) return () => -1;
    const rows = joinKeys(attribute, keys, role, (t) => ({
      source: touches.source,
      line: lines[t],
      column: keyColumn,
    }));
    return (t) => rows[t]!;
  };
  const leadRow = join(
    leads,
    roleColumn.leadId === undefined ? undefined : leadIds,
    roleColumn.leadId ?? 'leadId',
    'lead',
  );
  const campaigns = tables.campaigns
    ? indexAttributeTable(tables.campaigns, 'campaignId', mapping)
    : undefined;
  const campaignKeys =
    roleColumn.campaignId === undefined ? undefined : stringOrMissing(touches, roleColumn.campaignId);
  if (campaigns && !campaignKeys)
    throw new CampaignInputError(
      touches.source,
      1,
      'campaignId',
      'missing required column: touches must name their campaign to join the campaigns file',
    );
  const campaignRow = join(campaigns, campaignKeys, roleColumn.campaignId ?? 'campaignId', 'campaign');
  const products = tables.products ? indexAttributeTable(tables.products, 'productId', mapping) : undefined;
  let productKeys =
    roleColumn.productId === undefined ? undefined : stringOrMissing(touches, roleColumn.productId);
  if (products && !productKeys && campaigns) {
    // Microsoft's sample names the product on the campaign, not on the touch.
    productKeys = campaignProducts(campaigns, mapping)?.keysOf(
      Array.from({ length: rowCount }, (_, t) => campaignRow(t)),
    );
  }
  if (products && !productKeys)
    throw new CampaignInputError(
      touches.source,
      1,
      'productId',
      'missing required column: touches (or their campaigns) must name their product to join the products file',
    );
  const productRow = join(products, productKeys, roleColumn.productId ?? 'productId', 'product');

  // Candidate feature columns from every table.
  const excluded = new Set((options.exclude ?? []).map(normalizeName));
  const roleNames = new Set(Object.values(roleColumn).map((name) => normalizeName(name)));
  const candidates: ColumnRef[] = [];
  const addTable = (
    table: CsvTable | undefined,
    source: FeatureSource,
    prefix: string,
    skip: Set<string>,
    rowOf: (t: number) => number,
  ) => {
    if (!table) return;
    table.header.forEach((column, index) => {
      const key = normalizeName(column);
      if (skip.has(key) || excluded.has(key) || excluded.has(normalizeName(prefix + column))) return;
      candidates.push({ spec: { name: prefix + column, source, column }, table, columnIndex: index, rowOf });
    });
  };
  const touchSkip = new Set(roleNames);
  const leadSkip = new Set([normalizeName(leads?.idColumn ?? '')]);
  addTable(tables.leads, 'lead', '', leadSkip, leadRow);
  const leadNames = new Set(candidates.map((c) => normalizeName(c.spec.name)));
  // A touch column that repeats a lead attribute (Microsoft's Market_Touchdown repeats some) is the lead's.
  for (const name of leadNames) touchSkip.add(name);
  addTable(touches, 'touch', '', touchSkip, (t) => t);
  addTable(
    tables.campaigns,
    'campaign',
    'campaign.',
    new Set([normalizeName(campaigns?.idColumn ?? ''), 'productid']),
    campaignRow,
  );
  addTable(
    tables.products,
    'product',
    'product.',
    new Set([normalizeName(products?.idColumn ?? '')]),
    productRow,
  );

  const features: FeatureSpec[] = [];
  const columns = new Map<string, ColumnValues>();
  if (options.features) {
    for (const spec of options.features) {
      const ref = candidates.find((c) => c.spec.name === spec.name && c.spec.source === spec.source);
      if (!ref) {
        const file =
          spec.source === 'lead'
            ? (tables.leads?.source ?? 'the leads file (--leads)')
            : spec.source === 'touch'
              ? touches.source
              : spec.source === 'campaign'
                ? (tables.campaigns?.source ?? 'the campaigns file (--campaigns)')
                : (tables.products?.source ?? 'the products file (--products)');
        throw new CampaignInputError(
          file,
          1,
          spec.column,
          'missing required column (the model was trained with it)',
        );
      }
      const { inferred: _inferred, ...values } = readColumn(ref, rowCount, spec.kind);
      features.push(spec);
      columns.set(spec.name, values);
    }
  } else {
    for (const ref of candidates) {
      if (looksLikeIdentifier(ref.spec.column)) continue;
      const declared = options.types?.[ref.spec.name] ?? options.types?.[ref.spec.column];
      const { inferred, ...values } = readColumn(ref, rowCount, declared);
      if (values.kind === 'categorical' && !declared) {
        // A free-text or id column: nearly every row distinct, so nothing to learn from it.
        const distinct = new Set(values.values).size;
        if (distinct > 1000 && distinct > rowCount / 2) continue;
      }
      features.push({ ...ref.spec, kind: inferred });
      columns.set(ref.spec.name, values);
    }
  }
  return {
    rowCount,
    source: touches.source,
    lines,
    leadIds,
    dimensions,
    converted,
    timestamps,
    features,
    columns,
    roleColumns: roleColumn,
  };
}

function stringOrMissing(table: CsvTable, column: string): (string | undefined)[] {
  const at = table.header.indexOf(column);
  return table.rows.map((row) => (isMissing(row[at]!) ? undefined : row[at]!.trim()));
}
