import { CampaignPlanner, PlanLead } from '../../../shared/campaign/planner';
import { CampaignScorer } from '../../../shared/campaign/scorer';
import { leadsFromTables } from '../../../shared/campaign/planInput';
import { parseCsv } from '../../../shared/campaign/csv';
import { trainSmallCampaignModel } from './fixtures';

describe('CampaignPlanner', () => {
  let scorer: CampaignScorer;
  let leads: PlanLead[];

  beforeAll(async () => {
    const { bundle, data } = await trainSmallCampaignModel();
    scorer = await CampaignScorer.create(bundle);
    leads = leadsFromTables(bundle.manifest, { ...data.leadTable, rows: data.leadTable.rows.slice(0, 200) });
  });
  afterAll(async () => {
    await scorer.close();
  });

  it('scores every channel × day × time and returns the best, the runner-up and the uplift over the last touch', async () => {
    const planner = new CampaignPlanner(scorer);
    expect(planner.combinations).toHaveLength(63);
    const lead = { ...leads[0]!, last: { channel: 'SMS', dayOfWeek: 'Monday', timeOfDay: 'Morning' } };
    const { probabilities } = await planner.score([lead]);
    const [plan] = await planner.plan([lead]);
    const sorted = Array.from(probabilities).sort((a, b) => b - a);
    expect(plan!.best!.probability).toBeCloseTo(sorted[0]!, 6);
    expect(plan!.runnerUp!.probability).toBeCloseTo(sorted[1]!, 6);
    expect(plan!.last).toMatchObject({ channel: 'SMS', dayOfWeek: 'Monday', timeOfDay: 'Morning' });
    expect(plan!.uplift).toBeCloseTo(plan!.best!.probability - plan!.last!.probability, 6);
    expect(plan!.uplift!).toBeGreaterThanOrEqual(0);
  });

  it('never plans excluded combinations or values outside the allowed lists', async () => {
    const planner = new CampaignPlanner(scorer, {
      allowed: { channel: ['Cold Calling', 'SMS'] },
      exclude: [
        { channel: 'Cold Calling', dayOfWeek: 'Saturday' },
        { channel: 'Cold Calling', dayOfWeek: 'Sunday' },
      ],
    });
    expect(planner.combinations).toHaveLength(2 * 21 - 6);
    const plans = await planner.plan(leads);
    for (const plan of plans) {
      expect(['Cold Calling', 'SMS']).toContain(plan.best!.channel);
      expect(
        plan.best!.channel === 'Cold Calling' && ['Saturday', 'Sunday'].includes(plan.best!.dayOfWeek!),
      ).toBe(false);
    }
  });

  it('respects capacity per channel and day, giving the slots to the most promising leads first', async () => {
    const unconstrained = await new CampaignPlanner(scorer).plan(leads);
    const emailWednesday = unconstrained.filter(
      (p) => p.best!.channel === 'Email' && p.best!.dayOfWeek === 'Wednesday',
    );
    expect(emailWednesday.length).toBeGreaterThan(10);
    const planner = new CampaignPlanner(scorer, {
      capacity: [{ channel: 'Email', dayOfWeek: 'Wednesday', limit: 10 }],
    });
    const plans = await planner.plan(leads);
    const assigned = plans.filter((p) => p.best!.channel === 'Email' && p.best!.dayOfWeek === 'Wednesday');
    expect(assigned).toHaveLength(10);
    const top10 = [...emailWednesday].sort((a, b) => b.best!.probability - a.best!.probability).slice(0, 10);
    expect(assigned.map((p) => p.leadId).sort()).toEqual(top10.map((p) => p.leadId).sort());
    const none = await new CampaignPlanner(scorer, {
      allowed: { channel: ['Email'], dayOfWeek: ['Wednesday'] },
      capacity: [{ channel: 'Email', limit: 1 }],
    }).plan(leads.slice(0, 2));
    expect(none.filter((p) => p.best === null)).toHaveLength(1);
    expect(none.find((p) => p.best === null)!.reason).toBe('every allowed combination is at capacity');
  });

  it('refuses values training never saw and attributes of the wrong type, naming them', async () => {
    expect(() => new CampaignPlanner(scorer, { allowed: { channel: ['Fax'] } })).toThrow(
      "channel 'Fax' was never seen in training",
    );
    const planner = new CampaignPlanner(scorer);
    await expect(
      planner.plan([
        { ...leads[0]!, last: { channel: 'Pigeon', dayOfWeek: 'Monday', timeOfDay: 'Morning' } },
      ]),
    ).rejects.toThrow("column 'last.channel': channel 'Pigeon' was never seen in training");
    await expect(
      planner.plan([{ leadId: 'X', attributes: { Age: 'old' }, origin: { source: 'leads.csv', line: 7 } }]),
    ).rejects.toThrow("leads.csv, line 7, column 'Age': 'old' is not a number");
  });

  it('names the constraint rule holding an unknown value and checks a partial last combination', async () => {
    expect(
      () =>
        new CampaignPlanner(
          scorer,
          { exclude: [{ channel: 'SMS' }, { channel: 'SMS', dayOfWeek: 'Funday' }] },
          'c.json',
        ),
    ).toThrow("c.json, column 'exclude[1].dayOfWeek': dayOfWeek 'Funday' was never seen in training; known:");
    expect(() => new CampaignPlanner(scorer, { capacity: [{ channel: 'Fax', limit: 5 }] }, 'c.json')).toThrow(
      "c.json, column 'capacity[0].channel': channel 'Fax' was never seen in training",
    );
    const planner = new CampaignPlanner(scorer);
    await expect(planner.plan([{ ...leads[0]!, last: { dayOfWeek: 'Funday' } }])).rejects.toThrow(
      "column 'last.dayOfWeek': dayOfWeek 'Funday' was never seen in training",
    );
    const [plan] = await planner.plan([{ ...leads[0]!, last: { dayOfWeek: 'Monday' } }]);
    expect(plan).toMatchObject({ last: null, uplift: null });
  });

  it('plans each allowed value once when a list repeats it', async () => {
    const planner = new CampaignPlanner(scorer, {
      allowed: { channel: ['SMS', 'Email', 'SMS'], dayOfWeek: ['Monday', 'Monday'] },
    });
    expect(planner.combinations).toHaveLength(2 * 3);
    expect(new Set(planner.combinations.map((c) => JSON.stringify(c))).size).toBe(6);
    for (const plan of await planner.plan(leads.slice(0, 20))) {
      expect(plan.runnerUp).not.toMatchObject({
        channel: plan.best!.channel,
        dayOfWeek: plan.best!.dayOfWeek,
        timeOfDay: plan.best!.timeOfDay,
      });
    }
  });

  it('takes the last combination and touch features from the touch history, and refuses unknown leads', () => {
    const manifest = scorer.manifest;
    const leadsTable = parseCsv(
      'Lead_Id,Age,Annual_Income,Segment,Region,Credit_Score\nA,30,50000,professional,North,700\n',
      'leads.csv',
    );
    const touches = parseCsv(
      'Lead_Id,Channel,Day_Of_Week,Time_Of_Day,Timestamp\nA,SMS,Friday,Evening,2025-02-01\nA,Email,Monday,Morning,2025-01-01\n',
      'touches.csv',
    );
    const [lead] = leadsFromTables(manifest, leadsTable, touches);
    expect(lead!.last).toEqual({ channel: 'SMS', dayOfWeek: 'Friday', timeOfDay: 'Evening' });
    const stranger = parseCsv(
      'Lead_Id,Channel,Day_Of_Week,Time_Of_Day\nB,SMS,Friday,Evening\n',
      'touches.csv',
    );
    expect(() => leadsFromTables(manifest, leadsTable, stranger)).toThrow(
      "touches.csv, line 2, column 'Lead_Id': lead 'B' appears in no leads file",
    );
  });
});
