import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CampaignModelBundle } from '../../../shared/campaign/bundle';
import { CsvTable, parseCsv } from '../../../shared/campaign/csv';
import { buildTouchFrame } from '../../../shared/campaign/dataset';
import { defaultGbdtOptions } from '../../../models/campaign/gbdt';
import { SyntheticCampaignData, generateCampaignData } from '../../../models/campaign/generator';
import { defaultTrainOptions, trainCampaignModel } from '../../../models/campaign/train';

/**
 * Campaigns and products for the synthetic touches (whose Campaign_Id is C1…C4), laid out like Microsoft's
 * Campaign_Detail and Product tables: the campaign names its product.
 */
export const campaignsCsv =
  'Campaign_Id,Category,Tenure,Product_Id\nC1,Acquisition,1,P1\nC2,Retention,2,P2\nC3,Acquisition,3,P1\nC4,Cross Sell,4,P3\n';
export const productsCsv =
  'Product_Id,Premium,Payment_Frequency\nP1,1200,Monthly\nP2,600,Yearly\nP3,90,Monthly\n';

/** The lead attributes of the synthetic data (models/campaign/generator.ts), one lead's worth. */
export const exampleLeadAttributes = {
  Age: 30,
  Annual_Income: 50000,
  Segment: 'student',
  Region: 'North',
  Credit_Score: 700,
};

/**
 * The batch run's files in `dir` as a German export would have them (';'-separated; lead, channel,
 * timestamp and campaign columns renamed), and the settings that map them. `leadsCsv` replaces the
 * leads file, e.g. to name each lead's campaign.
 */
export async function writeMappedBatchFiles(
  dir: string,
  leadsCsv = 'Kunde;Age;Annual_Income;Segment;Region;Credit_Score\nK1;37;54072;professional;West;537\nK2;55;72199;retired;North;693\n',
): Promise<Record<string, string>> {
  const semicolons = (text: string) => text.replaceAll(',', ';');
  await writeFile(join(dir, 'leads.csv'), leadsCsv);
  await writeFile(
    join(dir, 'touches.csv'),
    'Kunde;Kanal;Day_Of_Week;Time_Of_Day;Wann;Kampagne\n' +
      'K1;Email;Monday;Morning;2025-01-02;C4\nK1;SMS;Friday;Evening;2025-01-01;C1\nK2;SMS;Friday;Evening;2025-01-05;C2\n',
  );
  await writeFile(join(dir, 'campaigns.csv'), semicolons(campaignsCsv.replace('Campaign_Id', 'Kampagne')));
  await writeFile(join(dir, 'products.csv'), semicolons(productsCsv));
  return {
    CAMPAIGN_BATCH_LEADS_PATH: join(dir, 'leads.csv'),
    CAMPAIGN_BATCH_TOUCHES_PATH: join(dir, 'touches.csv'),
    CAMPAIGN_BATCH_CAMPAIGNS_PATH: join(dir, 'campaigns.csv'),
    CAMPAIGN_BATCH_PRODUCTS_PATH: join(dir, 'products.csv'),
    CAMPAIGN_BATCH_LEAD_ID_COLUMN: 'Kunde',
    CAMPAIGN_BATCH_CHANNEL_COLUMN: 'Kanal',
    CAMPAIGN_BATCH_TIMESTAMP_COLUMN: 'Wann',
    CAMPAIGN_BATCH_CAMPAIGN_ID_COLUMN: 'Kampagne',
    CAMPAIGN_BATCH_DELIMITER: ';',
  };
}

export function campaignTables(): { campaigns: CsvTable; products: CsvTable } {
  return {
    campaigns: parseCsv(campaignsCsv, 'campaigns.csv'),
    products: parseCsv(productsCsv, 'products.csv'),
  };
}

/**
 * A small model on synthetic leads, quick to train, for tests of code that consumes a bundle. With
 * `discount`, the touches carry a numeric `Discount` column, so the model has a touch-level feature that
 * requests supply through `context`. With `joined`, it is trained with the campaigns and products tables
 * above (features campaign.Category, campaign.Tenure, product.Premium, product.Payment_Frequency).
 */
export async function trainSmallCampaignModel(
  leads = 4000,
  options: { discount?: boolean; joined?: boolean } = {},
): Promise<{ bundle: CampaignModelBundle; data: SyntheticCampaignData }> {
  const data = generateCampaignData({ leads, touchesPerLead: 5, seed: 3 });
  const touches = options.discount
    ? {
        ...data.touchTable,
        header: [...data.touchTable.header, 'Discount'],
        rows: data.touchTable.rows.map((row, i) => [...row, String((i * 7) % 30)]),
      }
    : data.touchTable;
  const frame = buildTouchFrame(
    { touches, leads: data.leadTable, ...(options.joined ? campaignTables() : {}) },
    { mapping: {}, requireTarget: true },
  );
  const { bundle } = await trainCampaignModel(frame, {
    ...defaultTrainOptions,
    gbdt: { ...defaultGbdtOptions, learningRate: 0.1, maxIterations: 80 },
    refit: false,
  });
  return { bundle, data };
}
