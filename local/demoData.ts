import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readInteractionsFile } from '../models/affinity/interactions';
import { trainAffinityModel } from '../models/affinity/train';
import { defaultGbdtOptions } from '../models/campaign/gbdt';
import { generateCampaignData } from '../models/campaign/generator';
import { defaultTrainOptions, trainCampaignModel } from '../models/campaign/train';
import { MANIFEST_FILE, writeBundle } from '../shared/campaign/bundle';
import { buildTouchFrame } from '../shared/campaign/dataset';
import { createAffinityBundleStore } from '../shared/affinity/runtime';
import { RedisColdStartStore } from '../shared/coldstart/coldStartStore';
import { loadBundleColdStart } from '../shared/coldstart/coldStartSync';
import { DEFAULT_CAMPAIGN_MODEL_DIR, parseCampaignSettings, Settings } from '../shared/config/settings';
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
    const redis = await connectRedisClient(settings.redis.url);
    try {
      // Recorded with the model's version, as the retraining run loads them: its next run finds them current.
      await loadBundleColdStart(new RedisColdStartStore(redis, settings.redis.keyPrefix), bundle.files);
    } finally {
      redis.disconnect();
    }
    log(`demo: trained and published affinity model ${bundle.manifest.version} on 20,000 simulated events`);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/**
 * Whether the demo should train a campaign model for `npm start`: when CAMPAIGN_MODEL_DIR is the default
 * `campaign-model` (unset, or set to it as the example settings do) with no bundle there. A directory of
 * the developer's own is never replaced, even when it holds no model (the function then answers 503 and
 * logs why, as it would in Azure).
 */
export function wantsDemoCampaignModel(
  env: Readonly<Record<string, string | undefined>>,
  /** Where a relative CAMPAIGN_MODEL_DIR is read from: the package root, as getSettings reads it. */
  base: string,
): boolean {
  const { modelDir } = parseCampaignSettings(env, { pathsFrom: base });
  return modelDir === resolve(base, DEFAULT_CAMPAIGN_MODEL_DIR) && !existsSync(join(modelDir, MANIFEST_FILE));
}

export interface DemoCampaignModel {
  /** The bundle directory, for CAMPAIGN_MODEL_DIR. */
  dir: string;
  version: string;
  /** Deletes the directory (also done when the process exits without calling this). */
  remove(): Promise<void>;
}

/**
 * A small campaign model for the demo, so `POST /api/campaign/plan` answers at once: trained on synthetic
 * leads of the campaign generator (the attributes of its leads: Age, Annual_Income, Segment, Region,
 * Credit_Score; see docs/campaign.md) with few rounds, in a few seconds, into a temporary directory.
 */
export async function trainDemoCampaignModel(
  log: (line: string) => void,
  options: { leads?: number } = {},
): Promise<DemoCampaignModel> {
  const leads = options.leads ?? 3000;
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), 'nextoffer-demo-campaign-'));
  // A process ended by a second Ctrl-C (process.exit) skips `remove`: the directory still goes.
  const removeNow = () => rmSync(root, { recursive: true, force: true });
  process.once('exit', removeNow);
  const remove = async () => {
    process.off('exit', removeNow);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const data = generateCampaignData({ leads, touchesPerLead: 5, seed: 1 });
    const frame = buildTouchFrame(
      { touches: data.touchTable, leads: data.leadTable },
      { mapping: {}, requireTarget: true },
    );
    const { bundle } = await trainCampaignModel(frame, {
      ...defaultTrainOptions,
      gbdt: { ...defaultGbdtOptions, learningRate: 0.1, maxIterations: 60 },
      holdoutFraction: 0,
      refit: false,
    });
    const dir = join(root, 'model');
    await writeBundle(dir, bundle);
    log(
      `demo: trained campaign model ${bundle.manifest.version} on ${frame.rowCount} synthetic touches of ${leads} leads ` +
        `in ${((Date.now() - started) / 1000).toFixed(1)} s (CAMPAIGN_MODEL_DIR=${dir}, removed on stop)`,
    );
    return { dir, version: bundle.manifest.version, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
