import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readInteractionsFile } from '../models/affinity/interactions';
import { trainAffinityModel } from '../models/affinity/train';
import { coldStartSchema } from '../shared/affinity/bundle';
import { createAffinityBundleStore } from '../shared/affinity/runtime';
import { RedisColdStartStore } from '../shared/coldstart/coldStartStore';
import { Settings } from '../shared/config/settings';
import { saveOfferCatalog, loadOfferCatalog } from '../shared/offers/cosmosOfferData';
import { parseOfferCatalog } from '../shared/offers/offerCatalog';
import { createCosmosClient, connectRedisClient } from '../shared/runtime/clients';
import { runSimulation } from '../shared/simulation/simulator';

/**
 * Demo data for the embedded stack, so `npm start` answers with real decisions at once: the offer
 * catalog of the simulator's world (models/catalog/offers.json), and an affinity model trained on an
 * offline run of the same world, published as `latest`, with its cold-start scores in Redis. Never run
 * against services the developer configured: those keep their own data.
 */
export async function seedDemoData(
  settings: Settings,
  catalogPath: string,
  log: (line: string) => void,
): Promise<void> {
  const cosmos = createCosmosClient(settings.cosmos.connection);
  try {
    const database = cosmos.database(settings.cosmos.database);
    if ((await loadOfferCatalog(database)).length === 0) {
      const offers = parseOfferCatalog(JSON.parse(await readFile(catalogPath, 'utf8')));
      await saveOfferCatalog(database, offers);
      log(`demo: loaded ${offers.length} offers from ${catalogPath}`);
    }
  } finally {
    cosmos.dispose();
  }

  const store = createAffinityBundleStore(settings.archive, settings.affinity);
  if ((await store.readLatest()) !== undefined) return;
  const directory = await mkdtemp(join(tmpdir(), 'nextoffer-demo-'));
  try {
    const interactionsFile = join(directory, 'interactions.csv');
    // The same world (seed 1, 200 users, 100 products) the catalog and `npx nextoffer simulate` use.
    await runSimulation({ maxEvents: 20_000, interactionsFile }, new AbortController().signal);
    const bundle = await trainAffinityModel(await readInteractionsFile(interactionsFile), {});
    await store.publish(bundle.files, { force: true });
    const coldStart = coldStartSchema.parse(
      JSON.parse(Buffer.from(bundle.files['coldStart.json']).toString('utf8')),
    );
    const redis = await connectRedisClient(settings.redis.url);
    try {
      await new RedisColdStartStore(redis, settings.redis.keyPrefix).replace(coldStart);
    } finally {
      redis.disconnect();
    }
    log(`demo: trained and published affinity model ${bundle.manifest.version} on 20,000 simulated events`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
