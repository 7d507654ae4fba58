import { join } from 'node:path';
import { applyMissing, readLocalSettings } from '../local/localSettings';

/**
 * The environment a command reads its settings from: the process environment, completed by the
 * `Values` of ./local.settings.json when present, the same file `func start` and `npm start` use.
 */
export function commandEnvironment(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  applyMissing(env, readLocalSettings(join(process.cwd(), 'local.settings.json')));
  return env;
}
