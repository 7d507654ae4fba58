/**
 * The Cosmos DB containers, their partition keys and who reads them. infra/ creates the same set in Azure;
 * provisioning creates them locally. Partition keys follow the readers: the offer function reads one user,
 * Power BI scans stats and roll-ups.
 */
export const cosmosContainers = {
  /** One document per user: counts, decayed affinities, recent items. Read by the offer function. */
  userProfiles: { id: 'user-profiles', partitionKey: '/userId' },
  /** One document per product: views, clicks, carts, purchases, revenue. Power BI. */
  productStats: { id: 'product-stats', partitionKey: '/productId' },
  /** One document per offer: impressions, clicks, dismissals. Exploration and Power BI. */
  offerStats: { id: 'offer-stats', partitionKey: '/offerId' },
  /** Flat hourly and daily roll-ups for Power BI. */
  rollups: { id: 'rollups', partitionKey: '/date' },
  /** The offer catalog, loaded by `npx nextoffer offers load`. */
  offerCatalog: { id: 'offer-catalog', partitionKey: '/offerId' },
  /** Campaign plans per lead, like the sample's Recommendations table. Power BI. */
  campaignPlans: { id: 'campaign-plans', partitionKey: '/leadId' },
} as const;

export type CosmosContainerName = keyof typeof cosmosContainers;
