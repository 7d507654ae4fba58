import { extname, join } from 'node:path';
import { packageRoot } from '../shared/hosting/packageRoot';

export { packageRoot };

/**
 * The function modules the real host loads (package.json `main`: dist/functions/*.js). Running from
 * TypeScript sources (ts-jest), the sources themselves.
 */
export function functionModulesDir(): { dir: string; extension: string } {
  const root = packageRoot();
  return extname(__filename) === '.ts'
    ? { dir: join(root, 'functions'), extension: '.ts' }
    : { dir: join(root, 'dist', 'functions'), extension: '.js' };
}

const SECRET_KEYS = /^(accountkey|sharedaccesskey|sharedaccesssignature|password|pwd|sig)$/i;

/** Hides keys in connection strings and passwords in URLs, for printing settings. */
export function maskSecrets(value: string): string {
  const url = /^([a-z][a-z0-9+.-]*:\/\/)([^/@]*)@/i.exec(value);
  if (url) {
    const [whole, scheme = '', userInfo = ''] = url;
    const at = userInfo.indexOf(':');
    const masked = at === -1 ? '***' : `${userInfo.slice(0, at)}:***`;
    return `${scheme}${masked}@${value.slice(whole.length)}`;
  }
  if (!value.includes('=') || !value.includes(';')) return value;
  return value
    .split(';')
    .map((part) => {
      const at = part.indexOf('=');
      return at > 0 && SECRET_KEYS.test(part.slice(0, at).trim()) ? `${part.slice(0, at)}=***` : part;
    })
    .join(';');
}
