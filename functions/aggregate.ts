import { getSettings } from '../shared/config/settings';
import { registerEventHub } from '../shared/hosting/registry';
import { createAggregateHandler } from '../shared/aggregation/aggregateHandler';
import { BlobEventArchive } from '../shared/archive/eventArchive';
import { CosmosDocumentStore } from '../shared/cosmos/documentStore';
import { getBlobServiceClient, getCosmosDatabase } from '../shared/runtime/clients';

/** Event Hubs → per-user, per-product, per-offer and time roll-up aggregates in Cosmos DB, raw events to Blob. */
const settings = getSettings();
const blob = getBlobServiceClient();

registerEventHub('aggregate', {
  connection: settings.eventHub.connectionSettingName,
  eventHubName: settings.eventHub.name,
  consumerGroup: settings.eventHub.consumerGroup,
  cardinality: 'many',
  handler: createAggregateHandler({
    store: new CosmosDocumentStore(getCosmosDatabase()),
    archive: new BlobEventArchive(
      blob.getContainerClient(settings.archive.rawEventsContainer),
      blob.getContainerClient(settings.archive.deadLetterContainer),
    ),
    eventHubName: settings.eventHub.name,
  }),
});
