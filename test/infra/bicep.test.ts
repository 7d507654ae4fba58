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
    const appSettings = objectKeys(read('main.bicep'), /^\s*appSettings: \{$/);
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
    const values: Record<string, string> = {
      EventHubConnection__fullyQualifiedNamespace: 'evhns-x.servicebus.windows.net',
      CosmosDBConnection__accountEndpoint: 'https://cosmos-x.documents.azure.com:443/',
      ArchiveStorage__blobServiceUri: 'https://starcx.blob.core.windows.net/',
      RedisConnection: 'rediss://:key@redis-x.redis.cache.windows.net:6380',
      EVENTHUB_NAME: 'clickstream',
      CORS_ALLOWED_ORIGINS: 'https://shop.example',
    };
    const env = Object.fromEntries(names.map((name) => [name, values[name] ?? 'x']));
    const settings = parseSettings(env);
    expect(settings.eventHub.connection).toEqual({
      kind: 'identity',
      fullyQualifiedNamespace: 'evhns-x.servicebus.windows.net',
    });
    expect(settings.cosmos.connection.kind).toBe('identity');
    expect(settings.archive.connection.kind).toBe('identity');
    // No connection strings or keys, apart from Redis (infra/modules/redis.bicep) and Application Insights'
    // connection string, which is no credential once local auth is off.
    expect(names.filter((n) => /connection_?string|account_?key|shared_?access_?key/i.test(n))).toEqual([
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ]);
  });

  it('grants the identity the roles the connections need', () => {
    const roleIds = read('modules/roles.bicep');
    const uses = (file: string, role: string) => expect(read(file)).toContain(`roleIds.${role}`);
    uses('modules/eventHubs.bicep', 'eventHubsDataSender');
    uses('modules/eventHubs.bicep', 'eventHubsDataReceiver');
    uses('modules/hostStorage.bicep', 'storageBlobDataOwner');
    uses('modules/archiveStorage.bicep', 'storageBlobDataOwner');
    uses('modules/cosmos.bicep', 'cosmosBuiltInDataContributor');
    uses('modules/monitoring.bicep', 'monitoringMetricsPublisher');
    uses('modules/redis.bicep', 'keyVaultSecretsUser');
    expect(roleIds).toContain("cosmosBuiltInDataContributor: '00000000-0000-0000-0000-000000000002'");
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
