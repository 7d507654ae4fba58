import { CampaignInputError } from './errors';
import { PlanDimension, parseNumber, planDimensions } from './dataset';
import { CategoricalEncoding, encodeCategory, encodeDimension } from './encoding';
import { CampaignScorer } from './scorer';

/**
 * Recommends a plan per lead: scores every allowed channel × day × time combination with the campaign
 * model, then picks the most likely to convert, subject to constraints (allowed values, excluded
 * combinations such as calls at weekends, capacity per channel and day). Reports the runner-up and the
 * expected uplift over the lead's last-used combination.
 */

export type PlanValue = string | number | boolean | null | undefined;

export interface PlanLead {
  leadId: string;
  /** Lead attributes by column name (as in the leads file the model was trained with). */
  attributes: Record<string, PlanValue>;
  /** Touch-level, campaign and product features for the planned touch, by feature name. */
  context?: Record<string, PlanValue>;
  /** The combination the lead was last contacted with, for the uplift. */
  last?: Partial<Record<PlanDimension, string>>;
  /** Where the lead came from, for error messages (file and line, or 'leads[3]' for a request). */
  origin?: { source: string; line?: number };
  /**
   * Where `last` and `context` came from when that is a row of its own (the lead's latest touch): file,
   * line and the file's column per plan dimension and feature name, for error messages.
   */
  touchOrigin?: { source: string; line?: number; columns: Record<string, string> };
  /**
   * Where single `context` values came from when that is a row of another file (a campaign's or a
   * product's row, joined by its id), by feature name, for error messages; these win over `touchOrigin`.
   */
  contextOrigins?: Record<string, { source: string; line?: number; column: string }>;
}

export interface CapacityLimit {
  channel?: string;
  dayOfWeek?: string;
  timeOfDay?: string;
  /** At most this many leads get a plan matching the fields above. */
  limit: number;
}

export interface PlanConstraints {
  /** Values the plan may use per dimension; default: every value seen in training. */
  allowed?: Partial<Record<PlanDimension, string[]>>;
  /** Combinations never planned, e.g. { channel: 'Cold Calling', dayOfWeek: 'Sunday' }; unset fields match all. */
  exclude?: Array<Partial<Record<PlanDimension, string>>>;
  capacity?: CapacityLimit[];
}

export type Combination = Partial<Record<PlanDimension, string>>;

export interface ScoredPlan {
  channel: string;
  dayOfWeek?: string;
  timeOfDay?: string;
  probability: number;
}

export interface LeadPlan {
  leadId: string;
  best: ScoredPlan | null;
  runnerUp: ScoredPlan | null;
  last: ScoredPlan | null;
  /** best.probability − last.probability; null without a last combination. */
  uplift: number | null;
  /** Why there is no best plan (every allowed combination is excluded or out of capacity). */
  reason?: string;
}

interface Prepared {
  combinations: Combination[];
  /** Encoded codes per combination, per dimension input column. */
  codes: Array<Array<{ column: number; code: number }>>;
  dimensionColumns: Map<PlanDimension, { column: number; encoding: CategoricalEncoding }>;
}

function matches(combination: Combination, rule: Partial<Record<PlanDimension, string>>): boolean {
  return planDimensions.every((d) => rule[d] === undefined || rule[d] === combination[d]);
}

/** Rows of leads scored per onnxruntime call: each lead contributes one row per combination. */
const LEADS_PER_CHUNK = 4096;

export class CampaignPlanner {
  private readonly prepared: Prepared;

  constructor(
    private readonly scorer: CampaignScorer,
    private readonly constraints: PlanConstraints = {},
    private readonly source = 'constraints',
  ) {
    this.prepared = this.prepare();
  }

  /** Every combination the constraints allow, in a stable order. */
  get combinations(): readonly Combination[] {
    return this.prepared.combinations;
  }

  private prepare(): Prepared {
    const { encoding } = this.scorer.manifest;
    const dimensionColumns = new Map<PlanDimension, { column: number; encoding: CategoricalEncoding }>();
    encoding.inputs.forEach((input, column) => {
      if (input.role === 'dimension')
        dimensionColumns.set(input.name as PlanDimension, {
          column,
          encoding: input.encoding as CategoricalEncoding,
        });
    });
    let combinations: Combination[] = [{}];
    for (const { dimension, values: trained } of encoding.dimensions) {
      // A value listed twice would be planned twice, and the runner-up would repeat the best plan.
      const allowed = [...new Set(this.constraints.allowed?.[dimension] ?? trained)];
      for (const value of allowed) {
        if (!trained.includes(value)) {
          throw new CampaignInputError(
            this.source,
            undefined,
            `allowed.${dimension}`,
            `${dimension} '${value}' was never seen in training; known: ${trained.join(', ')}`,
          );
        }
      }
      combinations = combinations.flatMap((c) => allowed.map((value) => ({ ...c, [dimension]: value })));
    }
    const rules = [
      ...(this.constraints.exclude ?? []).map((rule, i) => ({ rule, at: `exclude[${i}]` })),
      ...(this.constraints.capacity ?? []).map((rule, i) => ({ rule, at: `capacity[${i}]` })),
    ];
    for (const { rule, at } of rules) {
      for (const d of planDimensions) {
        const value = rule[d];
        const trained = encoding.dimensions.find((x) => x.dimension === d)?.values ?? [];
        if (value !== undefined && !trained.includes(value)) {
          throw new CampaignInputError(
            this.source,
            undefined,
            `${at}.${d}`,
            `${d} '${value}' was never seen in training; known: ${trained.join(', ') || '(none)'}`,
          );
        }
      }
    }
    combinations = combinations.filter(
      (c) => !(this.constraints.exclude ?? []).some((rule) => matches(c, rule)),
    );
    const codes = combinations.map((c) =>
      [...dimensionColumns].map(([dimension, { column, encoding: e }]) => ({
        column,
        code: encodeDimension(e, c[dimension]!)!,
      })),
    );
    return { combinations, codes, dimensionColumns };
  }

  /** The lead's feature row without the dimension columns. */
  private baseRow(lead: PlanLead): Float32Array {
    const { encoding } = this.scorer.manifest;
    const row = new Float32Array(encoding.inputs.length);
    const leadWhere = lead.origin ?? { source: `lead '${lead.leadId}'` };
    encoding.inputs.forEach((input, column) => {
      if (input.role === 'dimension') return;
      const spec = encoding.features.find((f) => f.name === input.name)!;
      const fromContext =
        spec.source === 'lead' ? undefined : (lead.context?.[spec.name] ?? lead.context?.[spec.column]);
      const raw =
        spec.source === 'lead'
          ? (lead.attributes[spec.column] ?? lead.attributes[spec.name])
          : (fromContext ?? lead.attributes[spec.name]);
      // A value from the touch history (or a joined campaign or product) is blamed on its row, not on the lead's.
      const fromRow = fromContext !== undefined && fromContext !== null;
      const joined = fromRow ? lead.contextOrigins?.[spec.name] : undefined;
      const touch = fromRow && !joined ? lead.touchOrigin : undefined;
      const where = joined ?? touch ?? leadWhere;
      const columnName = joined?.column ?? touch?.columns[spec.name] ?? spec.column;
      const value =
        raw === null || raw === undefined || (typeof raw === 'string' && raw.trim() === '') ? undefined : raw;
      if (input.encoding.kind === 'numeric') {
        if (value === undefined) row[column] = NaN;
        else {
          const number =
            typeof value === 'number'
              ? value
              : typeof value === 'boolean'
                ? Number(value)
                : parseNumber(value);
          if (number === undefined || !Number.isFinite(number)) {
            throw new CampaignInputError(
              where.source,
              where.line,
              columnName,
              `'${String(value)}' is not a number`,
            );
          }
          row[column] = number;
        }
      } else {
        row[column] = encodeCategory(input.encoding, value === undefined ? undefined : String(value).trim());
      }
    });
    return row;
  }

  private lastCodes(lead: PlanLead): Array<{ column: number; code: number }> | undefined {
    if (!lead.last) return undefined;
    const touch = lead.touchOrigin;
    const where = touch ?? lead.origin ?? { source: `lead '${lead.leadId}'` };
    const codes: Array<{ column: number; code: number }> = [];
    let complete = true;
    for (const [dimension, { column, encoding }] of this.prepared.dimensionColumns) {
      const value = lead.last[dimension];
      // A partial combination has no score, but each value given is still checked.
      if (value === undefined) {
        complete = false;
        continue;
      }
      const code = encodeDimension(encoding, value);
      if (code === undefined) {
        throw new CampaignInputError(
          where.source,
          where.line,
          touch?.columns[dimension] ?? `last.${dimension}`,
          `${dimension} '${value}' was never seen in training; known: ${Object.keys(encoding.codes).join(', ')}`,
        );
      }
      codes.push({ column, code });
    }
    return complete ? codes : undefined;
  }

  /**
   * Probabilities of every combination for every lead ([leads × combinations]) and of each lead's last
   * combination (NaN when unknown). Validates every lead before scoring any.
   */
  async score(
    leads: readonly PlanLead[],
    progress?: (done: number) => void,
  ): Promise<{ probabilities: Float32Array; last: Float32Array }> {
    const { combinations, codes } = this.prepared;
    const width = this.scorer.width;
    const perLead = combinations.length;
    const bases = leads.map((lead) => this.baseRow(lead));
    const lastCodes = leads.map((lead) => this.lastCodes(lead));
    const probabilities = new Float32Array(leads.length * perLead);
    const last = new Float32Array(leads.length).fill(NaN);
    for (let start = 0; start < leads.length; start += LEADS_PER_CHUNK) {
      const end = Math.min(leads.length, start + LEADS_PER_CHUNK);
      const withLast = lastCodes.slice(start, end).filter((c) => c !== undefined).length;
      const rows = (end - start) * perLead + withLast;
      const matrix = new Float32Array(rows * width);
      let row = 0;
      for (let l = start; l < end; l++) {
        const base = bases[l]!;
        for (let c = 0; c < perLead; c++) {
          const offset = row * width;
          matrix.set(base, offset);
          for (const { column, code } of codes[c]!) matrix[offset + column] = code;
          row++;
        }
      }
      const lastRows: number[] = [];
      for (let l = start; l < end; l++) {
        const lc = lastCodes[l];
        if (!lc) continue;
        const offset = row * width;
        matrix.set(bases[l]!, offset);
        for (const { column, code } of lc) matrix[offset + column] = code;
        lastRows.push(l);
        row++;
      }
      const scores = await this.scorer.score(matrix, rows);
      probabilities.set(scores.subarray(0, (end - start) * perLead), start * perLead);
      lastRows.forEach((l, k) => {
        last[l] = scores[(end - start) * perLead + k]!;
      });
      progress?.(end);
    }
    return { probabilities, last };
  }

  /** Scores and assigns plans; with capacity limits, leads with the most promising best plan choose first. */
  async plan(leads: readonly PlanLead[], progress?: (done: number) => void): Promise<LeadPlan[]> {
    const { probabilities, last } = await this.score(leads, progress);
    return this.choose(leads, probabilities, last);
  }

  choose(leads: readonly PlanLead[], probabilities: Float32Array, last: Float32Array): LeadPlan[] {
    const { combinations } = this.prepared;
    const perLead = combinations.length;
    const capacity = (this.constraints.capacity ?? []).map((limit) => ({ ...limit, used: 0 }));
    const toPlan = (c: number, probability: number): ScoredPlan => ({
      ...(combinations[c] as { channel: string }),
      probability,
    });
    const hasRoom = (c: number) =>
      capacity.every((limit) => limit.used < limit.limit || !matches(combinations[c]!, limit));
    const ranked = (l: number) => {
      const order = Array.from({ length: perLead }, (_, c) => c);
      return order.sort((a, b) => probabilities[l * perLead + b]! - probabilities[l * perLead + a]! || a - b);
    };
    const bestProbability = (l: number) => {
      let best = -Infinity;
      for (let c = 0; c < perLead; c++) best = Math.max(best, probabilities[l * perLead + c]!);
      return best;
    };
    const order = Array.from({ length: leads.length }, (_, l) => l);
    if (capacity.length > 0) order.sort((a, b) => bestProbability(b) - bestProbability(a) || a - b);
    const plans = new Array<LeadPlan>(leads.length);
    for (const l of order) {
      const lead = leads[l]!;
      const lastPlan = Number.isNaN(last[l]!)
        ? null
        : { ...(lead.last as { channel: string }), probability: last[l]! };
      let best: number | undefined;
      let runnerUp: number | undefined;
      if (capacity.length === 0) {
        // Without capacity limits the two highest scores suffice; no need to rank all combinations.
        const base = l * perLead;
        for (let c = 0; c < perLead; c++) {
          const p = probabilities[base + c]!;
          if (best === undefined || p > probabilities[base + best]!) {
            runnerUp = best;
            best = c;
          } else if (runnerUp === undefined || p > probabilities[base + runnerUp]!) runnerUp = c;
        }
      } else {
        for (const c of perLead === 0 ? [] : ranked(l)) {
          if (!hasRoom(c)) continue;
          if (best === undefined) best = c;
          else {
            runnerUp = c;
            break;
          }
        }
      }
      if (best !== undefined) {
        for (const limit of capacity) if (matches(combinations[best]!, limit)) limit.used++;
      }
      const bestPlan = best === undefined ? null : toPlan(best, probabilities[l * perLead + best]!);
      plans[l] = {
        leadId: lead.leadId,
        best: bestPlan,
        runnerUp: runnerUp === undefined ? null : toPlan(runnerUp, probabilities[l * perLead + runnerUp]!),
        last: lastPlan,
        uplift: bestPlan && lastPlan ? bestPlan.probability - lastPlan.probability : null,
        ...(best === undefined
          ? {
              reason:
                perLead === 0
                  ? 'the constraints exclude every combination'
                  : 'every allowed combination is at capacity',
            }
          : {}),
      };
    }
    return plans;
  }
}
