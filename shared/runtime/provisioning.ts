import { Database } from '@azure/cosmos';
import { BlobServiceClient } from '@azure/storage-blob';
import { Settings } from '../config/settings';
import { createBlobServiceClient, createCosmosClient } from './clients';
import { cosmosContainers } from './cosmosContainers';

/**
 * Creates the Cosmos database and containers and the blob containers when they are missing.
 * Idempotent. In Azure, infra/ creates them and the app's identity has no rights to create; this is for
 * the local stack and for accounts managed by hand.
 */
export async function provisionCosmos(database: Database): Promise<void> {
  await database.client.databases.createIfNotExists({ id: database.id });
  for (const container of Object.values(cosmosContainers)) {
    await database.containers.createIfNotExists({
      id: container.id,
      partitionKey: { paths: [container.partitionKey] },
    });
  }
}

export async function provisionBlobContainers(blob: BlobServiceClient, settings: Settings): Promise<void> {
  const { rawEventsContainer, deadLetterContainer, modelsContainer } = settings.archive;
  for (const name of [rawEventsContainer, deadLetterContainer, modelsContainer]) {
    await blob.getContainerClient(name).createIfNotExists();
  }
}

export async function provisionResources(settings: Settings): Promise<void> {
  const cosmos = createCosmosClient(settings.cosmos.connection);
  try {
    const database = cosmos.database(settings.cosmos.database);
    await provisionCosmos(database);
    // CAMPAIGN_PLANS_CONTAINER may name another container than the default the list above holds.
    await database.containers.createIfNotExists({
      id: settings.campaign.plansContainer,
      partitionKey: { paths: [cosmosContainers.campaignPlans.partitionKey] },
    });
  } finally {
    cosmos.dispose();
  }
  await provisionBlobContainers(createBlobServiceClient(settings.archive.connection), settings);
}
