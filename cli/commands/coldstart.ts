import { parseArgs } from 'node:util';
import { readBundleDirectory } from '../../shared/affinity/affinityModel';
import { BundleError } from '../../shared/affinity/bundle';
import { RedisColdStartStore } from '../../shared/coldstart/coldStartStore';
import { loadBundleColdStart } from '../../shared/coldstart/coldStartSync';
import { parseRedisSettings } from '../../shared/config/settings';
import { connectRedisClient } from '../../shared/runtime/clients';
import { Command, UsageError } from '../command';
import { commandEnvironment } from '../commandEnvironment';

const usage = `usage: npx nextoffer coldstart load --model DIR

Loads the cold-start scores of a model bundle (DIR/coldStart.json: global and per-context lists) into
Redis (RedisConnection), replacing the previous ones at once. The bundle is verified first (format and
every file against manifest.json), as the offer function verifies it. The offer function reads them for users
without history.`;

export const command: Command = {
  summary: "load a model bundle's cold-start scores into Redis",
  usage,
  async run(args) {
    const [action, ...rest] = args;
    if (action !== 'load')
      throw new UsageError(action === undefined ? 'missing action' : `unknown action '${action}'`);
    const { values } = parseArgs({ args: rest, options: { model: { type: 'string' } } });
    if (values.model === undefined) throw new UsageError('--model is required');
    try {
      const files = await readBundleDirectory(values.model);
      const settings = parseRedisSettings(commandEnvironment());
      const redis = await connectRedisClient(settings.url);
      try {
        // Verified whole first (format, every file against its digest in manifest.json), as the offer
        // function verifies it, so Redis never gets cold-start lists from a corrupt or mixed bundle; the
        // lists are recorded with the bundle's version, as the retraining run records them.
        const loaded = await loadBundleColdStart(new RedisColdStartStore(redis, settings.keyPrefix), files);
        process.stdout.write(
          JSON.stringify({ version: loaded.version, lists: loaded.lists, globalItems: loaded.globalItems }) +
            '\n',
        );
        return 0;
      } finally {
        redis.disconnect();
      }
    } catch (error) {
      if (!(error instanceof BundleError)) throw error;
      process.stderr.write(`nextoffer coldstart: ${error.message}\n`);
      return 1;
    }
  },
};
