import { ConfigurationError, parseSettings } from '../../../shared/config/settings';

const minimal = {
  EventHubConnection:
    'Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
  EVENTHUB_NAME: 'clickstream',
  CosmosDBConnection: 'AccountEndpoint=http://127.0.0.1:8081/;AccountKey=a2V5;',
  ArchiveStorage:
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;',
  RedisConnection: 'redis://127.0.0.1:6379',
};

function errorOf(env: Record<string, string | undefined>): ConfigurationError {
  try {
    parseSettings(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('parseSettings', () => {
  it('parses connection strings and applies defaults', () => {
    const settings = parseSettings(minimal);
    expect(settings.eventHub.connection.kind).toBe('connectionString');
    expect(settings.cosmos.connection).toEqual({
      kind: 'connectionString',
      endpoint: 'http://127.0.0.1:8081/',
      key: 'a2V5',
    });
    expect(settings.cosmos.database).toBe('nextoffer');
    expect(settings.eventHub.consumerGroup).toBe('$Default');
    expect(settings.ingest.maxEventsPerRequest).toBe(500);
    expect(settings.ingest.allowedOrigins).toEqual([]);
    expect(settings.affinity.keepVersions).toBe(7);
  });

  it('keeps as many model versions as AFFINITY_KEEP_VERSIONS says, from 1 to 365', () => {
    expect(parseSettings({ ...minimal, AFFINITY_KEEP_VERSIONS: '1' }).affinity.keepVersions).toBe(1);
    expect(parseSettings({ ...minimal, AFFINITY_KEEP_VERSIONS: '365' }).affinity.keepVersions).toBe(365);
  });

  it('accepts identity-based connections by their Functions setting names', () => {
    const settings = parseSettings({
      ...minimal,
      EventHubConnection: undefined,
      EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
      CosmosDBConnection: undefined,
      CosmosDBConnection__accountEndpoint: 'https://acct.documents.azure.com:443/',
      ArchiveStorage: undefined,
      ArchiveStorage__blobServiceUri: 'https://acct.blob.core.windows.net',
    });
    expect(settings.eventHub.connection).toEqual({
      kind: 'identity',
      fullyQualifiedNamespace: 'ns.servicebus.windows.net',
    });
    expect(settings.cosmos.connection).toEqual({
      kind: 'identity',
      endpoint: 'https://acct.documents.azure.com:443/',
    });
    expect(settings.archive.connection).toEqual({
      kind: 'identity',
      serviceUri: 'https://acct.blob.core.windows.net',
    });
  });

  it('takes the user-assigned identity of each connection from __credential and __clientId', () => {
    const clientId = '6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b';
    const settings = parseSettings({
      ...minimal,
      CosmosDBConnection: undefined,
      CosmosDBConnection__accountEndpoint: 'https://acct.documents.azure.com:443/',
      CosmosDBConnection__credential: 'managedidentity',
      CosmosDBConnection__clientId: clientId,
      ArchiveStorage: undefined,
      ArchiveStorage__blobServiceUri: 'https://acct.blob.core.windows.net',
      ArchiveStorage__credential: 'ManagedIdentity',
    });
    expect(settings.cosmos.connection).toEqual({
      kind: 'identity',
      endpoint: 'https://acct.documents.azure.com:443/',
      managedIdentity: { clientId },
    });
    // managedidentity without a client id: the system-assigned identity, as the host takes it.
    expect(settings.archive.connection).toEqual({
      kind: 'identity',
      serviceUri: 'https://acct.blob.core.windows.net',
      managedIdentity: {},
    });
    const identity = {
      ...minimal,
      EventHubConnection: undefined,
      EventHubConnection__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
    };
    expect(() => parseSettings({ ...identity, EventHubConnection__credential: 'secret' })).toThrow(
      /EventHubConnection__credential: 'secret' is not supported; use managedidentity/,
    );
    expect(() => parseSettings({ ...identity, EventHubConnection__clientId: clientId })).toThrow(
      /EventHubConnection__clientId: needs EventHubConnection__credential=managedidentity/,
    );
    expect(() =>
      parseSettings({
        ...identity,
        EventHubConnection__credential: 'managedidentity',
        EventHubConnection__clientId: 'my-identity',
      }),
    ).toThrow(/EventHubConnection__clientId: 'my-identity' is not a client id/);
  });

  it('seeds the exploration draws only when OFFER_EXPLORATION_SEED is set, to a positive integer', () => {
    expect(parseSettings(minimal).offer.explorationSeed).toBeUndefined();
    expect(parseSettings({ ...minimal, OFFER_EXPLORATION_SEED: '' }).offer.explorationSeed).toBeUndefined();
    expect(parseSettings({ ...minimal, OFFER_EXPLORATION_SEED: '42' }).offer.explorationSeed).toBe(42);
    expect(() => parseSettings({ ...minimal, OFFER_EXPLORATION_SEED: '1.5' })).toThrow(
      /OFFER_EXPLORATION_SEED/,
    );
  });

  it('refuses a Redis key prefix that would match other keys as a SCAN pattern', () => {
    expect(parseSettings({ ...minimal, REDIS_KEY_PREFIX: 'shop-a:' }).redis.keyPrefix).toBe('shop-a:');
    for (const prefix of ['shop*', 'a?b', 'x[1]']) {
      expect(() => parseSettings({ ...minimal, REDIS_KEY_PREFIX: prefix })).toThrow(
        /REDIS_KEY_PREFIX: malformed value: must not hold \*, \?, \[, \]/,
      );
    }
  });

  it('writes allowed origins as browsers send them, so that they can match', () => {
    const settings = parseSettings({
      ...minimal,
      CORS_ALLOWED_ORIGINS: 'https://Shop.Example/, http://localhost:3000, https://a.example:443, *',
    });
    expect(settings.ingest.allowedOrigins).toEqual([
      'https://shop.example',
      'http://localhost:3000',
      'https://a.example',
      '*',
    ]);
  });

  it('is frozen all the way down', () => {
    const settings = parseSettings(minimal);
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.ingest.allowedOrigins)).toBe(true);
  });

  it.each([
    ['EventHubConnection', { EventHubConnection: undefined }],
    ['EVENTHUB_NAME', { EVENTHUB_NAME: '' }],
    ['CosmosDBConnection', { CosmosDBConnection: 'AccountEndpoint=http://x/' }],
    ['RedisConnection', { RedisConnection: undefined }],
    ['RedisConnection', { RedisConnection: 'localhost:6379' }],
    ['INGEST_MAX_EVENTS', { INGEST_MAX_EVENTS: 'many' }],
    ['OFFER_EXPLORATION_RATE', { OFFER_EXPLORATION_RATE: '1.5' }],
    ['CORS_ALLOWED_ORIGINS', { CORS_ALLOWED_ORIGINS: 'shop.example' }],
    ['CORS_ALLOWED_ORIGINS', { CORS_ALLOWED_ORIGINS: 'https://shop.example/checkout' }],
    ['CORS_ALLOWED_ORIGINS', { CORS_ALLOWED_ORIGINS: 'ftp://shop.example' }],
    ['ARCHIVE_CONTAINER', { ARCHIVE_CONTAINER: 'Bad_Name' }],
    ['EventHubConnection', { EventHubConnection: 'Endpoint=;SharedAccessKeyName=k' }],
    [
      'EventHubConnection__fullyQualifiedNamespace',
      { EventHubConnection: undefined, EventHubConnection__fullyQualifiedNamespace: 'https://hub/' },
    ],
    ['CosmosDBConnection', { CosmosDBConnection: 'AccountEndpoint=;AccountKey=;' }],
    [
      'CosmosDBConnection__accountEndpoint',
      { CosmosDBConnection: undefined, CosmosDBConnection__accountEndpoint: 'cosmos.example' },
    ],
    ['ArchiveStorage', { ArchiveStorage: 'garbage' }],
    ['ArchiveStorage__blobServiceUri', { ArchiveStorage: undefined, ArchiveStorage__blobServiceUri: 'nope' }],
    ['INGEST_MAX_EVENTS', { INGEST_MAX_EVENTS: '0x10' }],
    ['OFFER_EXPLORATION_RATE', { OFFER_EXPLORATION_RATE: '0x1' }],
    ['CAMPAIGN_BATCH_SCHEDULE', { CAMPAIGN_BATCH_SCHEDULE: '99 99 99 99 99 99' }],
    ['AFFINITY_RETRAIN_SCHEDULE', { AFFINITY_RETRAIN_SCHEDULE: '0 0 3 * *' }],
    ['AFFINITY_KEEP_VERSIONS', { AFFINITY_KEEP_VERSIONS: '0' }],
    ['AFFINITY_KEEP_VERSIONS', { AFFINITY_KEEP_VERSIONS: '366' }],
    ['AFFINITY_KEEP_VERSIONS', { AFFINITY_KEEP_VERSIONS: '2.5' }],
    ['CAMPAIGN_PLANS_CONTAINER', { CAMPAIGN_PLANS_CONTAINER: 'bad/name#' }],
  ])('fails fast naming %s', (setting, override) => {
    const error = errorOf({ ...minimal, ...override });
    expect(error.setting).toBe(setting);
    expect(error.message).toContain(setting);
  });
});

describe('settings errors', () => {
  it('never echo a connection setting, which may hold a key', () => {
    const error = errorOf({ ...minimal, RedisConnection: 'host:6380,password=s3cret' });
    expect(error.message).toContain('RedisConnection');
    expect(error.message).not.toContain('s3cret');
  });
});
