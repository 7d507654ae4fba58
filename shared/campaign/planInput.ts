import { CampaignModelManifest } from './bundle';
import { CsvTable } from './csv';
import { ColumnMapping, PlanDimension, findRoleColumn, isMissing } from './dataset';
import { CampaignInputError } from './errors';
import { PlanLead } from './planner';

/**
 * Builds the planner's leads from a leads file and, optionally, the touch history: each lead's most
 * recent touch gives its last-used combination (for the uplift) and the touch-level features of the
 * planned touch. A leads file that itself carries channel/day/time columns (one row per lead and touch,
 * like the UCI bank-marketing table) supplies both from its own row.
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
  const ownDimension = new Map<PlanDimension, number>();
  for (const dimension of dimensions) {
    const column = findRoleColumn(leads, dimension, overrides, preferred);
    const at = column === undefined ? -1 : leads.header.indexOf(column);
    if (at >= 0) ownDimension.set(dimension, at);
  }
  const byId = new Map<string, PlanLead>();
  const result = leads.rows.map((row, index) => {
    const line = index + 2;
    const leadId = idAt < 0 ? `row-${line}` : row[idAt]!.trim();
    if (isMissing(leadId)) throw new CampaignInputError(leads.source, line, idColumn, 'the lead id is empty');
    if (byId.has(leadId))
      throw new CampaignInputError(leads.source, line, idColumn, `lead '${leadId}' appears twice`);
    const attributes: Record<string, string | undefined> = {};
    leads.header.forEach((name, k) => {
      attributes[name] = isMissing(row[k]!) ? undefined : row[k]!.trim();
    });
    const lead: PlanLead = { leadId, attributes, origin: { source: leads.source, line } };
    if (ownDimension.size === dimensions.length) {
      lead.last = Object.fromEntries([...ownDimension].map(([d, at]) => [d, row[at]!.trim()]));
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
    const timeAt = timestampColumn === undefined ? -1 : touches.header.indexOf(timestampColumn);
    const dimensionAt = dimensions.map((d) => {
      const column = findRoleColumn(touches, d, overrides, preferred);
      return [d, column === undefined ? -1 : touches.header.indexOf(column)] as const;
    });
    const latest = new Map<string, { row: string[]; line: number; time: string }>();
    touches.rows.forEach((row, index) => {
      const leadId = row[leadAt]!.trim();
      if (!byId.has(leadId)) {
        throw new CampaignInputError(
          touches.source,
          index + 2,
          touchLead,
          `lead '${leadId}' appears in no leads file (${leads.source})`,
        );
      }
      const time = timeAt < 0 ? '' : row[timeAt]!.trim();
      const previous = latest.get(leadId);
      // Later rows win ties, so without timestamps the file order decides.
      if (!previous || time >= previous.time) latest.set(leadId, { row, line: index + 2, time });
    });
    const touchFeatures = manifest.encoding.features.filter((f) => f.source === 'touch');
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
      if (Object.keys(last).length === dimensions.length) lead.last = last;
      const context: Record<string, string | undefined> = {};
      for (const feature of touchFeatures) {
        const at = touches.header.indexOf(feature.column);
        if (at >= 0) context[feature.name] = isMissing(row[at]!) ? undefined : row[at]!.trim();
      }
      lead.context = context;
    }
  }
  return result;
}
