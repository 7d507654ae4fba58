import { CsvTable, parseCsv } from '../../../shared/campaign/csv';
import { buildTouchFrame, looksLikeIdentifier } from '../../../shared/campaign/dataset';
import { encodeFrame, fitEncoding } from '../../../shared/campaign/encoding';

const csv = (source: string, text: string): CsvTable => parseCsv(text, source);

/** Microsoft's campaign-optimization tables, a few rows each, with their column names. */
const leadDemography = csv(
  'Lead_Demography.csv',
  'Lead_Id,Age,Phone_No,Annual_Income,Credit_Score,Country,State,No_Of_Dependents,Highest_Education,Ethnicity,No_Of_Children,Household_Size,Gender,Marital_Status\n' +
    'L1,35,555-0101,70000,700,US,WA,1,Bachelors,A,1,3,F,Married\n' +
    'L2,62,555-0102,,650,US,OR,0,High School,B,2,2,M,Single\n',
);
const marketTouchdown = csv(
  'Market_Touchdown.csv',
  'Lead_Id,Channel,Time_Of_Day,Day_Of_Week,Campaign_Id,Conversion_Flag,Source,Comm_Id,Time_Stamp\n' +
    'L1,Email,Morning,2,C1,1,Inbound,1,2017-01-02\n' +
    'L1,SMS,Evening,5,C2,0,Inbound,2,2017-01-09\n' +
    'L2,Cold Calling,Afternoon,3,C1,0,Outbound,3,2017-01-04\n',
);
const campaignDetail = csv(
  'Campaign_Detail.csv',
  'Campaign_Id,Campaign_Name,Category,Launch_Date,Sub_Category,Campaign_Drivers,Product_Id,Call_For_Action,Focused_Geography,Tenure_Of_Campaign\n' +
    'C1,Above all,Acquisition,2017-01-01,Branding,Discount,P1,Buy,Nation Wide,1\n' +
    'C2,Together,Retention,2017-01-05,Cross Sell,Value,P2,Sign up,State,2\n',
);
const product = csv(
  'Product.csv',
  'Product_Id,Product,Category,Term,No_of_people_covered,Premium,Payment_frequency,Net_Amt_Insured,Amt_on_Maturity,Amt_on_Maturity_Bin\n' +
    'P1,Life,Insurance,10,2,1200,Monthly,100000,150000,High\n' +
    'P2,Auto,Insurance,1,1,600,Yearly,20000,0,Low\n',
);

describe('buildTouchFrame', () => {
  it("loads Microsoft's sample layout: joins leads, campaigns and products, skips ids and timestamps", () => {
    const frame = buildTouchFrame(
      { touches: marketTouchdown, leads: leadDemography, campaigns: campaignDetail, products: product },
      { mapping: {}, requireTarget: true },
    );
    expect(frame.rowCount).toBe(3);
    expect(frame.dimensions.channel).toEqual(['Email', 'SMS', 'Cold Calling']);
    expect(frame.dimensions.dayOfWeek).toEqual(['2', '5', '3']);
    expect(frame.dimensions.timeOfDay).toEqual(['Morning', 'Evening', 'Afternoon']);
    expect(Array.from(frame.converted!)).toEqual([1, 0, 0]);
    const names = frame.features.map((f) => f.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'Age',
        'Annual_Income',
        'Highest_Education',
        'Source',
        'campaign.Category',
        'product.Premium',
      ]),
    );
    expect(names).not.toEqual(expect.arrayContaining(['Phone_No']));
    for (const skipped of [
      'Lead_Id',
      'Comm_Id',
      'Time_Stamp',
      'Campaign_Id',
      'campaign.Product_Id',
      'Channel',
    ]) {
      expect(names).not.toContain(skipped);
    }
    const income = frame.columns.get('Annual_Income')!;
    expect(income.kind).toBe('numeric');
    expect(Number.isNaN((income.values as Float64Array)[2]!)).toBe(true);
    expect(frame.columns.get('product.Premium')!.values).toEqual(Float64Array.from([1200, 600, 1200]));
  });

  it('reads a one-row-per-contact table (UCI bank marketing) through aliases: contact, day_of_week, y', () => {
    const bank = csv(
      'bank.csv',
      '"age";"job";"contact";"month";"day_of_week";"pdays";"y"\n' +
        '56;"housemaid";"telephone";"may";"mon";999;"no"\n' +
        '41;"unknown";"cellular";"may";"tue";3;"yes"\n',
    );
    const frame = buildTouchFrame({ touches: bank }, { mapping: {}, requireTarget: true });
    expect(frame.dimensions.channel).toEqual(['telephone', 'cellular']);
    expect(frame.dimensions.dayOfWeek).toEqual(['mon', 'tue']);
    expect(frame.dimensions.timeOfDay).toBeUndefined();
    expect(Array.from(frame.converted!)).toEqual([0, 1]);
    expect(frame.features.map((f) => `${f.name}:${f.kind}`)).toEqual([
      'age:numeric',
      'job:categorical',
      'month:categorical',
      'pdays:numeric',
    ]);
    expect(frame.leadIds).toEqual(['row-2', 'row-3']);
  });

  it('uses an explicit mapping and declared types', () => {
    const touches = csv('t.csv', 'client,medium,outcome,zip\nA,email,true,98052\nB,sms,false,10001\n');
    const frame = buildTouchFrame(
      { touches },
      {
        mapping: { leadId: 'client', channel: 'medium', converted: 'outcome' },
        types: { zip: 'categorical' },
        requireTarget: true,
      },
    );
    expect(frame.leadIds).toEqual(['A', 'B']);
    expect(frame.features).toEqual([{ name: 'zip', source: 'touch', column: 'zip', kind: 'categorical' }]);
  });

  it('names file, line and column for bad input', () => {
    const noChannel = csv('touches.csv', 'Lead_Id,Converted\nL1,1\n');
    expect(() => buildTouchFrame({ touches: noChannel }, { mapping: {}, requireTarget: true })).toThrow(
      "touches.csv, line 1, column 'channel': missing required column",
    );
    const badOutcome = csv('touches.csv', 'Lead_Id,Channel,Converted\nL1,Email,1\nL2,SMS,maybe\n');
    expect(() => buildTouchFrame({ touches: badOutcome }, { mapping: {}, requireTarget: true })).toThrow(
      "touches.csv, line 3, column 'Converted': 'maybe' is not an outcome",
    );
    const unknownLead = csv('touches.csv', 'Lead_Id,Channel,Converted\nL1,Email,1\nL9,SMS,0\n');
    expect(() =>
      buildTouchFrame({ touches: unknownLead, leads: leadDemography }, { mapping: {}, requireTarget: true }),
    ).toThrow(
      "touches.csv, line 3, column 'Lead_Id': lead 'L9' appears in no lead file (Lead_Demography.csv)",
    );
    const wrongType = csv('touches.csv', 'Lead_Id,Channel,Converted,Spend\nL1,Email,1,12.5\nL2,SMS,0,lots\n');
    expect(() =>
      buildTouchFrame(
        { touches: wrongType },
        { mapping: {}, requireTarget: true, types: { Spend: 'numeric' } },
      ),
    ).toThrow("touches.csv, line 3, column 'Spend': 'lots' is not a number");
    expect(() =>
      buildTouchFrame({ touches: wrongType }, { mapping: { channel: 'Medium' }, requireTarget: true }),
    ).toThrow("touches.csv, line 1, column 'Medium': missing required column");
  });

  it('names the physical line after blank lines and quoted line breaks, in every file', () => {
    const touches = csv(
      'touches.csv',
      'Lead_Id,Channel,Converted,Note\n\nL1,Email,1,"multi\nline"\nL2,SMS,maybe,x\n',
    );
    expect(() => buildTouchFrame({ touches }, { mapping: {}, requireTarget: true })).toThrow(
      "touches.csv, line 5, column 'Converted': 'maybe' is not an outcome",
    );
    const good = csv('touches.csv', 'Lead_Id,Channel,Converted\n\nL1,Email,1\n\nL3,SMS,0\n');
    expect(
      Array.from(buildTouchFrame({ touches: good }, { mapping: {}, requireTarget: false }).lines),
    ).toEqual([3, 5]);
    expect(() =>
      buildTouchFrame({ touches: good, leads: leadDemography }, { mapping: {}, requireTarget: true }),
    ).toThrow("touches.csv, line 5, column 'Lead_Id': lead 'L3' appears in no lead file");
    const leads = csv('leads.csv', 'Lead_Id,Note,Age\nL1,"a\nb",3\n\nL3,x,old\n');
    expect(() =>
      buildTouchFrame(
        { touches: good, leads },
        { mapping: {}, requireTarget: true, types: { Age: 'numeric' } },
      ),
    ).toThrow("leads.csv, line 5, column 'Age': 'old' is not a number");
    const twice = csv('leads.csv', 'Lead_Id,Age\nL1,3\n\nL1,4\n');
    expect(() =>
      buildTouchFrame({ touches: good, leads: twice }, { mapping: {}, requireTarget: true }),
    ).toThrow("leads.csv, line 4, column 'Lead_Id': id 'L1' appears twice");
    // Without a lead column each row is its own lead, named after its line.
    const anonymous = csv('bank.csv', 'channel,y\n\ncellular,yes\ntelephone,no\n');
    expect(buildTouchFrame({ touches: anonymous }, { mapping: {}, requireTarget: true }).leadIds).toEqual([
      'row-3',
      'row-4',
    ]);
  });
});

describe('encoding', () => {
  const training = csv(
    'train.csv',
    'Lead_Id,Channel,Converted,Segment,Spend\n' +
      Array.from(
        { length: 40 },
        (_, i) => `L${i},${i % 2 ? 'Email' : 'SMS'},${i % 4 === 0 ? 1 : 0},${i % 3 ? 'a' : 'b'},${i}`,
      ).join('\n') +
      '\nL99,SMS,0,rare,\n',
  );
  const frame = buildTouchFrame({ touches: training }, { mapping: {}, requireTarget: true });
  const spec = fitEncoding(frame);

  it('orders categories by response rate, pools rare and unseen ones, and keeps missing numbers as NaN', () => {
    const segment = spec.inputs.find((i) => i.name === 'Segment')!.encoding;
    if (segment.kind !== 'categorical') throw new Error('Segment should be categorical');
    expect(Object.keys(segment.codes).sort()).toEqual(['a', 'b']);
    const scoring = csv('score.csv', 'Lead_Id,Channel,Segment,Spend\nX,Email,never-seen,\nY,SMS,rare,3\n');
    const scored = buildTouchFrame(
      { touches: scoring },
      { mapping: {}, requireTarget: false, features: spec.features },
    );
    const matrix = encodeFrame(spec, scored);
    const width = spec.inputs.length;
    const segmentColumn = spec.inputs.findIndex((i) => i.name === 'Segment');
    expect(matrix[segmentColumn]).toBe(segment.otherCode);
    expect(matrix[width + segmentColumn]).toBe(segment.otherCode);
    expect(Number.isNaN(matrix[spec.inputs.findIndex((i) => i.name === 'Spend')]!)).toBe(true);
  });

  it('refuses a channel that training never saw, naming the line', () => {
    const scoring = csv('score.csv', 'Lead_Id,Channel,Segment,Spend\nX,Email,a,1\nY,Fax,a,2\n');
    const scored = buildTouchFrame(
      { touches: scoring },
      { mapping: {}, requireTarget: false, features: spec.features },
    );
    expect(() => encodeFrame(spec, scored)).toThrow(
      "score.csv, line 3, column 'channel': channel 'Fax' was never seen in training",
    );
  });
});

describe('looksLikeIdentifier', () => {
  it('recognises id and phone columns but not words that end in "id"', () => {
    for (const name of ['Comm_Id', 'lead id', 'customerId', 'ID', 'Phone_No', 'email_address']) {
      expect(looksLikeIdentifier(name)).toBe(true);
    }
    for (const name of ['paid', 'Valid', 'humid_days', 'Age', 'Channel'])
      expect(looksLikeIdentifier(name)).toBe(false);
  });
});
