import { AffinitySettings, getSettings, Settings } from '../config/settings';
import { onShutdown } from '../hosting/registry';
import { createBlobServiceClient, getBlobServiceClient } from '../runtime/clients';
import { AffinityBundleStore, BlobAffinityBundleStore } from './bundleStore';
import { AffinityModelProvider } from './modelProvider';
import { AffinityModel } from './affinityModel';

/** The bundle store on the models container, for commands that build their own clients. */
export function createAffinityBundleStore(
  archive: Settings['archive'],
  affinity: AffinitySettings,
): AffinityBundleStore {
  const container = createBlobServiceClient(archive.connection).getContainerClient(archive.modelsContainer);
  return new BlobAffinityBundleStore(container, affinity.promotionTolerance);
}

let store: AffinityBundleStore | undefined;
let provider: AffinityModelProvider | undefined;

/** The process's bundle store (models container of the archive account). */
export function getAffinityBundleStore(): AffinityBundleStore {
  const settings = getSettings();
  store ??= new BlobAffinityBundleStore(
    getBlobServiceClient().getContainerClient(settings.archive.modelsContainer),
    settings.affinity.promotionTolerance,
  );
  return store;
}

/** The process's model provider: loads `latest` on first use, re-checks every AFFINITY_REFRESH_SECONDS. */
export function getAffinityModelProvider(): AffinityModelProvider {
  if (!provider) {
    const created = new AffinityModelProvider({
      store: getAffinityBundleStore(),
      refreshIntervalMs: getSettings().affinity.refreshSeconds * 1000,
    });
    provider = created;
    onShutdown(async () => {
      provider = undefined;
      await created.close();
    });
  }
  return provider;
}

/** What the offer function calls on each request; see AffinityModelProvider.getCurrentModel. */
export function getCurrentModel(): Promise<AffinityModel | undefined> {
  return getAffinityModelProvider().getCurrentModel();
}
