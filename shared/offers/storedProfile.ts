import { UserProfile } from '../aggregation/documents';
import { fieldPath } from '../http/problems';

/**
 * The user profile as the offer path reads it: the fields of the aggregation's UserProfile
 * (shared/aggregation/documents.ts) that `historyOf` (offerService.ts) and `decideOffer` read, and no
 * others. The check below covers exactly these, in place, on every request: the rest of the document
 * (watermarks, recent event ids, …) is the aggregation's business, so a field the offer path never reads
 * cannot make a profile unusable, and nothing is copied.
 *
 * `eventCounts` is keyed by any string: a profile written by a newer build with an event type this build
 * does not know (a rollback after one was added) is still a valid one; only its counts are summed.
 */
export interface OfferProfile {
  /** Summed: any count at all makes the user `returning`. */
  readonly eventCounts: Readonly<Record<string, number | undefined>>;
  /** The history the model scores: each product's time-decayed affinity. */
  readonly products: Readonly<Record<string, { readonly affinity: number }>>;
  readonly categories: Readonly<Record<string, { readonly affinity: number }>>;
  /** Frequency caps and dismissal damping. */
  readonly offers: Readonly<Record<string, { readonly impressions: number; readonly dismissals: number }>>;
  readonly purchasedProducts: readonly string[];
}

/** The aggregation writes what the offer path reads: this fails to compile if the two drift apart. */
const _userProfileIsAnOfferProfile: UserProfile extends OfferProfile ? true : never = true;

/** A stored profile that is not a valid OfferProfile: the offer path decides without it. */
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

/** What a value is, for a message: `string`, `array`, `null`, `undefined` (missing), … */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** The first problem: the path to it and what is wrong there. */
type Problem = [path: PropertyKey[], expected: string, value: unknown];

/** Every entry an object whose `fields` are numbers (the fields the offer path reads of it). */
function checkEntries(
  document: Record<string, unknown>,
  name: string,
  fields: readonly string[],
): Problem | undefined {
  const map = document[name];
  if (!isObject(map)) return [[name], 'object', map];
  // Object.keys and an indexed loop: measured faster than for…in or Object.values over a parsed
  // document's maps (200 products make a dictionary-mode object). The whole check: docs/offers.md.
  const keys = Object.keys(map);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const entry = map[key];
    if (!isObject(entry)) return [[name, key], 'object', entry];
    for (const field of fields) {
      const value = entry[field];
      if (!isNumber(value)) return [[name, key, field], 'number', value];
    }
  }
  return undefined;
}

function firstProblem(document: Record<string, unknown>): Problem | undefined {
  const eventCounts = document.eventCounts;
  if (!isObject(eventCounts)) return [['eventCounts'], 'object', eventCounts];
  for (const type of Object.keys(eventCounts)) {
    if (!isNumber(eventCounts[type])) return [['eventCounts', type], 'number', eventCounts[type]];
  }
  const problem =
    checkEntries(document, 'products', ['affinity']) ??
    checkEntries(document, 'categories', ['affinity']) ??
    checkEntries(document, 'offers', ['impressions', 'dismissals']);
  if (problem !== undefined) return problem;
  const purchased = document.purchasedProducts;
  if (!Array.isArray(purchased)) return [['purchasedProducts'], 'array', purchased];
  for (let i = 0; i < purchased.length; i++) {
    if (typeof purchased[i] !== 'string') return [['purchasedProducts', i], 'string', purchased[i]];
  }
  return undefined;
}

/**
 * The profile as read from Cosmos DB (undefined: the user has none yet), checked where the offer path
 * reads it: a document edited by hand or written by an older or broken writer must not turn a decision
 * into an error. The document itself is returned, not a copy. Throws InvalidProfileError naming the user
 * and the first invalid field (e.g. `products.p1.affinity expected number, received string`).
 */
export function parseStoredProfile(userId: string, stored: unknown): OfferProfile | undefined {
  if (stored === undefined || stored === null) return undefined;
  const problem: Problem | undefined = isObject(stored) ? firstProblem(stored) : [[], 'object', stored];
  if (problem === undefined) return stored as unknown as OfferProfile;
  const [path, expected, value] = problem;
  throw new InvalidProfileError(
    userId,
    path.length === 0 ? '(document)' : fieldPath('', path),
    `expected ${expected}, received ${kindOf(value)}`,
  );
}
