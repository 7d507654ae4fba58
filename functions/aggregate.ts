import { getSettings } from '../shared/config/settings';
import { registerEventHub } from '../shared/hosting/registry';
import { createAggregateHandler } from '../shared/aggregation/aggregateHandler';
import { BlobEventArchive } from '../shared/archive/eventArchive';
import { CosmosDocumentStore } from '../shared/cosmos/documentStore';
import { loadOfferIds } from '../shared/offers/cosmosOfferData';
import { RefreshingValue } from '../shared/resilience/refreshingValue';
import { getBlobServiceClient, getCosmosDatabase } from '../shared/runtime/clients';

/** Event Hubs → per-user, per-product, per-offer and time roll-up aggregates in Cosmos DB, raw events to Blob. */
const settings = getSettings();
const blob = getBlobServiceClient();
const database = getCosmosDatabase();
const offerIds = new RefreshingValue(() => loadOfferIds(database), 30_000);

registerEventHub('aggregate', {
  connection: settings.eventHub.connectionSettingName,
  eventHubName: settings.eventHub.name,
  consumerGroup: settings.eventHub.consumerGroup,
  cardinality: 'many',
  // Only a batch that could be neither aggregated nor held in Blob fails its invocation
  // (shared/aggregation/aggregateHandler.ts); the host then runs the same batch again instead of
  // checkpointing past it, until Blob or Cosmos DB is back. The partition waits meanwhile; nothing is lost.
  retry: {
    strategy: 'exponentialBackoff',
    maxRetryCount: -1,
    minimumInterval: { seconds: 10 },
    maximumInterval: { minutes: 5 },
  },
  handler: createAggregateHandler({
    store: new CosmosDocumentStore(database),
    archive: new BlobEventArchive(
      blob.getContainerClient(settings.archive.rawEventsContainer),
      blob.getContainerClient(settings.archive.deadLetterContainer),
    ),
    eventHubName: settings.eventHub.name,
    knownOffers: (fresh) => (fresh ? offerIds.refresh() : offerIds.get()),
  }),
});
