import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMissing, readLocalSettings } from '../../local/localSettings';
import { parseCosmosSettings } from '../../shared/config/settings';
import { temporaryDirectory } from '../support/temporaryDirectory';

const root = join(__dirname, '../..');

function temp(name: string, content: string): string {
  const path = join(temporaryDirectory('settings-'), name);
  writeFileSync(path, content);
  return path;
}

describe('local.settings.json', () => {
  it('reads Values as strings and gives nothing for a missing file', () => {
    const path = temp(
      'local.settings.json',
      JSON.stringify({ IsEncrypted: false, Values: { A: 'x', N: 5, B: true } }),
    );
    expect(readLocalSettings(path)).toEqual({ A: 'x', N: '5', B: 'true' });
    expect(readLocalSettings(join(tmpdir(), 'does-not-exist.json'))).toEqual({});
  });

  it('names the file and the field when the file is malformed', () => {
    expect(() => readLocalSettings(temp('bad.json', '{ nope'))).toThrow(/bad\.json: not valid JSON/);
    expect(() =>
      readLocalSettings(temp('obj.json', JSON.stringify({ Values: { A: { nested: 1 } } }))),
    ).toThrow(/obj\.json: Values\.A/);
    expect(() =>
      readLocalSettings(temp('enc.json', JSON.stringify({ IsEncrypted: true, Values: {} }))),
    ).toThrow(/IsEncrypted/);
  });

  it('never overrides a variable that is already set, like func start', () => {
    const env: Record<string, string | undefined> = { A: 'from env' };
    expect(applyMissing(env, { A: 'from file', B: 'from file' })).toEqual(['B']);
    expect(env).toEqual({ A: 'from env', B: 'from file' });
  });

  it('leaves a connection set in env in either form whole', () => {
    // The identity-based endpoint given for a command against Azure; the file has the emulator's key.
    const env: Record<string, string | undefined> = {
      CosmosDBConnection__accountEndpoint: 'https://cosmos-x.documents.azure.com:443/',
      EventHubConnection: 'Endpoint=sb://localhost/;UseDevelopmentEmulator=true',
    };
    const file = {
      CosmosDBConnection: 'AccountEndpoint=http://127.0.0.1:8081/;AccountKey=k',
      EventHubConnection__fullyQualifiedNamespace: 'evhns-x.servicebus.windows.net',
      ArchiveStorage__blobServiceUri: 'https://starcx.blob.core.windows.net/',
      ArchiveStorage__credential: 'managedidentity',
    };
    expect(applyMissing(env, file)).toEqual(['ArchiveStorage__blobServiceUri', 'ArchiveStorage__credential']);
    expect(parseCosmosSettings(env).connection).toEqual({
      kind: 'identity',
      endpoint: 'https://cosmos-x.documents.azure.com:443/',
    });
  });

  it('the example lists every setting of shared/config/settings.ts except the connections', () => {
    const source = readFileSync(join(root, 'shared/config/settings.ts'), 'utf8');
    const names = new Set([...source.matchAll(/\w+\(\s*env,\s*'([^']+)'/g)].map((m) => m[1]!));
    const connections = ['EventHubConnection', 'CosmosDBConnection', 'ArchiveStorage', 'RedisConnection'];
    expect(names.size).toBeGreaterThan(10);
    const example = readLocalSettings(join(root, 'local.settings.json.example'));
    for (const name of names) {
      if (connections.includes(name)) continue;
      expect({ name, listed: name in example }).toEqual({ name, listed: true });
    }
    // Left out on purpose so that `npm start` starts the embedded stack for them.
    for (const name of [...connections, 'AzureWebJobsStorage']) expect(example[name]).toBeUndefined();
    expect(example.FUNCTIONS_WORKER_RUNTIME).toBe('node');
  });
});
