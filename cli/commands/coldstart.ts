import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { coldStartSchema } from '../../shared/affinity/bundle';
import { RedisColdStartStore } from '../../shared/coldstart/coldStartStore';
import { parseRedisSettings } from '../../shared/config/settings';
import { connectRedisClient } from '../../shared/runtime/clients';
import { Command, UsageError } from '../command';
import { commandEnvironment } from '../commandEnvironment';

const usage = `usage: npx nextoffer coldstart load --model DIR

Loads the cold-start scores of a model bundle (DIR/coldStart.json: global and per-context lists) into
Redis (RedisConnection), replacing the previous ones at once. The offer function reads them for users
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
    const file = join(values.model, 'coldStart.json');
    const parsed = coldStartSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      process.stderr.write(`${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}\n`);
      return 1;
    }
    const settings = parseRedisSettings(commandEnvironment());
    const redis = await connectRedisClient(settings.url);
    try {
      await new RedisColdStartStore(redis, settings.keyPrefix).replace(parsed.data);
      const lists = 1 + Object.keys(parsed.data.byContext).length;
      process.stdout.write(JSON.stringify({ lists, globalItems: parsed.data.global.length }) + '\n');
      return 0;
    } finally {
      redis.disconnect();
    }
  },
};
