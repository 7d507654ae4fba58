import { getSettings } from '../shared/config/settings';
import { registerHttp } from '../shared/hosting/registry';
import { EventHubsPublisher } from '../shared/ingest/eventPublisher';
import { createIngestHandler } from '../shared/ingest/ingestHttpHandler';
import { getEventHubProducer } from '../shared/runtime/clients';

/**
 * POST /api/server/events: the same ingest for server-to-server callers, behind a function key
 * (`x-functions-key` header or `code` query parameter, checked by the Functions host). Browsers use the
 * anonymous POST /api/events, limited to the allowed origins; this one has no CORS at all.
 */
const settings = getSettings();

registerHttp('ingestFromServer', {
  route: 'server/events',
  methods: ['POST'],
  authLevel: 'function',
  handler: createIngestHandler({
    publisher: new EventHubsPublisher(getEventHubProducer()),
    limits: settings.ingest,
    cors: { allowedOrigins: [], allowedMethods: [], allowedHeaders: [], maxAgeSeconds: 0 },
  }),
});
