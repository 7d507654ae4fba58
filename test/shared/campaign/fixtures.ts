import { CampaignModelBundle } from '../../../shared/campaign/bundle';
import { buildTouchFrame } from '../../../shared/campaign/dataset';
import { defaultGbdtOptions } from '../../../models/campaign/gbdt';
import { SyntheticCampaignData, generateCampaignData } from '../../../models/campaign/generator';
import { defaultTrainOptions, trainCampaignModel } from '../../../models/campaign/train';

/**
 * A small model on synthetic leads, quick to train, for tests of code that consumes a bundle. With
 * `discount`, the touches carry a numeric `Discount` column, so the model has a touch-level feature that
 * requests supply through `context`.
 */
export async function trainSmallCampaignModel(
  leads = 4000,
  options: { discount?: boolean } = {},
): Promise<{ bundle: CampaignModelBundle; data: SyntheticCampaignData }> {
  const data = generateCampaignData({ leads, touchesPerLead: 5, seed: 3 });
  const touches = options.discount
    ? {
        ...data.touchTable,
        header: [...data.touchTable.header, 'Discount'],
        rows: data.touchTable.rows.map((row, i) => [...row, String((i * 7) % 30)]),
      }
    : data.touchTable;
  const frame = buildTouchFrame({ touches, leads: data.leadTable }, { mapping: {}, requireTarget: true });
  const { bundle } = await trainCampaignModel(frame, {
    ...defaultTrainOptions,
    gbdt: { ...defaultGbdtOptions, learningRate: 0.1, maxIterations: 80 },
    refit: false,
  });
  return { bundle, data };
}
