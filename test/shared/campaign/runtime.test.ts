import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CampaignModelBundle, writeBundle } from '../../../shared/campaign/bundle';
import { loadCampaignServing } from '../../../shared/campaign/runtime';
import { trainSmallCampaignModel } from './fixtures';

describe('loadCampaignServing', () => {
  let bundle: CampaignModelBundle;
  let dir: string;

  beforeAll(async () => {
    ({ bundle } = await trainSmallCampaignModel(1500));
    dir = await mkdtemp(join(tmpdir(), 'campaign-serving-'));
    await writeBundle(join(dir, 'model'), bundle);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const constraintsFile = async (name: string, json: unknown) => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(json));
    return path;
  };

  it('loads the model with default constraints that fit it', async () => {
    const constraintsPath = await constraintsFile('ok.json', { allowed: { channel: ['Email', 'SMS'] } });
    const serving = await loadCampaignServing({ modelDir: join(dir, 'model'), constraintsPath });
    try {
      expect(serving.constraints).toEqual({ allowed: { channel: ['Email', 'SMS'] } });
      expect(serving.scorer.manifest.version).toBe(bundle.manifest.version);
    } finally {
      await serving.scorer.close();
    }
  });

  it('fails naming the setting and the file when the default constraints hold a value the model never saw', async () => {
    const constraintsPath = await constraintsFile('bad.json', { exclude: [{ channel: 'Pigeon' }] });
    await expect(loadCampaignServing({ modelDir: join(dir, 'model'), constraintsPath })).rejects.toThrow(
      `setting CAMPAIGN_CONSTRAINTS_PATH: does not fit the model in ${join(dir, 'model')}: ${constraintsPath}, column 'exclude[0].channel': channel 'Pigeon' was never seen in training`,
    );
    const unreadable = join(dir, 'missing.json');
    await expect(
      loadCampaignServing({ modelDir: join(dir, 'model'), constraintsPath: unreadable }),
    ).rejects.toThrow(`setting CAMPAIGN_CONSTRAINTS_PATH: ${unreadable}: cannot be read`);
  });
});
