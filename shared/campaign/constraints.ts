import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CampaignInputError } from './errors';
import { PlanConstraints } from './planner';

const value = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const dimensionRule = z
  .object({ channel: value.optional(), dayOfWeek: value.optional(), timeOfDay: value.optional() })
  .strict();

/** Plan constraints as JSON: the file behind CAMPAIGN_CONSTRAINTS_PATH / --constraints, or a request's `constraints`. */
export const planConstraintsSchema = z
  .object({
    allowed: z
      .object({
        channel: z.array(value).min(1).max(100).optional(),
        dayOfWeek: z.array(value).min(1).max(100).optional(),
        timeOfDay: z.array(value).min(1).max(100).optional(),
      })
      .strict()
      .optional(),
    exclude: z.array(dimensionRule).max(1000).optional(),
    capacity: z
      .array(dimensionRule.extend({ limit: z.number().int('must be a whole number').nonnegative() }))
      .max(1000)
      .optional(),
  })
  .strict();

export function parseConstraints(json: unknown, source: string): PlanConstraints {
  const result = planConstraintsSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new CampaignInputError(
      source,
      undefined,
      issue.path.map(String).join('.') || '(root)',
      issue.message,
    );
  }
  return result.data;
}

export async function readConstraintsFile(path: string): Promise<PlanConstraints> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CampaignInputError(path, undefined, undefined, `cannot be read: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CampaignInputError(path, undefined, undefined, `is not JSON: ${(error as Error).message}`);
  }
  return parseConstraints(json, path);
}
