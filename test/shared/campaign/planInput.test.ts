import { CampaignModelBundle } from '../../../shared/campaign/bundle';
import { parseCsv } from '../../../shared/campaign/csv';
import { buildTouchFrame } from '../../../shared/campaign/dataset';
import { CampaignPlanner } from '../../../shared/campaign/planner';
import { leadsFromTables, touchTimes } from '../../../shared/campaign/planInput';
import { CampaignScorer } from '../../../shared/campaign/scorer';
import { defaultGbdtOptions } from '../../../models/campaign/gbdt';
import { generateCampaignData } from '../../../models/campaign/generator';
import { defaultTrainOptions, trainCampaignModel } from '../../../models/campaign/train';

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
