import { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { fieldPath, HttpProblem } from '../http/problems';
import { planConstraintsSchema } from './constraints';
import { CampaignInputError } from './errors';
import { CampaignPlanner, PlanConstraints, PlanLead } from './planner';
import { CampaignScorer } from './scorer';

/**
 * `POST /api/campaign/plan` with `{ leads: [{ leadId, attributes, context?, last? }], constraints? }`:
 * the best plan per lead, its runner-up and the uplift over the last-used combination.
 * Over the lead limit → 413 (checked before the leads are parsed); malformed → 400 naming the field.
 */

const id = z
  .string({ error: 'is required' })
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

/** Generous per-lead allowance for the byte check that precedes parsing. */
const BYTES_PER_LEAD = 16 * 1024;

export interface CampaignPlanHandlerOptions {
  /** The model and the default constraints (CAMPAIGN_CONSTRAINTS_PATH). */
  serving: () => Promise<{ scorer: CampaignScorer; constraints: PlanConstraints }>;
  maxLeads: number;
}

async function readBody(request: HttpRequest, maxLeads: number): Promise<unknown> {
  const maxBytes = maxLeads * BYTES_PER_LEAD;
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
  return json;
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
      const parsed = planRequestSchema.safeParse(await readBody(request, options.maxLeads));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new HttpProblem('invalid_request', issue.message, fieldPath('', issue.path));
      }
      const { scorer, constraints } = await options.serving();
      const leads: PlanLead[] = parsed.data.leads.map((lead, index) => ({
        leadId: lead.leadId,
        attributes: lead.attributes,
        ...(lead.context ? { context: lead.context } : {}),
        ...(lead.last ? { last: lead.last } : {}),
        origin: { source: `leads[${index}]` },
      }));
      let planner: CampaignPlanner;
      let plans;
      try {
        planner = new CampaignPlanner(scorer, parsed.data.constraints ?? constraints, 'constraints');
        plans = await planner.plan(leads);
      } catch (error) {
        if (error instanceof CampaignInputError) {
          const field = /^leads\[\d+\]$/.test(error.source)
            ? `${error.source}.${error.column?.startsWith('last.') ? error.column : `attributes.${error.column ?? ''}`}`
            : `constraints.${error.column ?? ''}`;
          throw new HttpProblem('invalid_request', error.problem, field);
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
      return new HttpProblem('service_unavailable', 'planning failed; try again later').toResponse(headers);
    }
  };
}
