import { z } from 'zod';
import { ID_PATTERN } from '../events/clickstreamEvent';

/**
 * The offer catalog (docs/offers.md). Loaded with `npx nextoffer offers load FILE`, which refuses the
 * whole file when any offer is invalid, naming the offer and the field.
 */
const id = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(ID_PATTERN, 'may hold only letters, digits and . : @ | ~ - _');

export const segments = ['new', 'returning', 'buyer', 'non-buyer'] as const;
export type Segment = (typeof segments)[number];

export const offerSchema = z
  .object({
    offerId: id,
    title: z.string().min(1, 'must not be empty').max(200),
    description: z.string().max(2000).optional(),
    /** Products the offer promotes; the offer's relevance is the user's best affinity among them. */
    productIds: z.array(id).max(1000).default([]),
    /** Categories the offer promotes, for offers not tied to products. */
    categories: z.array(z.string().min(1).max(100)).max(100).default([]),
    startsAt: z.iso.datetime({ offset: true }).optional(),
    endsAt: z.iso.datetime({ offset: true }).optional(),
    /** Who may see it; absent means everyone. */
    segments: z.array(z.enum(segments)).optional(),
    /** Business priority, 0-10; breaks near ties and lifts promoted offers. */
    priority: z.number().min(0).max(10).default(0),
    /** At most this many impressions per user. */
    frequencyCap: z.number().int().positive().optional(),
    /** At most this many impressions in total. */
    budget: z.number().int().positive().optional(),
  })
  .refine((o) => o.productIds.length > 0 || o.categories.length > 0, {
    message: 'needs productIds or categories',
    path: ['productIds'],
  })
  .refine(
    (o) =>
      o.startsAt === undefined || o.endsAt === undefined || Date.parse(o.startsAt) < Date.parse(o.endsAt),
    {
      message: 'must be after startsAt',
      path: ['endsAt'],
    },
  );

export type Offer = z.infer<typeof offerSchema>;

export const MAX_CATALOG_OFFERS = 10000;

export class CatalogValidationError extends Error {
  override name = 'CatalogValidationError';
  constructor(readonly errors: Array<{ offer: string; field: string; message: string }>) {
    super(`offer catalog refused: ${errors.map((e) => `${e.offer}: ${e.field}: ${e.message}`).join('; ')}`);
  }
}

/** Validates a whole catalog; throws CatalogValidationError listing every problem. */
export function parseOfferCatalog(json: unknown): Offer[] {
  if (!Array.isArray(json))
    throw new CatalogValidationError([
      { offer: '(file)', field: '(root)', message: 'must be a JSON array of offers' },
    ]);
  if (json.length > MAX_CATALOG_OFFERS) {
    throw new CatalogValidationError([
      {
        offer: '(file)',
        field: '(root)',
        message: `has ${json.length} offers; the limit is ${MAX_CATALOG_OFFERS}`,
      },
    ]);
  }
  const errors: CatalogValidationError['errors'] = [];
  const offers: Offer[] = [];
  const seen = new Set<string>();
  json.forEach((item, index) => {
    const name =
      typeof (item as { offerId?: unknown })?.offerId === 'string'
        ? `offer ${(item as { offerId: string }).offerId}`
        : `offer #${index}`;
    const parsed = offerSchema.safeParse(item);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        errors.push({ offer: name, field: issue.path.join('.') || '(offer)', message: issue.message });
      return;
    }
    if (seen.has(parsed.data.offerId)) {
      errors.push({ offer: name, field: 'offerId', message: 'appears more than once' });
      return;
    }
    seen.add(parsed.data.offerId);
    offers.push(parsed.data);
  });
  if (errors.length > 0) throw new CatalogValidationError(errors);
  return offers;
}
