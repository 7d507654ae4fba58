import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

const localSettingsFile = z.object({
  IsEncrypted: z.boolean().optional(),
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/**
 * Reads the `Values` of a local.settings.json (as `func start` does); an absent file gives no values.
 * Throws naming the file and the offending field when the file is malformed.
 */
export function readLocalSettings(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = localSettingsFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  if (parsed.data.IsEncrypted === true) {
    throw new Error(`${path}: IsEncrypted is true; decrypt it with \`func settings decrypt\` first`);
  }
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed.data.Values ?? {})) values[name] = String(value);
  return values;
}

/**
 * A connection's settings: `X` (a connection string) and `X__accountEndpoint`, `X__credential`… (its
 * identity-based form) are one setting, whichever form is used.
 */
function connectionOf(name: string): string {
  const at = name.indexOf('__');
  return at === -1 ? name : name.slice(0, at);
}

/**
 * Copies values into env without overriding variables that are already set, like `func start`. A
 * connection set in env in either form is left whole: a connection string from the file next to an
 * `X__accountEndpoint` from env would otherwise win (settings prefer the connection string), sending a
 * command meant for Azure to the local emulator.
 */
export function applyMissing(
  env: Record<string, string | undefined>,
  values: Record<string, string>,
): string[] {
  const setInEnv = new Set(
    Object.keys(env)
      .filter((name) => env[name] !== undefined)
      .map(connectionOf),
  );
  const applied: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (!setInEnv.has(connectionOf(name))) {
      env[name] = value;
      applied.push(name);
    }
  }
  return applied;
}
