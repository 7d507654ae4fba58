import { CsvTable } from '../../shared/campaign/csv';
import { seededRandom } from '../../shared/random/seededRandom';

/**
 * Synthetic leads and touches with planted response propensities. Each lead's chance to convert depends
 * on its attributes and on the channel, day of week and time of day it is contacted on, through
 * segment-specific preferences, so every lead has a best plan the recommender should find:
 * professionals answer e-mail on Wednesday evenings, students SMS on Saturday evenings, retirees cold
 * calls on Monday mornings (with region and income shifting the margins). Used by the demo
 * (`campaign generate`), the benchmark and the test that checks the planted best plans are recovered.
 */

export const syntheticChannels = ['Email', 'SMS', 'Cold Calling'] as const;
export const syntheticDays = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
] as const;
export const syntheticTimes = ['Morning', 'Afternoon', 'Evening'] as const;

export interface SyntheticLead {
  leadId: string;
  age: number;
  annualIncome: number;
  segment: 'student' | 'professional' | 'retired';
  region: 'North' | 'South' | 'East' | 'West';
  creditScore: number;
}

export interface Plan {
  channel: string;
  dayOfWeek: string;
  timeOfDay: string;
}

type Segment = SyntheticLead['segment'];

const channelEffect: Record<Segment, Record<string, number>> = {
  professional: { Email: 0.9, SMS: 0.2, 'Cold Calling': 0 },
  student: { Email: 0.3, SMS: 1.0, 'Cold Calling': -0.3 },
  retired: { Email: 0.2, SMS: -0.2, 'Cold Calling': 1.1 },
};
const dayEffect: Record<Segment, Record<string, number>> = {
  professional: {
    Monday: 0,
    Tuesday: 0.3,
    Wednesday: 0.6,
    Thursday: 0.3,
    Friday: 0,
    Saturday: -0.4,
    Sunday: -0.4,
  },
  student: {
    Monday: -0.2,
    Tuesday: -0.2,
    Wednesday: 0,
    Thursday: 0,
    Friday: 0.2,
    Saturday: 0.7,
    Sunday: 0.4,
  },
  retired: {
    Monday: 0.6,
    Tuesday: 0.3,
    Wednesday: 0.1,
    Thursday: 0,
    Friday: 0,
    Saturday: -0.3,
    Sunday: -0.5,
  },
};
const timeEffect: Record<Segment, Record<string, number>> = {
  professional: { Morning: -0.2, Afternoon: 0, Evening: 0.5 },
  student: { Morning: -0.5, Afternoon: 0.2, Evening: 0.6 },
  retired: { Morning: 0.6, Afternoon: 0.2, Evening: -0.4 },
};

/** The planted probability that `lead` converts when contacted with `plan`. */
export function plantedProbability(lead: SyntheticLead, plan: Plan): number {
  const segment = lead.segment;
  let logit = -2.4 + 0.25 * ((lead.annualIncome - 60000) / 25000) + 0.15 * ((lead.creditScore - 650) / 80);
  logit += channelEffect[segment][plan.channel] ?? 0;
  logit += dayEffect[segment][plan.dayOfWeek] ?? 0;
  logit += timeEffect[segment][plan.timeOfDay] ?? 0;
  // Northern leads like SMS a bit more; cold calls in the evening annoy everyone.
  if (lead.region === 'North' && plan.channel === 'SMS') logit += 0.4;
  if (plan.channel === 'Cold Calling' && plan.timeOfDay === 'Evening') logit -= 0.5;
  return 1 / (1 + Math.exp(-logit));
}

export function allPlans(): Plan[] {
  const plans: Plan[] = [];
  for (const channel of syntheticChannels) {
    for (const dayOfWeek of syntheticDays)
      for (const timeOfDay of syntheticTimes) plans.push({ channel, dayOfWeek, timeOfDay });
  }
  return plans;
}

export function plantedBestPlan(lead: SyntheticLead): { plan: Plan; probability: number } {
  let best: { plan: Plan; probability: number } | undefined;
  for (const plan of allPlans()) {
    const probability = plantedProbability(lead, plan);
    if (!best || probability > best.probability) best = { plan, probability };
  }
  return best!;
}

export interface GeneratorOptions {
  leads: number;
  /** Average touches per lead; each lead gets 1..2×average−1 touches. */
  touchesPerLead: number;
  seed: number;
}

export interface SyntheticCampaignData {
  leads: SyntheticLead[];
  /** Lead_Demography-like table: Lead_Id, Age, Annual_Income, Segment, Region, Credit_Score. */
  leadTable: CsvTable;
  /** Market_Touchdown-like table: Lead_Id, Channel, Day_Of_Week, Time_Of_Day, Campaign_Id, Timestamp, Converted. */
  touchTable: CsvTable;
}

export function generateCampaignData(options: GeneratorOptions): SyntheticCampaignData {
  if (!Number.isInteger(options.leads) || options.leads < 1)
    throw new Error('leads must be a positive integer');
  if (!(options.touchesPerLead >= 1)) throw new Error('touchesPerLead must be at least 1');
  const next = seededRandom(options.seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)]!;
  const normal = () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  const leads: SyntheticLead[] = [];
  const width = String(options.leads).length;
  for (let i = 0; i < options.leads; i++) {
    const roll = next();
    const segment: Segment = roll < 0.3 ? 'student' : roll < 0.75 ? 'professional' : 'retired';
    const age = Math.round(
      segment === 'student'
        ? 18 + next() * 8
        : segment === 'professional'
          ? 25 + next() * 38
          : 60 + next() * 25,
    );
    leads.push({
      leadId: `L${String(i + 1).padStart(width, '0')}`,
      age,
      annualIncome: Math.max(
        8000,
        Math.round(
          (segment === 'student' ? 20000 : segment === 'professional' ? 70000 : 40000) + 20000 * normal(),
        ),
      ),
      segment,
      region: pick(['North', 'South', 'East', 'West'] as const),
      creditScore: Math.round(Math.min(850, Math.max(300, 650 + 80 * normal()))),
    });
  }
  const touchRows: string[][] = [];
  const start = Date.UTC(2025, 0, 6);
  const maxTouches = Math.max(1, Math.round(2 * options.touchesPerLead - 1));
  for (const lead of leads) {
    const count = 1 + Math.floor(next() * maxTouches);
    let time = start + Math.floor(next() * 30) * 86_400_000;
    for (let k = 0; k < count; k++) {
      const plan = {
        channel: pick(syntheticChannels),
        dayOfWeek: pick(syntheticDays),
        timeOfDay: pick(syntheticTimes),
      };
      const converted = next() < plantedProbability(lead, plan) ? '1' : '0';
      time += (1 + Math.floor(next() * 20)) * 86_400_000;
      touchRows.push([
        lead.leadId,
        plan.channel,
        plan.dayOfWeek,
        plan.timeOfDay,
        `C${1 + Math.floor(next() * 4)}`,
        new Date(time).toISOString(),
        converted,
      ]);
    }
  }
  return {
    leads,
    leadTable: {
      source: 'synthetic leads',
      delimiter: ',',
      header: ['Lead_Id', 'Age', 'Annual_Income', 'Segment', 'Region', 'Credit_Score'],
      rows: leads.map((l) => [
        l.leadId,
        String(l.age),
        String(l.annualIncome),
        l.segment,
        l.region,
        String(l.creditScore),
      ]),
    },
    touchTable: {
      source: 'synthetic touches',
      delimiter: ',',
      header: ['Lead_Id', 'Channel', 'Day_Of_Week', 'Time_Of_Day', 'Campaign_Id', 'Timestamp', 'Converted'],
      rows: touchRows,
    },
  };
}
