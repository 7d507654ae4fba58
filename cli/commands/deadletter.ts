import { parseArgs } from 'node:util';
import { replayDeadLetters } from '../../shared/aggregation/replayDeadLetters';
import { BlobEventArchive } from '../../shared/archive/eventArchive';
import { parseArchiveSettings, parseCosmosSettings } from '../../shared/config/settings';
import { CosmosDocumentStore } from '../../shared/cosmos/documentStore';
import { createBlobServiceClient, createCosmosClient } from '../../shared/runtime/clients';
import { Command, UsageError } from '../command';
import { commandEnvironment } from '../commandEnvironment';

const usage = `usage: npx nextoffer deadletter list [--prefix P]
       npx nextoffer deadletter replay [--prefix P]

The dead letter (DEADLETTER_CONTAINER) holds events the aggregate function could not process, each with
its reason, at {hub}/{partition}/{yyyy}/{MM}/{dd}/{position}.json (position: the message's sequence number × 1000 + the event's index in it). \`list\` prints them as JSON Lines
(name, reason). \`replay\` folds every event that now passes the contract back into the aggregates with
its original partition and position (so nothing is counted twice) and deletes its blob; the rest
stay. --prefix limits both to names starting with P (e.g. clickstream/3/2026/11/24/).`;

export const command: Command = {
  summary: 'list or replay the events the aggregate function dead-lettered',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    if (action !== 'list' && action !== 'replay') {
      throw new UsageError(action === undefined ? 'missing action' : `unknown action '${action}'`);
    }
    const { values } = parseArgs({ args: rest, options: { prefix: { type: 'string' } } });
    const env = commandEnvironment();
    const archiveSettings = parseArchiveSettings(env);
    const blob = createBlobServiceClient(archiveSettings.connection);
    const deadLetters = blob.getContainerClient(archiveSettings.deadLetterContainer);
    const prefix = values.prefix !== undefined ? { prefix: values.prefix } : {};

    if (action === 'list') {
      for await (const item of deadLetters.listBlobsFlat(prefix)) {
        const record = JSON.parse(
          (await deadLetters.getBlobClient(item.name).downloadToBuffer()).toString('utf8'),
        ) as {
          reason?: string;
        };
        process.stdout.write(JSON.stringify({ name: item.name, reason: record.reason ?? null }) + '\n');
      }
      return 0;
    }

    const cosmosSettings = parseCosmosSettings(env);
    const cosmos = createCosmosClient(cosmosSettings.connection);
    try {
      const result = await replayDeadLetters(
        deadLetters,
        new CosmosDocumentStore(cosmos.database(cosmosSettings.database)),
        new BlobEventArchive(blob.getContainerClient(archiveSettings.rawEventsContainer), deadLetters),
        { ...prefix, log: (message) => process.stderr.write(`${message}\n`) },
      );
      process.stdout.write(JSON.stringify(result) + '\n');
      return result.failed > 0 ? 1 : 0;
    } finally {
      cosmos.dispose();
    }
  },
};
