// Cosmos DB for NoSQL: the aggregates, the offer catalog, campaign plans. Keys are off
// (disableLocalAuth); the app's identity gets the built-in Data Contributor data-plane role. The app
// cannot create containers with that role, so every container is declared here (the same set as
// shared/runtime/cosmosContainers.ts).
import { roleIds } from 'roles.bicep'

param accountName string
param databaseName string
@allowed(['serverless', 'provisioned'])
param capacityMode string
@description('Provisioned mode only: autoscale maximum RU/s shared by the database\'s containers.')
param autoscaleMaxThroughput int
param location string
param tags object
param appPrincipalId string
@description('Deploying user; empty to skip.')
param developerPrincipalId string

var serverless = capacityMode == 'serverless'

var containers = [
  { name: 'user-profiles', partitionKey: '/userId', defaultTtl: -1 }
  { name: 'product-stats', partitionKey: '/productId', defaultTtl: -1 }
  { name: 'offer-stats', partitionKey: '/offerId', defaultTtl: -1 }
  { name: 'rollups', partitionKey: '/date', defaultTtl: -1 }
  { name: 'offer-catalog', partitionKey: '/offerId', defaultTtl: -1 }
  { name: 'campaign-plans', partitionKey: '/leadId', defaultTtl: -1 }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [{ locationName: location, failoverPriority: 0, isZoneRedundant: false }]
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
    capabilities: serverless ? [{ name: 'EnableServerless' }] : []
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-11-15' = {
  parent: account
  name: databaseName
  properties: {
    resource: { id: databaseName }
    // Serverless accounts take no throughput settings at all.
    options: serverless ? {} : { autoscaleSettings: { maxThroughput: autoscaleMaxThroughput } }
  }
}

resource sqlContainers 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-11-15' = [
  for container in containers: {
    parent: database
    name: container.name
    properties: {
      resource: {
        id: container.name
        partitionKey: { paths: [container.partitionKey], kind: 'Hash', version: 2 }
        // -1: TTL is on but documents never expire unless they carry their own `ttl`.
        defaultTtl: container.defaultTtl
        indexingPolicy: {
          indexingMode: 'consistent'
          includedPaths: [{ path: '/*' }]
          excludedPaths: [{ path: '/"_etag"/?' }]
        }
      }
    }
  }
]

resource appDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(account.id, appPrincipalId, roleIds.cosmosBuiltInDataContributor)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${roleIds.cosmosBuiltInDataContributor}'
    principalId: appPrincipalId
    scope: account.id
  }
}

resource developerDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = if (!empty(developerPrincipalId)) {
  parent: account
  name: guid(account.id, developerPrincipalId, roleIds.cosmosBuiltInDataContributor)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${roleIds.cosmosBuiltInDataContributor}'
    principalId: developerPrincipalId
    scope: account.id
  }
}

output name string = account.name
output endpoint string = account.properties.documentEndpoint
