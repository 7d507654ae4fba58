import { z } from 'zod';
import { OfferInteraction, ProductInteraction, UserProfile } from '../aggregation/documents';
import { eventTypes } from '../events/clickstreamEvent';
import { fieldPath } from '../http/problems';

/**
 * The user profile as the aggregation writes it (shared/aggregation/documents.ts), checked where the offer
 * function reads it: a document edited by hand or written by an older or broken writer must not turn a
 * decision into an error. The types below are those of documents.ts; `Exactly` makes the compiler refuse
 * a schema that drifts from them in either direction. Unknown fields (Cosmos DB's `_rid`, `_etag`, …) are
 * dropped.
 */
const productInteraction = z.object({
  views: z.number(),
  clicks: z.number(),
  carts: z.number(),
  purchases: z.number(),
  affinity: z.number(),
  lastAt: z.string(),
});

const offerInteraction = z.object({
  impressions: z.number(),
  clicks: z.number(),
  dismissals: z.number(),
  lastAt: z.string(),
});

export const userProfileSchema = z.object({
  id: z.string(),
  watermarks: z.record(z.string(), z.number()),
  updatedAt: z.string(),
  userId: z.string(),
  eventCounts: z.partialRecord(z.enum(eventTypes), z.number()),
  products: z.record(z.string(), productInteraction),
  categories: z.record(z.string(), z.object({ affinity: z.number(), events: z.number() })),
  offers: z.record(z.string(), offerInteraction),
  recentProducts: z.array(z.string()),
  purchasedProducts: z.array(z.string()),
  decayedTo: z.string(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
  recentEventIds: z.array(z.string()).optional(),
  duplicatePositions: z.record(z.string(), z.array(z.tuple([z.number(), z.number()]))).optional(),
});

/** True when A and B are assignable to each other; anything else fails to compile below. */
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameAsDocuments: [
  Exactly<z.infer<typeof productInteraction>, ProductInteraction>,
  Exactly<z.infer<typeof offerInteraction>, OfferInteraction>,
  Exactly<z.infer<typeof userProfileSchema>, UserProfile>,
] = [true, true, true];

/** A stored profile that is not a UserProfile: the offer path decides without it. */
export class InvalidProfileError extends Error {
  override name = 'InvalidProfileError';
  constructor(
    readonly userId: string,
    /** Where the first problem is, e.g. `eventCounts` or `products.p1.affinity`. */
    readonly field: string,
    readonly problem: string,
  ) {
    super(`the stored profile of user ${userId} is invalid: ${field} ${problem}`);
  }
}

/**
 * The profile as read from Cosmos DB (undefined: the user has none yet), validated. Throws
 * InvalidProfileError naming the user and the first invalid field.
 */
export function parseStoredProfile(userId: string, stored: unknown): UserProfile | undefined {
  if (stored === undefined || stored === null) return undefined;
  const parsed = userProfileSchema.safeParse(stored);
  if (parsed.success) return parsed.data;
  const [issue, ...others] = parsed.error.issues;
  const path = issue?.path ?? [];
  throw new InvalidProfileError(
    userId,
    path.length === 0 ? '(document)' : fieldPath('', path),
    (issue?.message ?? 'is invalid') + (others.length > 0 ? ` (and ${others.length} more problems)` : ''),
  );
}
