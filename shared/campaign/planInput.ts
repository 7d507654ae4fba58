import { CampaignModelManifest } from './bundle';
import { CsvTable, rowLine } from './csv';
import { ColumnMapping, PlanDimension, findRoleColumn, isMissing } from './dataset';
import { CampaignInputError } from './errors';
import { PlanLead } from './planner';

/**
 * Builds the planner's leads from a leads file and, optionally, the touch history: each lead's most
 * recent touch gives its last-used combination (for the uplift) and the touch-level features of the
 * planned touch. A leads file that itself carries channel/day/time columns (one row per lead and touch,
 * like the UCI bank-marketing table) supplies both from its own row.
 *
 * `overrides` are the command's column mapping (`--lead-id`, `--channel`…): the lead id names the column
 * in both files; channel/day/time and the timestamp name columns of the touches file, or of the leads file
 * when no touches file is given.
 */
export function leadsFromTables(
  manifest: CampaignModelManifest,
  leads: CsvTable,
  touches?: CsvTable,
  overrides: ColumnMapping = {},
): PlanLead[] {
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
  requireFeatureColumns(manifest, leads, touches ?? (ownLast ? leads : undefined));
  const ownColumns = Object.fromEntries([...ownDimension].map(([d, at]) => [d, leads.header[at]!]));
  const byId = new Map<string, PlanLead>();
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
    const latest = new Map<string, { row: string[]; line: number; time: number | undefined }>();
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
  return result;
}

/**
 * Refuses files without a column the model was trained with, as `score` does, rather than planning with
 * the feature missing for every lead: lead attributes must be in the leads file, touch-level features in
 * the file that holds the last touches (the touches file, or the leads file when it carries channel/day/
 * time itself). Without either, there is no last touch and its features are missing values. Campaign and
 * product features are not read by the planner's files.
 */
function requireFeatureColumns(
  manifest: CampaignModelManifest,
  leads: CsvTable,
  history: CsvTable | undefined,
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
