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
