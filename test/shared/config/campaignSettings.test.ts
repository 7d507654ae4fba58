import { ConfigurationError, parseCampaignSettings } from '../../../shared/config/settings';

/** The campaign batch timer's settings: its files, column mapping and delimiter. */

function errorOf(env: Record<string, string | undefined>): ConfigurationError {
  try {
    parseCampaignSettings(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

const files = {
  CAMPAIGN_BATCH_LEADS_PATH: 'data/leads.csv',
  CAMPAIGN_BATCH_TOUCHES_PATH: 'data/touches.csv',
  CAMPAIGN_BATCH_CAMPAIGNS_PATH: 'data/campaigns.csv',
  CAMPAIGN_BATCH_PRODUCTS_PATH: 'data/products.csv',
};

describe('parseCampaignSettings: the batch run', () => {
  it('reads no tables, no mapping and no delimiter by default (empty values count as unset)', () => {
    const settings = parseCampaignSettings({
      CAMPAIGN_BATCH_CAMPAIGNS_PATH: '',
      CAMPAIGN_BATCH_DELIMITER: ' ',
    });
    expect(settings).toMatchObject({
      batchLeadsPath: undefined,
      batchTouchesPath: undefined,
      batchCampaignsPath: undefined,
      batchProductsPath: undefined,
      batchColumns: {},
      batchDelimiter: undefined,
    });
  });

  it('reads the campaigns and products files, the column mapping and the delimiter, frozen', () => {
    const settings = parseCampaignSettings({
      ...files,
      CAMPAIGN_BATCH_LEAD_ID_COLUMN: 'Kunde',
      CAMPAIGN_BATCH_CHANNEL_COLUMN: ' Kanal ',
      CAMPAIGN_BATCH_DAY_COLUMN: 'Tag',
      CAMPAIGN_BATCH_TIME_COLUMN: 'Zeit',
      CAMPAIGN_BATCH_TIMESTAMP_COLUMN: 'Wann',
      CAMPAIGN_BATCH_CAMPAIGN_ID_COLUMN: 'Kampagne',
      CAMPAIGN_BATCH_PRODUCT_ID_COLUMN: 'Produkt',
      CAMPAIGN_BATCH_DELIMITER: ';',
    });
    expect(settings.batchCampaignsPath).toBe('data/campaigns.csv');
    expect(settings.batchProductsPath).toBe('data/products.csv');
    expect(settings.batchColumns).toEqual({
      leadId: 'Kunde',
      channel: 'Kanal',
      dayOfWeek: 'Tag',
      timeOfDay: 'Zeit',
      timestamp: 'Wann',
      campaignId: 'Kampagne',
      productId: 'Produkt',
    });
    expect(settings.batchDelimiter).toBe(';');
    expect(Object.isFrozen(settings.batchColumns)).toBe(true);
    expect(parseCampaignSettings({ CAMPAIGN_BATCH_DELIMITER: 'tab' }).batchDelimiter).toBe('\t');
    expect(parseCampaignSettings({ CAMPAIGN_BATCH_DELIMITER: ',' }).batchDelimiter).toBe(',');
    // Read as the command reads --delimiter (shared/campaign/inputOptions.ts).
    expect(parseCampaignSettings({ CAMPAIGN_BATCH_DELIMITER: '\\t' }).batchDelimiter).toBe('\t');
  });

  it.each([
    [
      'CAMPAIGN_BATCH_DELIMITER',
      { CAMPAIGN_BATCH_DELIMITER: '|' },
      "malformed value '|': expected ',', ';' or 'tab'",
    ],
    [
      'CAMPAIGN_BATCH_TIMESTAMP_COLUMN',
      { CAMPAIGN_BATCH_TIMESTAMP_COLUMN: 'Wann' },
      'names the column that orders the touch history, but CAMPAIGN_BATCH_TOUCHES_PATH is not set',
    ],
    [
      'CAMPAIGN_BATCH_CAMPAIGN_ID_COLUMN',
      { CAMPAIGN_BATCH_CAMPAIGN_ID_COLUMN: 'Kampagne', CAMPAIGN_BATCH_PRODUCTS_PATH: 'p.csv' },
      'names the column that joins the campaigns file, but CAMPAIGN_BATCH_CAMPAIGNS_PATH is not set',
    ],
    [
      'CAMPAIGN_BATCH_PRODUCT_ID_COLUMN',
      { CAMPAIGN_BATCH_PRODUCT_ID_COLUMN: 'Produkt', CAMPAIGN_BATCH_CAMPAIGNS_PATH: 'c.csv' },
      'names the column that joins the products file, but CAMPAIGN_BATCH_PRODUCTS_PATH is not set',
    ],
  ])('fails fast naming %s', (setting, env, problem) => {
    const error = errorOf(env);
    expect(error.setting).toBe(setting);
    expect(error.message).toContain(`setting ${setting}: `);
    expect(error.message).toContain(problem);
  });
});

describe('parseCampaignSettings: where files are read from', () => {
  it('reads relative paths from the folder it is given, absolute ones as they are', () => {
    const app = '/home/site/wwwroot';
    const settings = parseCampaignSettings(
      { ...files, CAMPAIGN_CONSTRAINTS_PATH: '/mnt/shared/constraints.json' },
      { pathsFrom: app },
    );
    expect(settings).toMatchObject({
      modelDir: '/home/site/wwwroot/campaign-model',
      constraintsPath: '/mnt/shared/constraints.json',
      batchLeadsPath: '/home/site/wwwroot/data/leads.csv',
      batchTouchesPath: '/home/site/wwwroot/data/touches.csv',
      batchCampaignsPath: '/home/site/wwwroot/data/campaigns.csv',
      batchProductsPath: '/home/site/wwwroot/data/products.csv',
    });
    // Commands give no folder: the paths stay relative to the working directory.
    expect(parseCampaignSettings(files)).toMatchObject({
      modelDir: 'campaign-model',
      batchLeadsPath: 'data/leads.csv',
    });
  });
});
