import { CampaignModelBundle } from '../../../shared/campaign/bundle';
import { buildTouchFrame } from '../../../shared/campaign/dataset';
import { defaultGbdtOptions } from '../../../models/campaign/gbdt';
import { SyntheticCampaignData, generateCampaignData } from '../../../models/campaign/generator';
import { defaultTrainOptions, trainCampaignModel } from '../../../models/campaign/train';

/** A small model on synthetic leads, quick to train, for tests of code that consumes a bundle. */
export async function trainSmallCampaignModel(
  leads = 4000,
): Promise<{ bundle: CampaignModelBundle; data: SyntheticCampaignData }> {
  const data = generateCampaignData({ leads, touchesPerLead: 5, seed: 3 });
  const frame = buildTouchFrame(
    { touches: data.touchTable, leads: data.leadTable },
    { mapping: {}, requireTarget: true },
  );
  const { bundle } = await trainCampaignModel(frame, {
    ...defaultTrainOptions,
    gbdt: { ...defaultGbdtOptions, learningRate: 0.1, maxIterations: 80 },
    refit: false,
  });
  return { bundle, data };
}
