import { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { fieldPath, HttpProblem, requestParseOptions } from '../http/problems';
import { planConstraintsSchema } from './constraints';
import { CampaignInputError } from './errors';
import { CampaignModelManifest } from './bundle';
import { FeatureSpec, isMissing, normalizeName, parseNumber } from './dataset';
import { CampaignPlanner, PlanConstraints, PlanLead, PlanValue } from './planner';
import { CampaignScorer } from './scorer';

/**
 * `POST /api/campaign/plan` with `{ leads: [{ leadId, attributes, context?, last? }], constraints? }`:
 * the best plan per lead, its runner-up and the uplift over the last-used combination.
 * Over the lead or size limits → 413 (checked before the leads are parsed); malformed → 400 naming the
 * field (also a lead id sent twice, a key the model does not read, a lead attribute left out); no model
 * or a failure → 503 with Retry-After.
 */

// Missing or wrongly typed fields get "is required" / "must be a string" from requestFieldMessages.
const id = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[\w.:@|~ -]*$/, 'may hold only letters, digits, spaces and . : @ | ~ - _');
const planValue = z.union([
  z.string().max(1000, 'must be at most 1000 characters'),
  z.number().finite(),
  z.boolean(),
  z.null(),
]);
const valueMap = z
  .record(z.string().max(200), planValue)
  .refine((record) => Object.keys(record).length <= 500, 'may hold at most 500 fields');
const dimensionValue = z.string().trim().min(1, 'must not be empty').max(200);

const leadSchema = z
  .object({
    leadId: id,
    attributes: valueMap.default({}),
    context: valueMap.optional(),
    last: z
      .object({
        channel: dimensionValue.optional(),
        dayOfWeek: dimensionValue.optional(),
        timeOfDay: dimensionValue.optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const planRequestSchema = z
  .object({
    leads: z
      .array(leadSchema, { error: 'is required and must be a list of leads' })
      .min(1, 'must hold at least one lead'),
    constraints: planConstraintsSchema.optional(),
  })
  .strict();

/**
 * Size limits, as compact JSON: one lead (the schema alone would allow 500 fields of 1,000 characters, so
 * this is the binding bound) and the constraints. The body may be twice the largest valid request's
 * compact size, leaving room for indentation, so any request within these limits passes the byte check.
 */
export const MAX_LEAD_BYTES = 16 * 1024;
export const MAX_CONSTRAINTS_BYTES = 256 * 1024;

export function maxBodyBytes(maxLeads: number): number {
  return 2 * (maxLeads * MAX_LEAD_BYTES + MAX_CONSTRAINTS_BYTES);
}

const compactBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');

export interface CampaignPlanHandlerOptions {
  /** The model and the default constraints (CAMPAIGN_CONSTRAINTS_PATH). */
  serving: () => Promise<{ scorer: CampaignScorer; constraints: PlanConstraints }>;
  maxLeads: number;
}

async function readBody(request: HttpRequest, maxLeads: number): Promise<unknown> {
  const maxBytes = maxBodyBytes(maxLeads);
  const tooLarge = () =>
    new HttpProblem('payload_too_large', `body exceeds ${maxBytes} bytes (${maxLeads} leads)`, '(body)');
  if (Number(request.headers.get('content-length') ?? '0') > maxBytes) throw tooLarge();
  const text = await request.text();
  if (Buffer.byteLength(text) > maxBytes) throw tooLarge();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HttpProblem('invalid_json', `body is not valid JSON: ${(error as Error).message}`, '(body)');
  }
  // Count before validating each lead: an oversized request is refused without parsing its leads.
  if (
    typeof json === 'object' &&
    json !== null &&
    'leads' in json &&
    Array.isArray(json.leads) &&
    json.leads.length > maxLeads
  ) {
    throw new HttpProblem(
      'payload_too_large',
      `${json.leads.length} leads; at most ${maxLeads} per request`,
      'leads',
    );
  }
  if (typeof json === 'object' && json !== null) {
    if ('leads' in json && Array.isArray(json.leads)) {
      const leads: unknown[] = json.leads;
      leads.forEach((lead, index) => {
        const bytes = compactBytes(lead);
        if (bytes > MAX_LEAD_BYTES) {
          throw new HttpProblem(
            'payload_too_large',
            `lead is ${bytes} bytes as compact JSON; at most ${MAX_LEAD_BYTES} per lead`,
            `leads[${index}]`,
          );
        }
      });
    }
    if ('constraints' in json) {
      const bytes = compactBytes(json.constraints);
      if (bytes > MAX_CONSTRAINTS_BYTES) {
        throw new HttpProblem(
          'payload_too_large',
          `constraints are ${bytes} bytes as compact JSON; at most ${MAX_CONSTRAINTS_BYTES}`,
          'constraints',
        );
      }
    }
  }
  return json;
}

/**
 * The request field holding the value a lead's CampaignInputError names: `last.*` as it is, else the
 * feature's value where CampaignPlanner.baseRow reads it (a lead attribute under its column or name; a
 * touch, campaign or product feature from `context` first, then `attributes`), preferring the numeric
 * feature whose value is not a number when several features share the column name.
 */
function leadField(lead: PlanLead, column: string | undefined, manifest: CampaignModelManifest): string {
  if (column === undefined) return '(lead)';
  if (column.startsWith('last.')) return column;
  const present = (record: Record<string, PlanValue> | undefined, key: string) =>
    record?.[key] !== undefined && record[key] !== null;
  const locate = (spec: FeatureSpec): { field: string; value: PlanValue } => {
    const order: Array<['attributes' | 'context', string]> =
      spec.source === 'lead'
        ? [
            ['attributes', spec.column],
            ['attributes', spec.name],
          ]
        : [
            ['context', spec.name],
            ['context', spec.column],
            ['attributes', spec.name],
          ];
    const [where, key] = order.find(([where, key]) => present(lead[where], key)) ?? order[0]!;
    return { field: `${where}.${key}`, value: lead[where]?.[key] };
  };
  const notANumber = (value: PlanValue) =>
    typeof value === 'string' && value.trim() !== '' && parseNumber(value) === undefined;
  const matching = manifest.encoding.features.filter((f) => f.column === column || f.name === column);
  const spec = matching.find((f) => f.kind === 'numeric' && notANumber(locate(f).value)) ?? matching[0];
  return spec ? locate(spec).field : `attributes.${column}`;
}

type RequestLead = z.infer<typeof leadSchema>;

/** Seconds a client should wait before asking again when the model cannot be loaded or planning failed. */
export const RETRY_AFTER_SECONDS = 30;

/** A lead id sent twice is refused, as a leads file holding it twice is: its plans would be ambiguous. */
function checkDuplicateIds(leads: readonly RequestLead[]): void {
  const first = new Map<string, number>();
  leads.forEach((lead, index) => {
    const earlier = first.get(lead.leadId);
    if (earlier !== undefined) {
      throw new HttpProblem(
        'invalid_request',
        `lead '${lead.leadId}' appears twice (also leads[${earlier}])`,
        `leads[${index}].leadId`,
      );
    }
    first.set(lead.leadId, index);
  });
}

/** Levenshtein distance, for suggesting the feature a misspelt key meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function suggestion(key: string, known: readonly string[]): string {
  const close = known.find(
    (name) =>
      normalizeName(name) === normalizeName(key) ||
      editDistance(name.toLowerCase(), key.toLowerCase()) <= Math.min(2, Math.floor(name.length / 3)),
  );
  return close === undefined ? '' : ` (did you mean '${close}'?)`;
}

const list = (names: readonly string[]) => (names.length === 0 ? '(none)' : names.join(', '));

/** What checkLeadKeys reads of a model's features, by where CampaignPlanner.baseRow reads each. */
interface LeadKeys {
  leadFeatures: readonly FeatureSpec[];
  /** Campaign and product features. */
  joined: readonly FeatureSpec[];
  /** Keys `attributes` may hold, and `context`. */
  attributeKeys: ReadonlySet<string>;
  contextKeys: ReadonlySet<string>;
  /** Column names and names of lead attributes. */
  leadKeys: ReadonlySet<string>;
  /** For messages: the lead attributes by column, the other features by name. */
  attributeNames: readonly string[];
  contextNames: readonly string[];
}

/** Built once per loaded model (its manifest), not per request. */
const leadKeysByModel = new WeakMap<CampaignModelManifest, LeadKeys>();

function leadKeysOf(manifest: CampaignModelManifest): LeadKeys {
  let keys = leadKeysByModel.get(manifest);
  if (keys === undefined) {
    const features = manifest.encoding.features;
    const leadFeatures = features.filter((f) => f.source === 'lead');
    const contextFeatures = features.filter((f) => f.source !== 'lead');
    const leadKeys = new Set(leadFeatures.flatMap((f) => [f.column, f.name]));
    keys = {
      leadFeatures,
      joined: contextFeatures.filter((f) => f.source === 'campaign' || f.source === 'product'),
      attributeKeys: new Set([...leadKeys, ...contextFeatures.map((f) => f.name)]),
      contextKeys: new Set(contextFeatures.flatMap((f) => [f.name, f.column])),
      leadKeys,
      attributeNames: leadFeatures.map((f) => f.column),
      contextNames: contextFeatures.map((f) => f.name),
    };
    leadKeysByModel.set(manifest, keys);
  }
  return keys;
}

/**
 * Checks the keys of each lead against the model, as the CSV path checks a file's columns before reading
 * its rows, so that no lead is planned on values it never sent:
 * - a key of `attributes` that the model does not read is refused (a misspelt `Agee` would otherwise leave
 *   `Age` missing); so is a key of `context`;
 * - every lead attribute the model was trained with must be a key of `attributes`, as every such column
 *   must be in the leads file; its value may be null (or "", "NA"…): a missing value, as an empty cell;
 * - every campaign and product feature must be a key of `context` (or `attributes`): the CSV path always
 *   joins a lead's campaign and product, and refuses a lead it cannot join;
 * - touch-level features may be left out: the lead is then planned as a lead with no touch in the history.
 */
function checkLeadKeys(leads: readonly RequestLead[], manifest: CampaignModelManifest): void {
  const { leadFeatures, joined, attributeKeys, contextKeys, leadKeys, attributeNames, contextNames } =
    leadKeysOf(manifest);
  const has = (record: Record<string, unknown> | undefined, key: string) =>
    record !== undefined && Object.hasOwn(record, key);

  leads.forEach((lead, index) => {
    const at = `leads[${index}]`;
    for (const key of Object.keys(lead.attributes)) {
      if (attributeKeys.has(key)) continue;
      throw new HttpProblem(
        'invalid_request',
        `not a feature of the model${suggestion(key, [...attributeNames, ...contextNames])}; ` +
          `its lead attributes are ${list(attributeNames)}` +
          (contextNames.length > 0 ? `; its touch, campaign and product features ${list(contextNames)}` : ''),
        `${at}.attributes.${key}`,
      );
    }
    for (const key of Object.keys(lead.context ?? {})) {
      if (contextKeys.has(key)) continue;
      const isAttribute = leadKeys.has(key);
      throw new HttpProblem(
        'invalid_request',
        isAttribute
          ? 'is a lead attribute of the model; send it in attributes'
          : `not a touch, campaign or product feature of the model${suggestion(key, contextNames)}; ` +
              `those are ${list(contextNames)}`,
        `${at}.context.${key}`,
      );
    }
    const missing = leadFeatures.filter(
      (f) => !has(lead.attributes, f.column) && !has(lead.attributes, f.name),
    );
    if (missing.length > 0) {
      const names = missing.map((f) => `'${f.column}'`).join(', ');
      throw new HttpProblem(
        'invalid_request',
        missing.length === 1
          ? 'missing (the model was trained with it); send null for an unknown value'
          : `missing attributes (the model was trained with them): ${names}; send null for an unknown value`,
        `${at}.attributes.${missing[0]!.column}`,
      );
    }
    const missingJoined = joined.filter(
      (f) => !has(lead.context, f.name) && !has(lead.context, f.column) && !has(lead.attributes, f.name),
    );
    if (missingJoined.length > 0) {
      const names = missingJoined.map((f) => `'${f.name}'`).join(', ');
      throw new HttpProblem(
        'invalid_request',
        `missing campaign or product feature${missingJoined.length === 1 ? '' : 's'} ${names}: the request ` +
          "carries the values of the lead's campaign and product (the model was trained with them); send null for an unknown value",
        `${at}.context.${missingJoined[0]!.name}`,
      );
    }
  });
}

/** "", "NA", "null"… are missing values, as they are in a CSV file (and were in training). */
function missingAsNull(values: Record<string, PlanValue>): Record<string, PlanValue> {
  const out: Record<string, PlanValue> = {};
  for (const [key, value] of Object.entries(values))
    out[key] = typeof value === 'string' && isMissing(value) ? null : value;
  return out;
}

export function createCampaignPlanHandler(options: CampaignPlanHandlerOptions): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const headers = { 'cache-control': 'no-store' };
    try {
      if (request.method !== 'POST')
        throw new HttpProblem('method_not_allowed', 'use POST', undefined, undefined, { allow: 'POST' });
      const contentType = request.headers.get('content-type') ?? '';
      if (!/^application\/json\b/i.test(contentType)) {
        throw new HttpProblem('unsupported_media_type', 'send the body as application/json', 'content-type');
      }
      const parsed = planRequestSchema.safeParse(
        await readBody(request, options.maxLeads),
        requestParseOptions,
      );
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new HttpProblem('invalid_request', issue.message, fieldPath('', issue.path));
      }
      checkDuplicateIds(parsed.data.leads);
      let serving: Awaited<ReturnType<CampaignPlanHandlerOptions['serving']>>;
      try {
        serving = await options.serving();
      } catch (error) {
        context.error(
          `campaign plan: the model cannot be loaded: ${error instanceof Error ? error.message : String(error)}`,
        );
        throw new HttpProblem(
          'service_unavailable',
          'no campaign model is loaded; try again later',
          undefined,
          undefined,
          { 'retry-after': String(RETRY_AFTER_SECONDS) },
        );
      }
      const { scorer, constraints } = serving;
      checkLeadKeys(parsed.data.leads, scorer.manifest);
      const leads: PlanLead[] = parsed.data.leads.map((lead, index) => ({
        leadId: lead.leadId,
        attributes: missingAsNull(lead.attributes),
        ...(lead.context ? { context: missingAsNull(lead.context) } : {}),
        ...(lead.last ? { last: lead.last } : {}),
        origin: { source: `leads[${index}]` },
      }));
      let planner: CampaignPlanner;
      let plans;
      const requested = parsed.data.constraints;
      try {
        planner = new CampaignPlanner(scorer, requested ?? constraints, 'constraints');
      } catch (error) {
        if (!(error instanceof CampaignInputError)) throw error;
        if (requested !== undefined) {
          throw new HttpProblem('invalid_request', error.problem, `constraints.${error.column ?? ''}`);
        }
        // The server's own defaults (CAMPAIGN_CONSTRAINTS_PATH) do not fit the model: not the caller's
        // fault, so logged and answered as a server failure rather than a 400.
        throw new Error(
          `the default constraints (CAMPAIGN_CONSTRAINTS_PATH) do not fit the model: ${error.message}`,
        );
      }
      try {
        plans = await planner.plan(leads);
      } catch (error) {
        const index = error instanceof CampaignInputError ? /^leads\[(\d+)\]$/.exec(error.source) : null;
        const lead = index ? leads[Number(index[1])] : undefined;
        if (error instanceof CampaignInputError && lead) {
          const field = leadField(lead, error.column, scorer.manifest);
          throw new HttpProblem('invalid_request', error.problem, `${error.source}.${field}`);
        }
        throw error;
      }
      return {
        status: 200,
        headers,
        jsonBody: { modelVersion: scorer.manifest.version, combinations: planner.combinations.length, plans },
      };
    } catch (error) {
      if (error instanceof HttpProblem) return error.toResponse(headers);
      context.error(
        `campaign plan failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
      return new HttpProblem(
        'service_unavailable',
        'planning failed; try again later',
        undefined,
        undefined,
        {
          'retry-after': String(RETRY_AFTER_SECONDS),
        },
      ).toResponse(headers);
    }
  };
}
