import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The package root (where package.json and host.json live), found from this file in the sources or in
 * dist. In Azure it is the app's folder, whatever working directory the worker was started in.
 */
export function packageRoot(from = __dirname): string {
  let dir = from;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'nextoffer'
    ) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nextoffer package.json above ${from}`);
    dir = parent;
  }
}
