import { CampaignModelManifest } from './bundle';
import { CsvTable, rowLine } from './csv';
import {
  AttributeTable,
  ColumnMapping,
  FeatureSpec,
  KeyOrigin,
  PlanDimension,
  campaignProducts,
  findRoleColumn,
  indexAttributeTable,
  isMissing,
  joinKeys,
  normalizeName,
} from './dataset';
import { CampaignInputError, MissingTableError } from './errors';
import { PlanLead } from './planner';

/** The campaigns and products files of a model trained with `--campaigns` / `--products`. */
export interface PlanAttributeTables {
  campaigns?: CsvTable;
  products?: CsvTable;
}

/**
 * Builds the planner's leads from a leads file and, optionally, the touch history: each lead's most
 * recent touch gives its last-used combination (for the uplift) and the touch-level features of the
 * planned touch. A leads file that itself carries channel/day/time columns (one row per lead and touch,
 * like the UCI bank-marketing table) supplies both from its own row.
 *
 * A model trained with campaign or product features also needs `tables.campaigns` / `tables.products`
 * (refused up front without them, see requirePlanTables); each lead's campaign and product are joined
 * as training joins touches (see joinAttributeFeatures).
 *
 * `notes.unused` hears of a table given that no lead's plan reads (the command says so).
 *
 * `overrides` are the command's column mapping (`--lead-id`, `--channel`…): the lead id names the column
 * in both files; channel/day/time and the timestamp name columns of the touches file, or of the leads file
 * when no touches file is given; the campaign and product ids name columns of the leads file, the touches
 * file (either may hold them) and the campaigns file, as in training.
 */
export function leadsFromTables(
  manifest: CampaignModelManifest,
  leads: CsvTable,
  touches?: CsvTable,
  overrides: ColumnMapping = {},
  tables: PlanAttributeTables = {},
  notes: PlanInputNotes = {},
): PlanLead[] {
  requirePlanTables(manifest, tables);
  const mapping: ColumnMapping = { ...manifest.mapping, ...overrides };
  const preferred = manifest.mapping;
  const idColumn = findRoleColumn(leads, 'leadId', overrides, preferred);
  if (idColumn === undefined && touches) {
    throw new CampaignInputError(
      leads.source,
      1,
      mapping.leadId ?? 'leadId',
      'missing required column: leads need an id to match the touches file',
    );
  }
  const idAt = idColumn === undefined ? -1 : leads.header.indexOf(idColumn);
  const dimensions = manifest.encoding.dimensions.map((d) => d.dimension);
  // With a touches file the dimension mappings name its columns; the leads file's own are then optional.
  const leadOverrides: ColumnMapping = touches ? { leadId: overrides.leadId } : overrides;
  const ownDimension = new Map<PlanDimension, number>();
  for (const dimension of dimensions) {
    const column = findRoleColumn(leads, dimension, leadOverrides, preferred);
    const at = column === undefined ? -1 : leads.header.indexOf(column);
    if (at >= 0) ownDimension.set(dimension, at);
  }
  const ownLast = ownDimension.size === dimensions.length;
  requireFeatureColumns(manifest, leads, touches ?? (ownLast ? leads : undefined), tables);
  const ownColumns = Object.fromEntries([...ownDimension].map(([d, at]) => [d, leads.header[at]!]));
  const byId = new Map<string, PlanLead>();
  // Each lead's latest touch, by lead id.
  const latest = new Map<string, { row: string[]; line: number; time: number | undefined }>();
  const result = leads.rows.map((row, index) => {
    const line = rowLine(leads, index);
    const leadId = idAt < 0 ? `row-${line}` : row[idAt]!.trim();
    if (isMissing(leadId)) throw new CampaignInputError(leads.source, line, idColumn, 'the lead id is empty');
    if (byId.has(leadId))
      throw new CampaignInputError(leads.source, line, idColumn, `lead '${leadId}' appears twice`);
    const attributes: Record<string, string | undefined> = {};
    leads.header.forEach((name, k) => {
      attributes[name] = isMissing(row[k]!) ? undefined : row[k]!.trim();
    });
    const lead: PlanLead = { leadId, attributes, origin: { source: leads.source, line } };
    if (ownLast) {
      lead.last = Object.fromEntries([...ownDimension].map(([d, at]) => [d, row[at]!.trim()]));
      lead.touchOrigin = { source: leads.source, line, columns: ownColumns };
    }
    byId.set(leadId, lead);
    return lead;
  });
  if (touches) {
    const touchLead = findRoleColumn(touches, 'leadId', overrides, preferred);
    if (touchLead === undefined)
      throw new CampaignInputError(
        touches.source,
        1,
        mapping.leadId ?? 'leadId',
        'missing required column (the lead of each touch)',
      );
    const leadAt = touches.header.indexOf(touchLead);
    const timestampColumn = findRoleColumn(touches, 'timestamp', overrides, preferred);
    const times = timestampColumn === undefined ? undefined : touchTimes(touches, timestampColumn);
    const dimensionAt = dimensions.map((d) => {
      const column = findRoleColumn(touches, d, overrides, preferred);
      return [d, column === undefined ? -1 : touches.header.indexOf(column)] as const;
    });
    touches.rows.forEach((row, index) => {
      const line = rowLine(touches, index);
      const leadId = row[leadAt]!.trim();
      if (!byId.has(leadId)) {
        throw new CampaignInputError(
          touches.source,
          line,
          touchLead,
          `lead '${leadId}' appears in no leads file (${leads.source})`,
        );
      }
      const time = times?.[index];
      const previous = latest.get(leadId);
      // A touch with a time beats one without; equal times, or no times at all, leave it to file order.
      const later =
        previous === undefined ||
        (time === undefined
          ? previous.time === undefined
          : previous.time === undefined || time >= previous.time);
      if (later) latest.set(leadId, { row, line, time });
    });
    const touchFeatures = manifest.encoding.features.filter((f) => f.source === 'touch');
    const columns: Record<string, string> = {};
    for (const [d, at] of dimensionAt) if (at >= 0) columns[d] = touches.header[at]!;
    for (const feature of touchFeatures) columns[feature.name] = feature.column;
    for (const [leadId, { row, line }] of latest) {
      const lead = byId.get(leadId)!;
      const last: Partial<Record<PlanDimension, string>> = {};
      for (const [d, at] of dimensionAt) {
        if (at < 0) continue;
        const value = row[at]!.trim();
        if (isMissing(value))
          throw new CampaignInputError(touches.source, line, touches.header[at], `the ${d} is empty`);
        last[d] = value;
      }
      const complete = Object.keys(last).length === dimensions.length;
      if (complete) lead.last = last;
      const context: Record<string, string | undefined> = {};
      for (const feature of touchFeatures) {
        const at = touches.header.indexOf(feature.column);
        if (at >= 0) context[feature.name] = isMissing(row[at]!) ? undefined : row[at]!.trim();
      }
      lead.context = context;
      // Errors in `last` and `context` then name the touch row they came from, not the lead's row (unless
      // `last` is still the lead row's own, the touches file lacking a dimension).
      if (complete || !lead.last) lead.touchOrigin = { source: touches.source, line, columns };
    }
  }
  const { campaignsUsed } = joinAttributeFeatures(
    manifest,
    result,
    { leads, touches, latest, overrides },
    tables,
  );
  const hasFeatures = (source: 'campaign' | 'product') =>
    manifest.encoding.features.some((f) => f.source === source);
  if (tables.campaigns && !campaignsUsed) {
    notes.unused?.(
      'campaigns',
      hasFeatures('product')
        ? 'the model has no campaign features, and every lead has its product from its row or its latest touch'
        : 'the model has no campaign features',
    );
  }
  if (tables.products && !hasFeatures('product'))
    notes.unused?.('products', 'the model has no product features');
  return result;
}

/** What leadsFromTables tells besides the leads. */
export interface PlanInputNotes {
  /** A table given that no lead's plan reads, and why. */
  unused?: (table: 'campaigns' | 'products', why: string) => void;
}

/**
 * Refuses, before any lead is read, to plan for a model trained with campaign or product features without
 * the table that holds them: every lead would otherwise fail, or be planned with the features missing.
 * Throws MissingTableError naming the table, which commands and settings report as their own option.
 */
export function requirePlanTables(
  manifest: CampaignModelManifest,
  given: { campaigns?: unknown; products?: unknown },
): void {
  for (const [source, table] of [
    ['campaign', 'campaigns'],
    ['product', 'products'],
  ] as const) {
    const names = manifest.encoding.features.filter((f) => f.source === source).map((f) => f.name);
    if (names.length > 0 && given[table] === undefined)
      throw new MissingTableError(
        table,
        `the model was trained with ${source} features (${names.join(', ')})`,
      );
  }
}

/** The column playing `role` in `table`; an explicit mapping the table lacks is no error (the other file may hold it). */
function optionalRoleColumn(
  table: CsvTable | undefined,
  role: 'campaignId' | 'productId',
  overrides: ColumnMapping,
  preferred: ColumnMapping,
): string | undefined {
  if (!table) return undefined;
  const explicit = overrides[role];
  if (explicit !== undefined && !table.header.some((h) => normalizeName(h) === normalizeName(explicit)))
    return undefined;
  return findRoleColumn(table, role, overrides, preferred);
}

/** A lead's campaign or product id and where it was read, for errors. */
interface PlannedId {
  key: string | undefined;
  where: KeyOrigin;
}

/** One lead's join: its campaign, its product, and their rows in the campaigns and products files (-1: none). */
interface LeadJoin {
  lead: PlanLead;
  campaign: PlannedId;
  /** The product its row or latest touch names; undefined until found through the campaign. */
  product: PlannedId | undefined;
  campaignRow: number;
  productRow: number;
}

/**
 * Adds the campaign and product features of each lead's planned contact to its `context`, joining the
 * campaigns and products files with the code training joins touches with (joinKeys, campaignProducts).
 *
 * The planned contact is in the campaign its row of the leads file names (a campaign id column with a
 * value: the campaign being planned), else in the campaign of its latest touch (the one it is in). Its
 * product is the one its row names, else the one that goes with that campaign: the latest touch's when
 * the campaign came from the touch, else (the row named the campaign, or the touch names no product) the
 * campaign's own product in the campaigns file, the way training finds products through campaigns. A
 * lead without an id, or whose id is in no table, is an error naming the file, line and column the id
 * came from. Returns whether the plans need the campaigns file: for campaign features, or for the
 * products of leads whose row and latest touch name none (all of them, when no file has a product column).
 */
function joinAttributeFeatures(
  manifest: CampaignModelManifest,
  planned: readonly PlanLead[],
  files: {
    leads: CsvTable;
    touches: CsvTable | undefined;
    latest: ReadonlyMap<string, { row: string[]; line: number }>;
    overrides: ColumnMapping;
  },
  tables: PlanAttributeTables,
): { campaignsUsed: boolean } {
  const features = manifest.encoding.features.filter(
    (f) => f.source === 'campaign' || f.source === 'product',
  );
  if (features.length === 0) return { campaignsUsed: false };
  const { leads, touches, latest, overrides } = files;
  const needsCampaign = features.some((f) => f.source === 'campaign');
  const needsProduct = features.some((f) => f.source === 'product');
  const column = (table: CsvTable | undefined, role: 'campaignId' | 'productId') =>
    optionalRoleColumn(table, role, overrides, manifest.mapping);
  const leadCampaign = column(leads, 'campaignId');
  const leadProduct = column(leads, 'productId');
  const touchCampaign = column(touches, 'campaignId');
  const touchProduct = column(touches, 'productId');
  const inFiles = touches ? `this file or in ${touches.source}` : 'this file';
  const neitherFile = `neither ${leads.source}${touches ? ` nor ${touches.source}` : ''}`;
  for (const role of ['campaignId', 'productId'] as const) {
    const explicit = overrides[role];
    if (explicit !== undefined && column(leads, role) === undefined && column(touches, role) === undefined)
      throw new CampaignInputError(
        leads.source,
        1,
        explicit,
        `missing required column (mapped to ${role}); neither this file${touches ? ` nor ${touches.source}` : ''} has it`,
      );
  }
  const productNamed = leadProduct !== undefined || touchProduct !== undefined;
  // Products found only through campaigns need the campaigns file even without campaign features.
  if (needsProduct && !productNamed && !tables.campaigns) {
    throw new MissingTableError(
      'campaigns',
      `the model was trained with product features and ${neitherFile} has a product id column, so each campaign's product is needed`,
    );
  }
  if ((needsCampaign || !productNamed) && leadCampaign === undefined && touchCampaign === undefined) {
    throw new CampaignInputError(
      leads.source,
      1,
      overrides.campaignId ?? 'campaignId',
      `missing required column: the model was trained with ${needsCampaign ? 'campaign' : 'product'} ` +
        `features, so each lead needs a campaign id (e.g. Campaign_Id), in ${inFiles}`,
    );
  }
  const campaigns = tables.campaigns
    ? indexAttributeTable(tables.campaigns, 'campaignId', overrides)
    : undefined;
  // The campaigns' product column, for the leads whose row or touch names no product. Checked from the
  // columns, not the leads: without product columns in the leads and touches files it is required.
  const productOfCampaign = needsProduct && campaigns ? campaignProducts(campaigns, overrides) : undefined;
  if (campaigns && needsProduct && !productNamed && !productOfCampaign) {
    throw new CampaignInputError(
      campaigns.table.source,
      1,
      overrides.productId ?? 'productId',
      `missing required column: the model was trained with product features and ${neitherFile} ` +
        'names a product, so each campaign must (e.g. Product_Id)',
    );
  }

  const valueOf = (table: CsvTable, row: string[], name: string | undefined) => {
    if (name === undefined) return undefined;
    const value = row[table.header.indexOf(name)]!;
    return isMissing(value) ? undefined : value.trim();
  };
  // Each lead's campaign, and its product when its row or its latest touch names it.
  const joins: LeadJoin[] = planned.map((lead, index) => {
    const row = leads.rows[index]!;
    const ownAt = (name: string | undefined): KeyOrigin => ({
      source: leads.source,
      line: rowLine(leads, index),
      column: name,
    });
    const touch = touches ? latest.get(lead.leadId) : undefined;
    const touchAt = (name: string | undefined): KeyOrigin | undefined =>
      touches && touch ? { source: touches.source, line: touch.line, column: name } : undefined;
    const ownCampaign = valueOf(leads, row, leadCampaign);
    const ownProduct = valueOf(leads, row, leadProduct);
    const lastCampaign = touches && touch ? valueOf(touches, touch.row, touchCampaign) : undefined;
    const lastProduct = touches && touch ? valueOf(touches, touch.row, touchProduct) : undefined;
    return {
      lead,
      campaign:
        ownCampaign !== undefined
          ? { key: ownCampaign, where: ownAt(leadCampaign) }
          : { key: lastCampaign, where: touchAt(touchCampaign) ?? ownAt(leadCampaign) },
      product:
        ownProduct !== undefined
          ? { key: ownProduct, where: ownAt(leadProduct) }
          : ownCampaign === undefined && lastProduct !== undefined
            ? { key: lastProduct, where: touchAt(touchProduct)! }
            : undefined,
      campaignRow: -1,
      productRow: -1,
    };
  });

  // Joined as training joins them: an id in no table is an error at the file, line and column it came from.
  // Without campaign features, only the campaigns of leads whose product they give matter.
  const viaCampaign = (join: LeadJoin) => needsProduct && join.product === undefined;
  const joinedCampaigns = joins.filter((join) => needsCampaign || viaCampaign(join));
  if (campaigns) {
    const rows = joinKeys(
      campaigns,
      joinedCampaigns.map((join) => join.campaign.key),
      'campaign',
      (i) => joinedCampaigns[i]!.campaign.where,
    );
    joinedCampaigns.forEach((join, i) => (join.campaignRow = rows[i]!));
  }
  for (const join of joins) {
    if (!campaigns || !productOfCampaign || !viaCampaign(join) || join.campaignRow < 0) continue;
    join.product = {
      key: productOfCampaign.keysOf([join.campaignRow])[0],
      where: {
        source: campaigns.table.source,
        line: rowLine(campaigns.table, join.campaignRow),
        column: productOfCampaign.column,
      },
    };
  }
  const products =
    needsProduct && tables.products
      ? indexAttributeTable(tables.products, 'productId', overrides)
      : undefined;
  if (products) {
    const productOf = (join: LeadJoin) => join.product ?? { key: undefined, where: join.campaign.where };
    const rows = joinKeys(
      products,
      joins.map((join) => productOf(join).key),
      'product',
      (i) => productOf(joins[i]!).where,
    );
    joins.forEach((join, i) => (join.productRow = rows[i]!));
  }

  for (const { lead, campaign, product, campaignRow, productRow } of joins) {
    const why = (what: 'campaign' | 'product') => {
      const own = `its row in ${leads.source}`;
      const touch = latest.has(lead.leadId);
      return (
        (touch ? `neither ${own} nor its latest touch names one` : `${own} names none`) +
        (!touch && touches ? ` and it has no touch in ${touches.source}` : '') +
        (what === 'product' && campaign.key !== undefined && campaigns
          ? `, nor does campaign '${campaign.key}' in ${campaigns.table.source}`
          : '')
      );
    };
    if (needsCampaign && campaignRow < 0) {
      const { where } = campaign;
      throw new CampaignInputError(
        where.source,
        where.line,
        where.column,
        `lead '${lead.leadId}' has no campaign id (the model was trained with campaign features): ${why('campaign')}`,
      );
    }
    if (needsProduct && productRow < 0) {
      const { where } = product ?? campaign;
      throw new CampaignInputError(
        where.source,
        where.line,
        where.column,
        `lead '${lead.leadId}' has no product id (the model was trained with product features): ${why('product')}`,
      );
    }
    const context: NonNullable<PlanLead['context']> = { ...lead.context };
    const contextOrigins: NonNullable<PlanLead['contextOrigins']> = { ...lead.contextOrigins };
    const read = (feature: FeatureSpec, table: AttributeTable | undefined, row: number) => {
      if (!table || row < 0) return;
      const value = table.table.rows[row]![table.table.header.indexOf(feature.column)]!;
      context[feature.name] = isMissing(value) ? undefined : value.trim();
      contextOrigins[feature.name] = {
        source: table.table.source,
        line: rowLine(table.table, row),
        column: feature.column,
      };
    };
    for (const feature of features) {
      if (feature.source === 'campaign') read(feature, campaigns, campaignRow);
      else read(feature, products, productRow);
    }
    lead.context = context;
    lead.contextOrigins = contextOrigins;
  }
  return { campaignsUsed: needsCampaign || (needsProduct && (!productNamed || joinedCampaigns.length > 0)) };
}

/**
 * Refuses files without a column the model was trained with, as `score` does, rather than planning with
 * the feature missing for every lead: lead attributes must be in the leads file, touch-level features in
 * the file that holds the last touches (the touches file, or the leads file when it carries channel/day/
 * time itself). Without either, there is no last touch and its features are missing values. Campaign and
 * product features must be in the campaigns and products files.
 */
function requireFeatureColumns(
  manifest: CampaignModelManifest,
  leads: CsvTable,
  history: CsvTable | undefined,
  tables: PlanAttributeTables,
): void {
  const missing = new Map<string, string[]>();
  const note = (source: string, column: string) => {
    missing.set(source, [...(missing.get(source) ?? []), column]);
  };
  for (const feature of manifest.encoding.features) {
    if (feature.source === 'lead' && !leads.header.includes(feature.column))
      note(leads.source, feature.column);
    if (
      feature.source === 'touch' &&
      history &&
      !history.header.includes(feature.column) &&
      !leads.header.includes(feature.name)
    ) {
      note(history.source, feature.column);
    }
    const joined = feature.source === 'campaign' ? tables.campaigns : tables.products;
    if (
      (feature.source === 'campaign' || feature.source === 'product') &&
      joined &&
      !joined.header.includes(feature.column)
    ) {
      note(joined.source, feature.column);
    }
  }
  for (const [source, columns] of missing) {
    if (columns.length === 1)
      throw new CampaignInputError(
        source,
        1,
        columns[0],
        'missing required column (the model was trained with it)',
      );
    throw new CampaignInputError(
      source,
      1,
      undefined,
      `missing required columns (the model was trained with them): ${columns.map((c) => `'${c}'`).join(', ')}`,
    );
  }
}

const isoTime =
  /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const slashTime =
  /^(\d{1,2})\/(\d{1,2})\/(\d{4}|\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:\s*(AM|PM))?)?$/i;

/** Milliseconds of a UTC calendar time, or undefined when a field is out of range (month 13, 31 June…). */
function utc(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  fraction: string | undefined,
): number | undefined {
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Math.round(Number(`0.${fraction ?? '0'}`) * 1000);
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  // Date.UTC maps years 0-99 to 1900-1999; set the year again so a literal year stays as written.
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? date.getTime() : undefined;
}

/**
 * Each touch's time in milliseconds, for ordering the history; undefined when missing or unreadable, and
 * such a touch never counts as later than one with a time. Read: ISO 8601 dates and date-times
 * (`2025-10-01`, `2025-10-01T14:30:00Z`, `2025-10-01 14:30`, `2025/10/01`) and spreadsheet dates with the
 * year last (`10/1/2025`, `05/12/14` as in Microsoft's sample, `10/1/2025 2:30 PM`; two-digit years
 * 69-99 are 19xx, 00-68 20xx). Those are month first, as US spreadsheets write them, unless some value of
 * the column reads only day first (`30/9/2025`); a column with both is refused, as no order fits it. Times
 * without an offset are read as UTC: one file, one clock.
 */
export function touchTimes(table: CsvTable, column: string): (number | undefined)[] {
  const at = table.header.indexOf(column);
  const values = table.rows.map((row) => row[at]!.trim());
  const slashes = values.map((value) => slashTime.exec(value));
  let dayFirstAt = -1;
  let monthFirstAt = -1;
  slashes.forEach((match, index) => {
    if (!match) return;
    const first = Number(match[1]);
    const second = Number(match[2]);
    if (first > 12 && second <= 12 && dayFirstAt < 0) dayFirstAt = index;
    if (second > 12 && first <= 12 && monthFirstAt < 0) monthFirstAt = index;
  });
  if (dayFirstAt >= 0 && monthFirstAt >= 0) {
    const [early, late] = dayFirstAt < monthFirstAt ? [dayFirstAt, monthFirstAt] : [monthFirstAt, dayFirstAt];
    throw new CampaignInputError(
      table.source,
      rowLine(table, late),
      column,
      `'${values[late]}' reads only ${late === dayFirstAt ? 'day' : 'month'} first, but line ` +
        `${rowLine(table, early)} has '${values[early]}', only ${early === dayFirstAt ? 'day' : 'month'} ` +
        'first; write the dates one way (best as YYYY-MM-DD)',
    );
  }
  const dayFirst = dayFirstAt >= 0;
  return values.map((value, index) => {
    if (isMissing(value)) return undefined;
    const slash = slashes[index];
    if (slash) {
      const [, a, b, y, h, mi, s, fraction, half] = slash;
      let year = Number(y);
      if (y!.length === 2) year += year >= 69 ? 1900 : 2000;
      let hour = Number(h ?? 0);
      if (half !== undefined) {
        if (hour < 1 || hour > 12) return undefined;
        hour = (hour % 12) + (half.toUpperCase() === 'PM' ? 12 : 0);
      }
      const [day, month] = dayFirst ? [Number(a), Number(b)] : [Number(b), Number(a)];
      return utc(year, month, day, hour, Number(mi ?? 0), Number(s ?? 0), fraction);
    }
    const iso = isoTime.exec(value);
    if (!iso) return undefined;
    const [, y, mo, d, h, mi, s, fraction, zone] = iso;
    const time = utc(
      Number(y),
      Number(mo),
      Number(d),
      Number(h ?? 0),
      Number(mi ?? 0),
      Number(s ?? 0),
      fraction,
    );
    if (time === undefined || zone === undefined || zone.toUpperCase() === 'Z') return time;
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offset = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0);
    return time - sign * offset * 60_000;
  });
}
