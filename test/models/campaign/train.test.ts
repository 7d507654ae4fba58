import { parseCsv } from '../../../shared/campaign/csv';
import { buildTouchFrame } from '../../../shared/campaign/dataset';
import { CampaignInputError } from '../../../shared/campaign/errors';
import { CampaignPlanner } from '../../../shared/campaign/planner';
import { CampaignScorer } from '../../../shared/campaign/scorer';
import { leadsFromTables } from '../../../shared/campaign/planInput';
import {
  generateCampaignData,
  plantedBestPlan,
  plantedProbability,
} from '../../../models/campaign/generator';
import { defaultTrainOptions, trainCampaignModel } from '../../../models/campaign/train';

describe('campaign model on synthetic leads with planted preferences', () => {
  const data = generateCampaignData({ leads: 20000, touchesPerLead: 5, seed: 11 });
  const frame = buildTouchFrame(
    { touches: data.touchTable, leads: data.leadTable },
    { mapping: {}, requireTarget: true },
  );
  let trained: Awaited<ReturnType<typeof trainCampaignModel>>;
  let scorer: CampaignScorer;

  beforeAll(async () => {
    trained = await trainCampaignModel(frame, { ...defaultTrainOptions, refit: false });
    scorer = await CampaignScorer.create(trained.bundle);
  });
  afterAll(async () => {
    await scorer.close();
  });

  it('reads the plan dimensions and the lead attributes, not the ids', () => {
    expect(trained.bundle.manifest.encoding.dimensions.map((d) => d.dimension)).toEqual([
      'channel',
      'dayOfWeek',
      'timeOfDay',
    ]);
    expect(trained.bundle.manifest.encoding.features.map((f) => f.name).sort()).toEqual(
      ['Age', 'Annual_Income', 'Credit_Score', 'Region', 'Segment'].sort(),
    );
  });

  it('beats the logistic baseline, which cannot see segment × channel interactions', () => {
    expect(trained.model!.auc).toBeGreaterThan(trained.baseline!.auc);
    expect(trained.model!.lift[0]!.lift).toBeGreaterThan(1.5);
    expect(trained.model!.calibration).toHaveLength(10);
  });

  it('recovers the planted best plan for at least 90% of leads', async () => {
    const leads = data.leads.slice(0, 3000);
    const planner = new CampaignPlanner(scorer);
    expect(planner.combinations).toHaveLength(63);
    const table = { ...data.leadTable, rows: data.leadTable.rows.slice(0, 3000) };
    const plans = await planner.plan(leadsFromTables(trained.bundle.manifest, table));
    let exact = 0;
    let withinMargin = 0;
    plans.forEach((plan, i) => {
      const lead = leads[i]!;
      const planted = plantedBestPlan(lead);
      const chosen = {
        channel: plan.best!.channel,
        dayOfWeek: plan.best!.dayOfWeek!,
        timeOfDay: plan.best!.timeOfDay!,
      };
      if (JSON.stringify(chosen) === JSON.stringify(planted.plan)) exact++;
      // Recovered: the recommended plan's true (planted) probability is within 0.02 of the best one's.
      if (plantedProbability(lead, chosen) >= planted.probability - 0.02) withinMargin++;
    });
    expect(withinMargin / leads.length).toBeGreaterThanOrEqual(0.9);
    // And most get exactly the planted channel, day and time (measured: 93%).
    expect(exact / leads.length).toBeGreaterThanOrEqual(0.85);
  });
});

describe('trainCampaignModel on too little data', () => {
  const frameOf = (text: string) =>
    buildTouchFrame({ touches: parseCsv(text, 'touches.csv') }, { mapping: {}, requireTarget: true });

  it('refuses a header-only touches file as bad input naming the file, not with a crash', async () => {
    const empty = trainCampaignModel(frameOf('Lead_Id,Channel,Converted\n'));
    await expect(empty).rejects.toBeInstanceOf(CampaignInputError);
    await expect(empty).rejects.toThrow('touches.csv: has no data rows, only a header');
  });

  it('says when the split by lead leaves nothing to train on', async () => {
    // One lead: all its touches land in one split, and holdout + validation take 98% of leads.
    const oneLead = trainCampaignModel(frameOf('Lead_Id,Channel,Converted\nL1,Email,1\nL1,SMS,0\n'), {
      ...defaultTrainOptions,
      holdoutFraction: 0.49,
      validationFraction: 0.49,
    });
    await expect(oneLead).rejects.toBeInstanceOf(CampaignInputError);
    await expect(oneLead).rejects.toThrow('touches.csv: no touches left for training');
  });
});
