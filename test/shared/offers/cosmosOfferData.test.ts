import { CosmosClient, Database } from '@azure/cosmos';
import { loadOfferCatalog, loadOfferIds, saveOfferCatalog } from '../../../shared/offers/cosmosOfferData';
import { CatalogValidationError, offerSchema } from '../../../shared/offers/offerCatalog';
import { cosmosContainers } from '../../../shared/runtime/cosmosContainers';
import { provisionCosmos } from '../../../shared/runtime/provisioning';
import { cosmosClientFor, startTestStack, TestStack } from '../../support/localStack';

let stack: TestStack;
let cosmos: CosmosClient;
let database: Database;

beforeAll(async () => {
  stack = await startTestStack();
  cosmos = cosmosClientFor(stack.settings);
  database = cosmos.database('offer-data-test');
  await provisionCosmos(database);
});

afterAll(async () => {
  cosmos.dispose();
  await stack.stop();
});

describe('the stored offer catalog', () => {
  it('serves the valid offers when one stored offer was edited into an invalid one, and names it', async () => {
    await saveOfferCatalog(
      database,
      ['shoes', 'hats'].map((name) =>
        offerSchema.parse({ offerId: `offer-${name}`, title: `${name} sale`, productIds: [`${name}-1`] }),
      ),
    );
    // Edited by hand in the portal: the title emptied.
    await database
      .container(cosmosContainers.offerCatalog.id)
      .items.upsert({ id: 'offer-hats', offerId: 'offer-hats', title: '', productIds: ['hats-1'] });

    const invalid: CatalogValidationError[] = [];
    const offers = await loadOfferCatalog(database, (error) => invalid.push(error));
    expect(offers.map((o) => o.offerId)).toEqual(['offer-shoes']);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]!.errors).toEqual([
      expect.objectContaining({ offer: 'offer offer-hats', field: 'title' }) as unknown,
    ]);
    // Feedback for the broken offer is still an offer we made.
    expect([...(await loadOfferIds(database))].sort()).toEqual(['offer-hats', 'offer-shoes']);
  });
});
