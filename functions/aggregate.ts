import { getSettings } from '../shared/config/settings';
import { registerEventHub } from '../shared/hosting/registry';
import { createAggregateHandler } from '../shared/aggregation/aggregateHandler';
import { BlobEventArchive } from '../shared/archive/eventArchive';
import { CosmosDocumentStore } from '../shared/cosmos/documentStore';
import { loadOfferCatalog } from '../shared/offers/cosmosOfferData';
import { RefreshingValue } from '../shared/resilience/refreshingValue';
import { getBlobServiceClient, getCosmosDatabase } from '../shared/runtime/clients';

/** Event Hubs → per-user, per-product, per-offer and time roll-up aggregates in Cosmos DB, raw events to Blob. */
const settings = getSettings();
const blob = getBlobServiceClient();
const database = getCosmosDatabase();
const offerIds = new RefreshingValue(
  async () => new Set((await loadOfferCatalog(database)).map((offer) => offer.offerId)),
  30_000,
);

registerEventHub('aggregate', {
  connection: settings.eventHub.connectionSettingName,
  eventHubName: settings.eventHub.name,
  consumerGroup: settings.eventHub.consumerGroup,
  cardinality: 'many',
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
