import { getSettings } from '../shared/config/settings';
import { registerHttp } from '../shared/hosting/registry';
import { EventHubsPublisher } from '../shared/ingest/eventPublisher';
import { createIngestHandler, ingestCorsPolicy } from '../shared/ingest/ingestHttpHandler';
import { getEventHubProducer } from '../shared/runtime/clients';

/** POST /api/events: clickstream from websites (fetch or navigator.sendBeacon) and servers → Event Hubs. */
const settings = getSettings();

registerHttp('ingest', {
  route: 'events',
  methods: ['POST', 'OPTIONS'],
  authLevel: 'anonymous',
  handler: createIngestHandler({
    publisher: new EventHubsPublisher(getEventHubProducer()),
    limits: settings.ingest,
    cors: ingestCorsPolicy(settings.ingest.allowedOrigins),
  }),
});
