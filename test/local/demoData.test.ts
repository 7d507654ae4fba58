import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { trainDemoCampaignModel, wantsDemoCampaignModel } from '../../local/demoData';
import { readBundle } from '../../shared/campaign/bundle';
import { CampaignPlanner } from '../../shared/campaign/planner';
import { CampaignScorer } from '../../shared/campaign/scorer';
import { temporaryDirectory } from '../support/temporaryDirectory';
import { exampleLeadAttributes } from '../shared/campaign/fixtures';

// The demo data imports the runtime clients, and with them @azure/functions, which warns outside the host.
jest.spyOn(console, 'warn').mockImplementation(() => undefined);

describe('the demo campaign model of npm start', () => {
  it('is trained when CAMPAIGN_MODEL_DIR is the default (unset or set to it) with no model there', async () => {
    const cwd = temporaryDirectory('nextoffer-demo-cwd-');
    expect(wantsDemoCampaignModel({}, cwd)).toBe(true);
    expect(wantsDemoCampaignModel({ CAMPAIGN_MODEL_DIR: ' ' }, cwd)).toBe(true);
    expect(wantsDemoCampaignModel({ CAMPAIGN_MODEL_DIR: 'campaign-model' }, cwd)).toBe(true);
    expect(wantsDemoCampaignModel({ CAMPAIGN_MODEL_DIR: join(cwd, 'campaign-model') }, cwd)).toBe(true);
    // A directory of the developer's own is served as it is, even without a model in it.
    expect(wantsDemoCampaignModel({ CAMPAIGN_MODEL_DIR: 'my-model' }, cwd)).toBe(false);
    await mkdir(join(cwd, 'campaign-model'));
    await writeFile(join(cwd, 'campaign-model', 'campaign-model.json'), '{}');
    expect(wantsDemoCampaignModel({ CAMPAIGN_MODEL_DIR: 'campaign-model' }, cwd)).toBe(false);
    // Unset is the default directory too, as the functions read it: its model is served.
    expect(wantsDemoCampaignModel({}, cwd)).toBe(false);
  });

  it('trains in a few seconds into a temporary directory that remove() deletes', async () => {
    const logs: string[] = [];
    const started = Date.now();
    const model = await trainDemoCampaignModel((line) => logs.push(line));
    try {
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(logs.join('\n')).toMatch(
        /^demo: trained campaign model \S+ on \d+ synthetic touches of 3000 leads/,
      );
      const bundle = await readBundle(model.dir);
      expect(bundle.manifest.version).toBe(model.version);
      expect(bundle.manifest.encoding.features.map((f) => f.name).sort()).toEqual([
        'Age',
        'Annual_Income',
        'Credit_Score',
        'Region',
        'Segment',
      ]);
      const scorer = await CampaignScorer.create(bundle);
      try {
        const [plan] = await new CampaignPlanner(scorer, {}).plan([
          {
            leadId: 'L1',
            attributes: exampleLeadAttributes,
          },
        ]);
        expect(plan!.best?.probability).toBeGreaterThan(0);
      } finally {
        await scorer.close();
      }
    } finally {
      await model.remove();
    }
    expect(existsSync(model.dir)).toBe(false);
  });
});
