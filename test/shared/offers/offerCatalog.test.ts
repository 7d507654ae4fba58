import { CatalogValidationError, parseOfferCatalog } from '../../../shared/offers/offerCatalog';

describe('parseOfferCatalog', () => {
  it('applies defaults to a valid catalog', () => {
    const [offer] = parseOfferCatalog([{ offerId: 'o1', title: 'Ten off shoes', categories: ['shoes'] }]);
    expect(offer).toMatchObject({ offerId: 'o1', productIds: [], priority: 0 });
  });

  it('refuses the whole catalog, naming each offer and field', () => {
    let error: CatalogValidationError | undefined;
    try {
      parseOfferCatalog([
        { offerId: 'ok', title: 'fine', productIds: ['p1'] },
        { offerId: 'o2', title: 'no target' },
        {
          offerId: 'o3',
          title: 'bad dates',
          productIds: ['p'],
          startsAt: '2026-02-01T00:00:00Z',
          endsAt: '2026-01-01T00:00:00Z',
        },
        { offerId: 'ok', title: 'dup', productIds: ['p1'] },
        { title: 'no id', productIds: ['p1'], priority: 99 },
      ]);
    } catch (e) {
      error = e as CatalogValidationError;
    }
    expect(error).toBeInstanceOf(CatalogValidationError);
    const problems = error!.errors.map((e) => `${e.offer}|${e.field}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'offer o2|productIds',
        'offer o3|endsAt',
        'offer ok|offerId',
        'offer #4|offerId',
        'offer #4|priority',
      ]),
    );
  });

  it('refuses something that is not an array', () => {
    expect(() => parseOfferCatalog({ offers: [] })).toThrow(CatalogValidationError);
  });
});
