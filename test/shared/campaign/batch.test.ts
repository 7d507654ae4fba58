import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BATCH_LEADS_LIMITS, loadBatchLeads } from '../../../shared/campaign/batch';
import { CampaignModelBundle } from '../../../shared/campaign/bundle';
import { ConfigurationError, parseCampaignSettings } from '../../../shared/config/settings';
import { trainSmallCampaignModel, writeMappedBatchFiles } from './fixtures';

/** The campaignBatchPlan timer's input, read from its settings (files, column mapping, delimiter). */

describe('loadBatchLeads', () => {
  let bundle: CampaignModelBundle;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ bundle } = await trainSmallCampaignModel(1500, { joined: true }));
    dir = await mkdtemp(join(tmpdir(), 'campaign-batch-'));
    // ';'-separated, with renamed lead, channel, timestamp and campaign columns.
    env = await writeMappedBatchFiles(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the files with its settings' column mapping and delimiter, joining campaigns and products", async () => {
    const leads = await loadBatchLeads(bundle.manifest, parseCampaignSettings(env));
    expect(leads.map((l) => [l.leadId, l.last?.channel, l.context?.['campaign.Category']])).toEqual([
      ['K1', 'Email', 'Cross Sell'],
      ['K2', 'SMS', 'Retention'],
    ]);
    expect(leads[0]!.context).toMatchObject({ 'campaign.Tenure': '4', 'product.Premium': '90' });
  });

  it('fails naming the setting to set when the model needs a table the settings do not give', async () => {
    const without = (name: string) => parseCampaignSettings({ ...env, [name]: '' });
    await expect(loadBatchLeads(bundle.manifest, without('CAMPAIGN_BATCH_PRODUCTS_PATH'))).rejects.toThrow(
      'setting CAMPAIGN_BATCH_PRODUCTS_PATH: missing: the model was trained with product features (product.Premium, product.Payment_Frequency)',
    );
    const { CAMPAIGN_BATCH_CAMPAIGN_ID_COLUMN: _unused, ...noCampaignColumn } = env;
    const noCampaigns = parseCampaignSettings({ ...noCampaignColumn, CAMPAIGN_BATCH_CAMPAIGNS_PATH: '' });
    const refusal = loadBatchLeads(bundle.manifest, noCampaigns);
    await expect(refusal).rejects.toThrow(ConfigurationError);
    await expect(refusal).rejects.toMatchObject({ setting: 'CAMPAIGN_BATCH_CAMPAIGNS_PATH' });
    await expect(loadBatchLeads(bundle.manifest, without('CAMPAIGN_BATCH_LEADS_PATH'))).rejects.toThrow(
      'setting CAMPAIGN_BATCH_LEADS_PATH: missing (the leads CSV the batch run plans)',
    );
  });

  it('refuses a leads file over its limits, naming the file and the limit', async () => {
    const { maxRows, maxBytes } = BATCH_LEADS_LIMITS;
    expect(BATCH_LEADS_LIMITS).toEqual({ maxRows: 100_000, maxBytes: 64 * 1024 * 1024 });
    const big = join(dir, 'big-leads.csv');
    const row = (i: number) => `K${i};37;54072;professional;West;537\n`;
    await writeFile(
      big,
      'Kunde;Age;Annual_Income;Segment;Region;Credit_Score\n' +
        Array.from({ length: maxRows + 1 }, (_, i) => row(i)).join(''),
    );
    const settings = parseCampaignSettings({ ...env, CAMPAIGN_BATCH_LEADS_PATH: big });
    await expect(loadBatchLeads(bundle.manifest, settings)).rejects.toThrow(
      `${big}, line ${maxRows + 2}: has more than ${maxRows} rows: the campaignBatchPlan timer plans at most ` +
        `${maxRows} leads per run (see docs/campaign.md); plan larger files with npx nextoffer campaign batch`,
    );
    // Within the row limit but over the byte limit: refused before it is read.
    await expect(
      loadBatchLeads(bundle.manifest, settings, { maxRows: maxRows + 1, maxBytes: 1000 }),
    ).rejects.toThrow(
      /big-leads\.csv: is \d+ bytes: the campaignBatchPlan timer reads files of at most 1000 bytes/,
    );
    expect(maxBytes).toBeGreaterThan(maxRows * 100);
  });

  it('refuses a touches, campaigns or products file over the byte limit too, before reading it', async () => {
    const limits = { maxRows: 10, maxBytes: 1000 };
    const bigTouches = join(dir, 'big-touches.csv');
    await writeFile(
      bigTouches,
      'Kunde;Kanal;Day_Of_Week;Time_Of_Day;Wann;Kampagne\n' +
        'K1;Email;Monday;Morning;2025-01-02;C4\n'.repeat(100),
    );
    await expect(
      loadBatchLeads(
        bundle.manifest,
        parseCampaignSettings({ ...env, CAMPAIGN_BATCH_TOUCHES_PATH: bigTouches }),
        limits,
      ),
    ).rejects.toThrow(
      `${bigTouches}: is 3850 bytes: the campaignBatchPlan timer reads files of at most 1000 bytes (see docs/campaign.md); ` +
        'plan larger files with npx nextoffer campaign batch',
    );
    const bigProducts = join(dir, 'big-products.csv');
    await writeFile(bigProducts, 'Product_Id;Premium;Payment_Frequency\n' + 'P1;1200;Monthly\n'.repeat(100));
    await expect(
      loadBatchLeads(
        bundle.manifest,
        parseCampaignSettings({ ...env, CAMPAIGN_BATCH_PRODUCTS_PATH: bigProducts }),
        limits,
      ),
    ).rejects.toThrow(
      /big-products\.csv: is \d+ bytes: the campaignBatchPlan timer reads files of at most 1000 bytes/,
    );
    // The same files within the limit are read.
    await expect(loadBatchLeads(bundle.manifest, parseCampaignSettings(env), limits)).resolves.toHaveLength(
      2,
    );
  });
});
