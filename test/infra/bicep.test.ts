import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSettings } from '../../shared/config/settings';
import { cosmosContainers } from '../../shared/runtime/cosmosContainers';

/**
 * The Bicep cannot be compiled here (no Bicep CLI on the machine), so these tests hold it to the code it
 * deploys: every container the app uses exists with the same partition key, and the app settings it
 * sets are enough for the app's settings to parse.
 */
const infra = join(__dirname, '..', '..', 'infra');
const read = (path: string) => readFileSync(join(infra, path), 'utf8');

/** The keys of a Bicep object literal that starts at the line matching `opening`. */
function objectKeys(source: string, opening: RegExp): string[] {
  const lines = source.split('\n');
  const start = lines.findIndex((line) => opening.test(line));
  if (start < 0) throw new Error(`no ${String(opening)} in the Bicep`);
  const keys: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\s*}/.test(line)) break;
    const key = /^\s*([A-Za-z_][\w]*)\s*:/.exec(line);
    if (key) keys.push(key[1]!);
  }
  return keys;
}

describe('infra', () => {
  it('declares every Cosmos DB container the app uses, with its partition key', () => {
    const cosmos = read('modules/cosmos.bicep');
    for (const container of Object.values(cosmosContainers)) {
      expect(cosmos).toContain(`{ name: '${container.id}', partitionKey: '${container.partitionKey}'`);
    }
  });

  it('creates the blob containers the settings default to', () => {
    const settings = parseSettings(minimalEnvironment());
    const archive = read('modules/archiveStorage.bicep');
    for (const name of [
      settings.archive.rawEventsContainer,
      settings.archive.deadLetterContainer,
      settings.archive.modelsContainer,
    ]) {
      expect(archive).toContain(`'${name}'`);
    }
  });

  it('sets app settings from which the app parses its settings, identity-based', () => {
    const appSettings = objectKeys(read('main.bicep'), /^var appSettings = \{$/);
    const hostSettings = objectKeys(read('modules/functionApp.bicep'), /^var hostSettings = \{$/);
    const names = [...appSettings, ...hostSettings];
    expect(names).toEqual(
      expect.arrayContaining([
        'AzureWebJobsStorage__accountName',
        'AzureWebJobsStorage__credential',
        'AzureWebJobsStorage__clientId',
        'EventHubConnection__fullyQualifiedNamespace',
        'EventHubConnection__credential',
        'EventHubConnection__clientId',
        'CosmosDBConnection__accountEndpoint',
        'ArchiveStorage__blobServiceUri',
        'RedisConnection',
        'EVENTHUB_NAME',
        'COSMOS_DATABASE',
        'CORS_ALLOWED_ORIGINS',
        'AZURE_CLIENT_ID',
      ]),
    );
    // Plausible values for each name, as Azure would resolve them.
    const identityClientId = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    const values: Record<string, string> = {
      EventHubConnection__fullyQualifiedNamespace: 'evhns-x.servicebus.windows.net',
      CosmosDBConnection__accountEndpoint: 'https://cosmos-x.documents.azure.com:443/',
      ArchiveStorage__blobServiceUri: 'https://starcx.blob.core.windows.net/',
      RedisConnection: 'rediss://:key@redis-x.redis.cache.windows.net:6380',
      EVENTHUB_NAME: 'clickstream',
      CORS_ALLOWED_ORIGINS: 'https://shop.example',
    };
    // What the identity's settings resolve to: `managedidentity` and the identity's client id.
    const resolved = (name: string) =>
      values[name] ??
      (name.endsWith('__credential')
        ? 'managedidentity'
        : name.endsWith('__clientId')
          ? identityClientId
          : 'x');
    const env = Object.fromEntries(names.map((name) => [name, resolved(name)]));
    const settings = parseSettings(env);
    // Every connection uses the app's user-assigned identity.
    expect(settings.eventHub.connection).toEqual({
      kind: 'identity',
      fullyQualifiedNamespace: 'evhns-x.servicebus.windows.net',
      managedIdentity: { clientId: identityClientId },
    });
    expect(settings.cosmos.connection).toMatchObject({
      kind: 'identity',
      managedIdentity: { clientId: identityClientId },
    });
    expect(settings.archive.connection).toMatchObject({
      kind: 'identity',
      managedIdentity: { clientId: identityClientId },
    });
    // No connection strings or keys, apart from Redis (infra/modules/redis.bicep) and Application Insights'
    // connection string, which is no credential once local auth is off.
    expect(names.filter((n) => /connection_?string|account_?key|shared_?access_?key/i.test(n))).toEqual([
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ]);
  });

  it('disables the nightly campaign batch, by the name it is registered under, until its leads are given', () => {
    const main = read('main.bicep');
    expect(main).toContain(
      "var campaignBatchSettings = empty(campaignBatchLeadsPath)\n  ? { AzureWebJobs_campaignBatchPlan_Disabled: 'true' }",
    );
    expect(main).toContain('appSettings: union(appSettings, campaignBatchSettings, extraAppSettings)');
    const registration = readFileSync(join(infra, '..', 'functions', 'campaignBatchPlan.ts'), 'utf8');
    expect(registration).toContain("registerTimer('campaignBatchPlan',");
  });

  it("sets each of the batch's files from a parameter azd fills, under the name the settings read", () => {
    const main = read('main.bicep');
    const parameters = read('main.parameters.json');
    const files = {
      campaignBatchLeadsPath: 'CAMPAIGN_BATCH_LEADS_PATH',
      campaignBatchTouchesPath: 'CAMPAIGN_BATCH_TOUCHES_PATH',
      campaignBatchCampaignsPath: 'CAMPAIGN_BATCH_CAMPAIGNS_PATH',
      campaignBatchProductsPath: 'CAMPAIGN_BATCH_PRODUCTS_PATH',
    };
    const env: Record<string, string> = { ...minimalEnvironment() };
    for (const [parameter, setting] of Object.entries(files)) {
      expect(main).toContain(`param ${parameter} string = ''`);
      expect(main).toContain(`${setting}: ${parameter}`);
      expect(parameters).toContain(`"${parameter}": {\n      "value": "\${${setting}}"`);
      env[setting] = `data/${parameter}.csv`;
    }
    const campaign = parseSettings(env).campaign;
    expect([
      campaign.batchLeadsPath,
      campaign.batchTouchesPath,
      campaign.batchCampaignsPath,
      campaign.batchProductsPath,
    ]).toEqual(Object.keys(files).map((parameter) => `data/${parameter}.csv`));
  });

  it('grants the identity the roles the connections need', () => {
    const roleIds = read('modules/roles.bicep');
    const uses = (file: string, role: string) => expect(read(file)).toContain(`roleIds.${role}`);
    uses('modules/eventHubs.bicep', 'eventHubsDataSender');
    uses('modules/eventHubs.bicep', 'eventHubsDataReceiver');
    uses('modules/hostStorage.bicep', 'storageBlobDataOwner');
    uses('modules/archiveStorage.bicep', 'storageBlobDataContributor');
    uses('modules/cosmos.bicep', 'cosmosBuiltInDataContributor');
    uses('modules/monitoring.bicep', 'monitoringMetricsPublisher');
    uses('modules/redis.bicep', 'keyVaultSecretsUser');
    // Each name against Microsoft's built-in role ids: a wrong GUID deploys and fails only at run time.
    const builtIn: Record<string, string> = {
      eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975',
      eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde',
      storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
      storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
      storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
      storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
      monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
      keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
      cosmosBuiltInDataContributor: '00000000-0000-0000-0000-000000000002',
    };
    const declared = Object.fromEntries(
      [...roleIds.matchAll(/^\s*(\w+): '([0-9a-f-]{36})'$/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(declared).toEqual(builtIn);
  });

  it('sets the app settings as an object, not a loop over values known only while deploying', () => {
    // Bicep refuses a loop whose input depends on listKeys or reference() (BCP178); the Redis URL does.
    const app = read('modules/functionApp.bicep');
    expect(app).not.toMatch(/\[for [^\]]*(appSettings|hostSettings)/);
    expect(app).toMatch(
      /'Microsoft\.Web\/sites\/config@[\d-]+' = \{\s*parent: app\s*name: 'appsettings'\s*properties: union\(appSettings, hostSettings\)/,
    );
  });

  it('keeps dead letters and held batches: no lifecycle rule deletes them', () => {
    const archive = read('modules/archiveStorage.bicep');
    expect(archive).not.toMatch(/delete:/);
  });
});

function minimalEnvironment(): Record<string, string> {
  return {
    EventHubConnection__fullyQualifiedNamespace: 'evhns-x.servicebus.windows.net',
    EVENTHUB_NAME: 'clickstream',
    CosmosDBConnection__accountEndpoint: 'https://cosmos-x.documents.azure.com:443/',
    ArchiveStorage__blobServiceUri: 'https://starcx.blob.core.windows.net/',
    RedisConnection: 'rediss://:key@redis-x.redis.cache.windows.net:6380',
  };
}
