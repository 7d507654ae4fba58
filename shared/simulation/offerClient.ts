import { z } from 'zod';
import type { OfferContext, OfferDecision } from './sessions';

/**
 * Asks `GET {baseUrl}/api/offer?userId=…&category=…&page=…&device=…` for the simulated user's next offer. Only what the
 * simulated user reacts to is required of the answer; other fields are ignored so the simulator keeps
 * working as the offer response grows.
 */
const offerResponseSchema = z.object({
  decisionId: z.string().min(1).nullish(),
  source: z.string().min(1),
  offer: z
    .object({
      offerId: z.string().min(1),
      productIds: z.array(z.string()).nullish(),
      categories: z.array(z.string()).nullish(),
    })
    .nullable(),
});

export interface OfferRequestTotals {
  requested: number;
  /** Answers that carried an offer. */
  withOffer: number;
  /** Answers with `offer: null`. */
  withoutOffer: number;
  /** No usable answer: network error, timeout, non-2xx or a body that does not parse. */
  failed: number;
  bySource: Record<string, number>;
  errors: string[];
}

export interface OfferClientOptions {
  baseUrl: string;
  functionKey?: string;
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

const MAX_ERRORS_KEPT = 5;

export class OfferClient {
  private readonly endpoint: URL;
  private readonly fetchImpl: typeof fetch;
  readonly totals: OfferRequestTotals = {
    requested: 0,
    withOffer: 0,
    withoutOffer: 0,
    failed: 0,
    bySource: {},
    errors: [],
  };

  constructor(private readonly options: OfferClientOptions) {
    this.endpoint = new URL(
      'api/offer',
      options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`,
    );
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The decision, or undefined when the endpoint gave no usable answer (counted in `totals.failed`). */
  request = async (
    userId: string,
    context: OfferContext,
    signal: AbortSignal,
  ): Promise<OfferDecision | undefined> => {
    this.totals.requested++;
    const url = new URL(this.endpoint);
    url.searchParams.set('userId', userId);
    for (const [name, value] of Object.entries(context)) {
      if (typeof value === 'string') url.searchParams.set(name, value);
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.functionKey !== undefined) headers['x-functions-key'] = this.options.functionKey;
    try {
      const response = await this.fetchImpl(url, {
        headers,
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.requestTimeoutMs ?? 5000)]),
      });
      const text = await response.text();
      if (!response.ok) return this.fail(`HTTP ${response.status}: ${text.slice(0, 200)}`);
      const parsed = offerResponseSchema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return this.fail(
          `unexpected offer response at ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? ''}`,
        );
      }
      const { decisionId, source, offer } = parsed.data;
      this.totals.bySource[source] = (this.totals.bySource[source] ?? 0) + 1;
      if (offer === null) {
        this.totals.withoutOffer++;
        return { decisionId: decisionId ?? '', source, offer: null };
      }
      // An impression must name the decision it answers; without one the offer cannot be shown.
      if (decisionId === undefined || decisionId === null)
        return this.fail('offer response has an offer but no decisionId');
      this.totals.withOffer++;
      return {
        decisionId,
        source,
        offer: {
          offerId: offer.offerId,
          productIds: offer.productIds ?? [],
          categories: offer.categories ?? [],
        },
      };
    } catch (error) {
      return this.fail(error instanceof Error ? error.message : String(error));
    }
  };

  private fail(message: string): undefined {
    this.totals.failed++;
    if (this.totals.errors.length < MAX_ERRORS_KEPT && !this.totals.errors.includes(message)) {
      this.totals.errors.push(message);
    }
    return undefined;
  }
}
