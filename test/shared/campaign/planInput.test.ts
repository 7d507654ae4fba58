import { CampaignModelBundle } from '../../../shared/campaign/bundle';
import { parseCsv } from '../../../shared/campaign/csv';
import { buildTouchFrame } from '../../../shared/campaign/dataset';
import { encodeFrame } from '../../../shared/campaign/encoding';
import { MissingTableError } from '../../../shared/campaign/errors';
import { CampaignPlanner } from '../../../shared/campaign/planner';
import { leadsFromTables, requirePlanTables, touchTimes } from '../../../shared/campaign/planInput';
import { CampaignScorer } from '../../../shared/campaign/scorer';
import { defaultGbdtOptions } from '../../../models/campaign/gbdt';
import { generateCampaignData } from '../../../models/campaign/generator';
import { defaultTrainOptions, trainCampaignModel } from '../../../models/campaign/train';
import { campaignTables, campaignsCsv, trainSmallCampaignModel } from './fixtures';

/** A quick model whose touches carry a numeric, touch-level `Discount` feature besides the lead's. */
async function trainModel(): Promise<CampaignModelBundle> {
  const data = generateCampaignData({ leads: 1500, touchesPerLead: 4, seed: 5 });
  const touches = {
    ...data.touchTable,
    header: [...data.touchTable.header, 'Discount'],
    rows: data.touchTable.rows.map((row, i) => [...row, String(i % 20)]),
  };
  const frame = buildTouchFrame({ touches, leads: data.leadTable }, { mapping: {}, requireTarget: true });
  const { bundle } = await trainCampaignModel(frame, {
    ...defaultTrainOptions,
    gbdt: { ...defaultGbdtOptions, learningRate: 0.2, maxIterations: 20 },
    holdoutFraction: 0,
    refit: false,
  });
  return bundle;
}

const leadHeader = 'Lead_Id,Age,Annual_Income,Segment,Region,Credit_Score';
const leadRow = (id: string) => `${id},30,50000,professional,North,700`;
const day = (iso: string) => Date.parse(iso);

describe('touchTimes', () => {
  const times = (...values: string[]) =>
    touchTimes(parseCsv(['Timestamp', ...values].join('\n') + '\n', 'touches.csv'), 'Timestamp');

  it('reads ISO 8601 dates and date-times, with or without an offset, as UTC instants', () => {
    expect(
      times(
        '2025-10-01',
        '2025-10-01T14:30:00Z',
        '2025-10-01T16:30:00+02:00',
        '2025-10-01 14:30',
        '2025/10/01',
        '2025-10-01T14:30:00.250-0100',
      ),
    ).toEqual([
      day('2025-10-01T00:00:00Z'),
      day('2025-10-01T14:30:00Z'),
      day('2025-10-01T14:30:00Z'),
      day('2025-10-01T14:30:00Z'),
      day('2025-10-01T00:00:00Z'),
      day('2025-10-01T15:30:00.250Z'),
    ]);
  });

  it('reads spreadsheet dates month first, or day first when the column says so', () => {
    expect(
      times('10/1/2025', '9/30/2025', '05/12/14', '1/2/99', '10/1/2025 2:30 PM', '10/1/2025 12:05 AM'),
    ).toEqual([
      day('2025-10-01T00:00:00Z'),
      day('2025-09-30T00:00:00Z'),
      day('2014-05-12T00:00:00Z'),
      day('1999-01-02T00:00:00Z'),
      day('2025-10-01T14:30:00Z'),
      day('2025-10-01T00:05:00Z'),
    ]);
    expect(times('1/10/2025', '30/9/2025')).toEqual([
      day('2025-10-01T00:00:00Z'),
      day('2025-09-30T00:00:00Z'),
    ]);
    expect(() => times('9/30/2025', '', '30/9/2025')).toThrow(
      "touches.csv, line 4, column 'Timestamp': '30/9/2025' reads only day first, but line 2 has '9/30/2025'",
    );
  });

  it('has no time for missing or unreadable values', () => {
    expect(times('NA', 'yesterday', '2025-02-30', '13/13/2025', '2025-10-01T25:00', '1700000000')).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('leadsFromTables', () => {
  let bundle: CampaignModelBundle;
  let scorer: CampaignScorer;

  beforeAll(async () => {
    bundle = await trainModel();
    scorer = await CampaignScorer.create(bundle);
  });
  afterAll(async () => {
    await scorer.close();
  });

  const leads = (...ids: string[]) =>
    parseCsv([leadHeader, ...ids.map(leadRow)].join('\n') + '\n', 'leads.csv');

  it('takes the touch with the latest time as the last one; without times, or on ties, the later row', () => {
    const touches = parseCsv(
      'Lead_Id,Channel,Day_Of_Week,Time_Of_Day,Timestamp,Discount\n' +
        // As text '9/30/2025' sorts after '10/1/2025'; as dates it is the day before.
        'A,Email,Monday,Morning,10/1/2025,1\n' +
        'A,SMS,Friday,Evening,9/30/2025,2\n' +
        // A touch without a time never beats one with a time, before or after it in the file.
        'B,Email,Monday,Morning,1/1/2025,3\n' +
        'B,SMS,Friday,Evening,NA,4\n' +
        'C,SMS,Friday,Evening,,5\n' +
        'C,Email,Monday,Morning,1/1/2025,6\n' +
        'D,Email,Monday,Morning,NA,7\n' +
        'D,SMS,Friday,Evening,NA,8\n' +
        'E,Email,Monday,Morning,1/1/2025,9\n' +
        'E,SMS,Friday,Evening,1/1/2025,10\n',
      'touches.csv',
    );
    const planned = leadsFromTables(bundle.manifest, leads('A', 'B', 'C', 'D', 'E'), touches);
    expect(planned.map((l) => [l.leadId, l.last?.channel, l.context?.Discount])).toEqual([
      ['A', 'Email', '1'],
      ['B', 'Email', '3'],
      ['C', 'Email', '6'],
      ['D', 'SMS', '8'],
      ['E', 'SMS', '10'],
    ]);
  });

  it('blames errors in the last touch on the touch file, its line and its column', async () => {
    const planner = new CampaignPlanner(scorer);
    const leadsTable = leads('A', 'B');
    const touches = parseCsv(
      'Lead_Id,Channel,Day_Of_Week,Time_Of_Day,Discount\n\nA,Email,Monday,Morning,1\nA,Fax,Friday,Evening,2\n',
      't3.csv',
    );
    await expect(planner.plan(leadsFromTables(bundle.manifest, leadsTable, touches))).rejects.toThrow(
      "t3.csv, line 4, column 'Channel': channel 'Fax' was never seen in training",
    );
    const discounts = parseCsv(
      'Lead_Id,Channel,Day_Of_Week,Time_Of_Day,Discount\nA,Email,Monday,Morning,1\n\nB,SMS,Friday,Evening,lots\n',
      'touches.csv',
    );
    await expect(planner.plan(leadsFromTables(bundle.manifest, leadsTable, discounts))).rejects.toThrow(
      "touches.csv, line 4, column 'Discount': 'lots' is not a number",
    );
    // Lead attributes still point at the lead's own row, past blank lines and quoted line breaks.
    const badAge = parseCsv(
      `${leadHeader}\n\n${leadRow('A')}\nB,old,1,"pro\nfessional",North,700\n`,
      'leads.csv',
    );
    await expect(planner.plan(leadsFromTables(bundle.manifest, badAge, discounts))).rejects.toThrow(
      "leads.csv, line 4, column 'Age': 'old' is not a number",
    );
    // A leads file with its own channel/day/time columns is the last touch itself.
    const ownRow = parseCsv(
      `${leadHeader},Contact,Day_Of_Week,Time_Of_Day,Discount\n${leadRow('A')},Email,Monday,Morning,1\n\n` +
        `${leadRow('B')},Pigeon,Monday,Morning,2\n`,
      'contacts.csv',
    );
    const own = leadsFromTables(bundle.manifest, ownRow, undefined, { channel: 'Contact' });
    expect(own[0]!.last).toEqual({ channel: 'Email', dayOfWeek: 'Monday', timeOfDay: 'Morning' });
    await expect(planner.plan(own)).rejects.toThrow(
      "contacts.csv, line 4, column 'Contact': channel 'Pigeon' was never seen in training",
    );
  });

  it('refuses files without a feature column the model was trained with, as score does', () => {
    const renamed = parseCsv(
      'Lead_Id,Age,Annual_Income,Sector,Region,Credit_Score\nA,30,50000,professional,North,700\n',
      'leads.csv',
    );
    expect(() => leadsFromTables(bundle.manifest, renamed)).toThrow(
      "leads.csv, line 1, column 'Segment': missing required column (the model was trained with it)",
    );
    const twoGone = parseCsv('Lead_Id,Age,Annual_Income,Credit_Score\nA,30,50000,700\n', 'leads.csv');
    expect(() => leadsFromTables(bundle.manifest, twoGone)).toThrow(
      "leads.csv, line 1: missing required columns (the model was trained with them): 'Segment', 'Region'",
    );
    const noDiscount = parseCsv(
      'Lead_Id,Channel,Day_Of_Week,Time_Of_Day\nA,SMS,Friday,Evening\n',
      'touches.csv',
    );
    expect(() => leadsFromTables(bundle.manifest, leads('A'), noDiscount)).toThrow(
      "touches.csv, line 1, column 'Discount': missing required column",
    );
    // Without any touch history there is no last touch, so its features are simply unknown.
    expect(leadsFromTables(bundle.manifest, leads('A'))[0]!.last).toBeUndefined();
  });

  it("applies the command's column mapping to both files", () => {
    const leadsTable = parseCsv(
      'Kunde;Age;Annual_Income;Segment;Region;Credit_Score\nA;30;50000;professional;North;700\n',
      'leads.csv',
    );
    const touches = parseCsv(
      'Kunde;Kanal;Day_Of_Week;Time_Of_Day;Wann;Discount\nA;SMS;Friday;Evening;2025-02-01;1\nA;Email;Monday;Morning;2025-01-01;2\n',
      'touches.csv',
    );
    expect(() => leadsFromTables(bundle.manifest, leadsTable, touches)).toThrow(
      'leads need an id to match the touches file',
    );
    const [lead] = leadsFromTables(bundle.manifest, leadsTable, touches, {
      leadId: 'Kunde',
      channel: 'Kanal',
      timestamp: 'Wann',
    });
    expect(lead).toMatchObject({
      leadId: 'A',
      last: { channel: 'SMS', dayOfWeek: 'Friday', timeOfDay: 'Evening' },
      touchOrigin: { source: 'touches.csv', line: 2 },
    });
    expect(() =>
      leadsFromTables(bundle.manifest, leadsTable, touches, { leadId: 'Kunde', channel: 'Medium' }),
    ).toThrow("touches.csv, line 1, column 'Medium': missing required column (mapped to channel)");
  });
});

describe('leadsFromTables with the campaigns and products a model was trained with', () => {
  let bundle: CampaignModelBundle;
  let scorer: CampaignScorer;
  const tables = campaignTables();

  beforeAll(async () => {
    ({ bundle } = await trainSmallCampaignModel(1500, { joined: true }));
    scorer = await CampaignScorer.create(bundle);
  });
  afterAll(async () => {
    await scorer.close();
  });

  const leads = (ids: string[], extra?: { header: string; values: string[] }) =>
    parseCsv(
      [
        extra ? `${leadHeader},${extra.header}` : leadHeader,
        ...ids.map((id, i) => (extra ? `${leadRow(id)},${extra.values[i] ?? ''}` : leadRow(id))),
      ].join('\n') + '\n',
      'leads.csv',
    );
  const touchHeader = 'Lead_Id,Channel,Day_Of_Week,Time_Of_Day,Campaign_Id,Timestamp';
  const touches = (...rows: string[]) => parseCsv([touchHeader, ...rows].join('\n') + '\n', 'touches.csv');
  // A's latest touch is in campaign C4 (product P3), B's in C1 (product P1).
  const history = touches(
    'A,Email,Monday,Morning,C2,2025-01-01',
    'A,SMS,Friday,Evening,C4,2025-02-01',
    'B,SMS,Friday,Evening,C1,2025-01-01',
  );

  it('was trained with campaign and product features', () => {
    expect(bundle.manifest.encoding.features.map((f) => `${f.source}:${f.name}`)).toEqual(
      expect.arrayContaining([
        'campaign:campaign.Category',
        'campaign:campaign.Tenure',
        'product:product.Premium',
        'product:product.Payment_Frequency',
      ]),
    );
  });

  it("plans each lead with its latest touch's campaign and that campaign's product, scored as score scores it", async () => {
    const planned = leadsFromTables(bundle.manifest, leads(['A', 'B']), history, {}, tables);
    expect(planned[0]!.context).toMatchObject({
      'campaign.Category': 'Cross Sell',
      'campaign.Tenure': '4',
      'product.Premium': '90',
      'product.Payment_Frequency': 'Monthly',
    });
    expect(planned[1]!.context).toMatchObject({
      'campaign.Category': 'Acquisition',
      'product.Premium': '1200',
    });
    const plans = await new CampaignPlanner(scorer).plan(planned);
    expect(plans.map((p) => [p.leadId, p.best !== null, p.last?.channel])).toEqual([
      ['A', true, 'SMS'],
      ['B', true, 'SMS'],
    ]);
    // The last touch scores as `campaign score` scores that touch row: the same features, joined alike.
    const frame = buildTouchFrame(
      { touches: history, leads: leads(['A', 'B']), ...tables },
      {
        mapping: {},
        preferred: bundle.manifest.mapping,
        requireTarget: false,
        features: bundle.manifest.encoding.features,
      },
    );
    const scored = await scorer.score(encodeFrame(bundle.manifest.encoding, frame), frame.rowCount);
    expect(plans[0]!.last!.probability).toBeCloseTo(scored[1]!, 6);
    expect(plans[1]!.last!.probability).toBeCloseTo(scored[2]!, 6);
  });

  it("takes the campaign and product a lead's row names over those of its touches", () => {
    // A is planned in C3, so with C3's product (P1), not with its last touch's (C4, P3); B's row is empty.
    const byCampaign = leadsFromTables(
      bundle.manifest,
      leads(['A', 'B'], { header: 'Campaign_Id', values: ['C3', ''] }),
      history,
      {},
      tables,
    );
    expect(byCampaign.map((l) => [l.context?.['campaign.Tenure'], l.context?.['product.Premium']])).toEqual([
      ['3', '1200'],
      ['1', '1200'],
    ]);
    const byProduct = leadsFromTables(
      bundle.manifest,
      leads(['A', 'B'], { header: 'Campaign_Id,Product_Id', values: ['C3,P2', 'C1,P1'] }),
      history,
      {},
      tables,
    );
    expect(byProduct[0]!.context).toMatchObject({ 'campaign.Tenure': '3', 'product.Premium': '600' });
    // Without a touch history the leads file alone names them.
    const alone = leadsFromTables(
      bundle.manifest,
      leads(['A'], { header: 'Campaign_Id', values: ['C2'] }),
      undefined,
      {},
      tables,
    );
    expect(alone[0]!.context).toMatchObject({ 'campaign.Category': 'Retention', 'product.Premium': '600' });
  });

  it('refuses up front, naming the table, when the campaigns or products file is not given', () => {
    expect(() => leadsFromTables(bundle.manifest, leads(['A']), history)).toThrow(MissingTableError);
    expect(() =>
      leadsFromTables(bundle.manifest, leads(['A']), history, {}, { products: tables.products }),
    ).toThrow(
      'no campaigns file: the model was trained with campaign features (campaign.Category, campaign.Tenure)',
    );
    expect(() =>
      leadsFromTables(bundle.manifest, leads(['A']), history, {}, { campaigns: tables.campaigns }),
    ).toThrow(
      'no products file: the model was trained with product features (product.Premium, product.Payment_Frequency)',
    );
    // Checked before any file is read.
    expect(() => requirePlanTables(bundle.manifest, { campaigns: 'campaigns.csv' })).toThrow(
      expect.objectContaining({ table: 'products' }) as Error,
    );
    expect(() => requirePlanTables(bundle.manifest, tables)).not.toThrow();
  });

  it('names the file, line and column of an id in no table, and of a lead without one', async () => {
    const plan = (
      leadsTable = leads(['A', 'B']),
      touchTable = history,
      joined: Partial<typeof tables> = tables,
      overrides = {},
    ) => leadsFromTables(bundle.manifest, leadsTable, touchTable, overrides, joined);
    expect(() =>
      plan(undefined, touches('B,SMS,Friday,Evening,C1,2025-01-01', 'A,SMS,Friday,Evening,C9,2025-02-01')),
    ).toThrow(
      "touches.csv, line 3, column 'Campaign_Id': campaign 'C9' appears in no campaign file (campaigns.csv)",
    );
    expect(() => plan(leads(['A', 'B'], { header: 'Campaign_Id', values: ['', 'C7'] }))).toThrow(
      "leads.csv, line 3, column 'Campaign_Id': campaign 'C7' appears in no campaign file (campaigns.csv)",
    );
    const noP3 = {
      ...tables,
      products: parseCsv('Product_Id,Premium,Payment_Frequency\nP1,1,M\nP2,2,Y\n', 'p.csv'),
    };
    expect(() => plan(undefined, undefined, noP3)).toThrow(
      "campaigns.csv, line 5, column 'Product_Id': product 'P3' appears in no product file (p.csv)",
    );
    expect(() => plan(leads(['A', 'B', 'Z']))).toThrow(
      "leads.csv, line 4: lead 'Z' has no campaign id (the model was trained with campaign features): " +
        'its row in leads.csv names none and it has no touch in touches.csv',
    );
    expect(() =>
      plan(undefined, touches('A,SMS,Friday,Evening,C1,2025-01-01', 'B,SMS,Friday,Evening,NA,')),
    ).toThrow(
      "touches.csv, line 3, column 'Campaign_Id': lead 'B' has no campaign id (the model was trained with " +
        'campaign features): neither its row in leads.csv nor its latest touch names one',
    );
    expect(() => leadsFromTables(bundle.manifest, leads(['A']), undefined, {}, tables)).toThrow(
      "leads.csv, line 1, column 'campaignId': missing required column: the model was trained with campaign " +
        'features, so each lead needs a campaign id (e.g. Campaign_Id), in this file',
    );
    const noTenure = parseCsv('Campaign_Id,Category,Product_Id\nC1,Acquisition,P1\n', 'campaigns.csv');
    expect(() => plan(undefined, undefined, { ...tables, campaigns: noTenure })).toThrow(
      "campaigns.csv, line 1, column 'Tenure': missing required column (the model was trained with it)",
    );
    // A joined value is blamed on its own row, as touch values are.
    const badTenure = parseCsv(
      campaignsCsv.replace('C1,Acquisition,1', 'C1,Acquisition,one'),
      'campaigns.csv',
    );
    await expect(
      new CampaignPlanner(scorer).plan(plan(undefined, undefined, { ...tables, campaigns: badTenure })),
    ).rejects.toThrow("campaigns.csv, line 2, column 'Tenure': 'one' is not a number");
  });

  it("applies the command's campaign and product id mapping to every file", () => {
    const renamed = {
      campaigns: parseCsv(campaignsCsv.replace('Campaign_Id', 'Kampagne'), 'campaigns.csv'),
      products: tables.products,
    };
    const [lead] = leadsFromTables(
      bundle.manifest,
      leads(['A', 'B'], { header: 'Kampagne', values: ['C2', 'C1'] }),
      history,
      { campaignId: 'Kampagne' },
      renamed,
    );
    expect(lead!.context).toMatchObject({ 'campaign.Category': 'Retention', 'product.Premium': '600' });
    expect(() =>
      leadsFromTables(bundle.manifest, leads(['A', 'B']), history, { campaignId: 'Kampagne' }, renamed),
    ).toThrow(
      "leads.csv, line 1, column 'Kampagne': missing required column (mapped to campaignId); neither this file nor touches.csv has it",
    );
  });

  it('finds products through the campaigns file only when no file names them', async () => {
    // A model with product features only: the campaigns' own columns are left out.
    const data = generateCampaignData({ leads: 600, touchesPerLead: 4, seed: 8 });
    const frame = buildTouchFrame(
      { touches: data.touchTable, leads: data.leadTable, ...tables },
      { mapping: {}, requireTarget: true, exclude: ['campaign.Category', 'campaign.Tenure'] },
    );
    const { bundle: productOnly } = await trainCampaignModel(frame, {
      ...defaultTrainOptions,
      gbdt: { ...defaultGbdtOptions, maxIterations: 5 },
      holdoutFraction: 0,
      refit: false,
    });
    expect(new Set(productOnly.manifest.encoding.features.map((f) => f.source))).toEqual(
      new Set(['lead', 'product']),
    );
    const ab = leads(['A', 'B']);
    expect(() =>
      leadsFromTables(productOnly.manifest, ab, history, {}, { products: tables.products }),
    ).toThrow(
      'no campaigns file: the model was trained with product features and neither leads.csv nor touches.csv ' +
        "has a product id column, so each campaign's product is needed",
    );
    expect(
      leadsFromTables(productOnly.manifest, ab, history, {}, tables).map(
        (l) => l.context?.['product.Premium'],
      ),
    ).toEqual(['90', '1200']);
    const named = parseCsv(
      'Lead_Id,Channel,Day_Of_Week,Time_Of_Day,Product_Id\nA,SMS,Friday,Evening,P2\nB,SMS,Friday,Evening,P3\n',
      'touches.csv',
    );
    expect(
      leadsFromTables(productOnly.manifest, ab, named, {}, { products: tables.products }).map(
        (l) => l.context?.['product.Premium'],
      ),
    ).toEqual(['600', '90']);
    const noProduct = parseCsv('Campaign_Id,Category\nC1,x\nC2,y\nC3,z\nC4,w\n', 'c.csv');
    expect(() =>
      leadsFromTables(productOnly.manifest, ab, history, {}, { ...tables, campaigns: noProduct }),
    ).toThrow(
      "c.csv, line 1, column 'productId': missing required column: the model was trained with product",
    );
    // Whether products come through the campaigns is a matter of columns: a file without leads is fine.
    expect(leadsFromTables(productOnly.manifest, leads([]), touches(), {}, tables)).toEqual([]);
    expect(() =>
      leadsFromTables(productOnly.manifest, leads([]), touches(), {}, { ...tables, campaigns: noProduct }),
    ).toThrow("c.csv, line 1, column 'productId': missing required column");

    // The campaigns file is used for the products, not said to be unused; it is once every lead names its product.
    const unused: string[] = [];
    const notes = { unused: (table: string, why: string) => unused.push(`${table}: ${why}`) };
    leadsFromTables(productOnly.manifest, ab, history, {}, tables, notes);
    expect(unused).toEqual([]);
    leadsFromTables(productOnly.manifest, ab, named, {}, tables, notes);
    expect(unused).toEqual([
      'campaigns: the model has no campaign features, and every lead has its product from its row or its latest touch',
    ]);
  });

  it('tells which tables given no plan reads', async () => {
    const { bundle: plain } = await trainSmallCampaignModel(600);
    const unused: string[] = [];
    leadsFromTables(plain.manifest, leads(['A']), undefined, {}, tables, {
      unused: (table, why) => unused.push(`${table}: ${why}`),
    });
    expect(unused).toEqual([
      'campaigns: the model has no campaign features',
      'products: the model has no product features',
    ]);
  });
});
