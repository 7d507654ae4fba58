import { CosmosClient, Database } from '@azure/cosmos';
import { IncomingMessage } from 'node:http';
import { CoalescedPointReads } from '../../../shared/cosmos/coalescedReads';
import { CosmosDocumentStore } from '../../../shared/cosmos/documentStore';
import { parseConnectionString } from '../../../shared/config/settings';
import { createCosmosClient } from '../../../shared/runtime/clients';
import { provisionCosmos } from '../../../shared/runtime/provisioning';
import { FaultProxy, startFaultProxy } from '../../support/faultProxy';
import { cosmosClientFor, startTestStack, TestStack } from '../../support/localStack';

interface Profile {
  id: string;
  userId: string;
  visits: number;
}

let stack: TestStack;
let direct: CosmosClient;
let proxied: CosmosClient;
let proxy: FaultProxy;
let store: CosmosDocumentStore;
/** Document requests that reached the server: point reads (GET) and bulk requests. */
let requests: Array<{ kind: 'point' | 'bulk'; operations: number }> = [];

const documentRequest = (request: IncomingMessage) =>
  (request.url ?? '').includes('/colls/user-profiles/docs');

beforeAll(async () => {
  stack = await startTestStack();
  direct = cosmosClientFor(stack.settings);
  const database: Database = direct.database('coalesced-reads');
  await provisionCosmos(database);
  for (let i = 0; i < 5; i++) {
    await database
      .container('user-profiles')
      .items.create({ id: `user-${i}`, userId: `user-${i}`, visits: i });
  }
  const endpoint = parseConnectionString(stack.settings.CosmosDBConnection!).get('accountendpoint')!;
  proxy = await startFaultProxy(endpoint, (request, body) => {
    if (!documentRequest(request)) return undefined;
    if (request.method === 'GET') requests.push({ kind: 'point', operations: 1 });
    else requests.push({ kind: 'bulk', operations: (JSON.parse(body.toString('utf8')) as unknown[]).length });
    return undefined;
  });
  proxied = createCosmosClient({ kind: 'connectionString', endpoint: `${proxy.url}/`, key: 'a2V5' });
  store = new CosmosDocumentStore(proxied.database('coalesced-reads'));
});

beforeEach(() => {
  requests = [];
});

afterAll(async () => {
  proxied.dispose();
  direct.dispose();
  await proxy.stop();
  await stack.stop();
});

describe('CoalescedPointReads', () => {
  it('sends the reads of one turn as one bulk request and gives each caller its own document', async () => {
    const reads = new CoalescedPointReads<Profile>(store, 'userProfiles');
    const ids = ['user-3', 'nobody', 'user-0', 'user-4'];
    const profiles = await Promise.all(ids.map((id) => reads.read(id, id)));
    expect(profiles.map((p) => p?.visits)).toEqual([3, undefined, 0, 4]);
    expect(profiles[0]?.userId).toBe('user-3');
    expect(requests).toEqual([{ kind: 'bulk', operations: 4 }]);
  });

  it('keeps a read that is alone in its turn a plain point read', async () => {
    const reads = new CoalescedPointReads<Profile>(store, 'userProfiles');
    expect((await reads.read('user-2', 'user-2'))?.visits).toBe(2);
    expect(await reads.read('nobody', 'nobody')).toBeUndefined();
    expect(requests).toEqual([
      { kind: 'point', operations: 1 },
      { kind: 'point', operations: 1 },
    ]);
  });

  it('splits a turn of more reads than one request may carry', async () => {
    const reads = new CoalescedPointReads<Profile>(store, 'userProfiles', 2);
    const ids = ['user-0', 'user-1', 'user-2', 'user-3', 'user-4'];
    const profiles = await Promise.all(ids.map((id) => reads.read(id, id)));
    expect(profiles.map((p) => p?.visits)).toEqual([0, 1, 2, 3, 4]);
    expect(requests.map((r) => `${r.kind}:${r.operations}`).sort()).toEqual(['bulk:2', 'bulk:2', 'point:1']);
  });

  it('lets a caller that gives up leave without failing the others of its request', async () => {
    const reads = new CoalescedPointReads<Profile>(store, 'userProfiles');
    const gaveUp = AbortSignal.abort(new Error('offer timed out'));
    const [left, stayed] = await Promise.allSettled([
      reads.read('user-1', 'user-1', gaveUp),
      reads.read('user-4', 'user-4'),
    ]);
    expect(left.status).toBe('rejected');
    expect(stayed.status === 'fulfilled' && stayed.value?.visits).toBe(4);
  });
});
