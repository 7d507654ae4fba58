import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { functionModulesDir, maskSecrets, packageRoot } from '../../local/appFiles';

describe('app files', () => {
  it('finds the package root and, under ts-jest, the TypeScript function sources', () => {
    const root = packageRoot();
    expect(existsSync(join(root, 'host.json'))).toBe(true);
    expect(functionModulesDir()).toEqual({ dir: join(root, 'functions'), extension: '.ts' });
  });

  it('masks keys in connection strings and passwords in URLs', () => {
    expect(maskSecrets('AccountEndpoint=https://a.documents.azure.com/;AccountKey=abc==;')).toBe(
      'AccountEndpoint=https://a.documents.azure.com/;AccountKey=***;',
    );
    expect(maskSecrets('Endpoint=sb://n/;SharedAccessKeyName=root;SharedAccessKey=s3cret')).toBe(
      'Endpoint=sb://n/;SharedAccessKeyName=root;SharedAccessKey=***',
    );
    expect(maskSecrets('BlobEndpoint=https://x/;SharedAccessSignature=sv=1&sig=2')).toBe(
      'BlobEndpoint=https://x/;SharedAccessSignature=***',
    );
    expect(maskSecrets('rediss://:p4ss@cache.redis.cache.windows.net:6380')).toBe(
      'rediss://:***@cache.redis.cache.windows.net:6380',
    );
    expect(maskSecrets('rediss://user:p4ss@host:6380')).toBe('rediss://user:***@host:6380');
    expect(maskSecrets('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(maskSecrets('clickstream')).toBe('clickstream');
  });
});
