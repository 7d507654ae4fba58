import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseCosmosSettings } from '../../shared/config/settings';
import { saveOfferCatalog } from '../../shared/offers/cosmosOfferData';
import { CatalogValidationError, parseOfferCatalog } from '../../shared/offers/offerCatalog';
import { createCosmosClient } from '../../shared/runtime/clients';
import { provisionCosmos } from '../../shared/runtime/provisioning';
import { Command, UsageError } from '../command';
import { commandEnvironment } from '../commandEnvironment';

const usage = `usage: npx nextoffer offers load --file FILE [--dry-run]

Validates an offer catalog (a JSON array of offers, see docs/offers.md) and replaces the catalog in
Cosmos DB (CosmosDBConnection, COSMOS_DATABASE). An invalid catalog is refused whole: every error is
printed with the offer and field, and nothing is written. --dry-run validates only.`;

export const command: Command = {
  summary: 'validate and load the offer catalog into Cosmos DB',
  usage,
  async run(args) {
    const [action, ...rest] = args;
    if (action !== 'load')
      throw new UsageError(action === undefined ? 'missing action' : `unknown action '${action}'`);
    const { values } = parseArgs({
      args: rest,
      options: { file: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    });
    if (values.file === undefined) throw new UsageError('--file is required');

    let json: unknown;
    try {
      json = JSON.parse(await readFile(values.file, 'utf8'));
    } catch (error) {
      process.stderr.write(`${values.file}: ${(error as Error).message}\n`);
      return 1;
    }
    let offers;
    try {
      offers = parseOfferCatalog(json);
    } catch (error) {
      if (!(error instanceof CatalogValidationError)) throw error;
      process.stderr.write(`${values.file}: catalog refused, nothing written:\n`);
      for (const e of error.errors) process.stderr.write(`  ${e.offer}: ${e.field}: ${e.message}\n`);
      return 1;
    }
    if (values['dry-run'] === true) {
      process.stdout.write(JSON.stringify({ valid: true, offers: offers.length }) + '\n');
      return 0;
    }
    const settings = parseCosmosSettings(commandEnvironment());
    const client = createCosmosClient(settings.connection);
    try {
      const database = client.database(settings.database);
      await provisionCosmos(database);
      const result = await saveOfferCatalog(database, offers);
      process.stdout.write(JSON.stringify(result) + '\n');
      return 0;
    } finally {
      client.dispose();
    }
  },
};
