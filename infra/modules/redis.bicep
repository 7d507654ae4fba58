// Azure Cache for Redis (Basic, TLS only) for the cold-start scores.
//
// Authentication: access key, not Entra ID. Entra auth needs the client to fetch a token and
// re-authenticate before it expires (about hourly); ioredis has no hook for that, so every Redis client
// in the app would need a refresh loop. The key is handed to the app as `RedisConnection`
// (rediss://:<key>@<host>:6380), by default through a Key Vault reference so that the key is neither in
// the app's configuration nor readable by anyone with read access to the Function App. The key is
// URL-encoded because it is base64 (it may hold '/' and '+'); ioredis decodes it.
import { roleIds } from 'roles.bicep'

param name string
@allowed(['C0', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6'])
param skuCapacity string
param location string
param tags object
@description('Key Vault to hold the Redis URL; empty to put the URL in the app setting directly.')
param keyVaultName string
param appPrincipalId string

resource redis 'Microsoft.Cache/redis@2024-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: { name: 'Basic', family: 'C', capacity: int(substring(skuCapacity, 1)) }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    redisConfiguration: {
      // Cold-start scores are rebuilt from the aggregates; evicting least-recently used keys is safe.
      'maxmemory-policy': 'allkeys-lru'
    }
  }
}

var redisUrl = 'rediss://:${uriComponent(redis.listKeys().primaryKey)}@${redis.properties.hostName}:${redis.properties.sslPort}'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = if (!empty(keyVaultName)) {
  name: !empty(keyVaultName) ? keyVaultName : 'unused'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
  }
}

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(keyVaultName)) {
  parent: vault
  name: 'redis-connection'
  properties: {
    value: redisUrl
    contentType: 'text/plain'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(keyVaultName)) {
  name: guid(vault.id, appPrincipalId, roleIds.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleIds.keyVaultSecretsUser)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = redis.name
output hostName string = redis.properties.hostName
// Empty without Key Vault: functionApp.bicep then builds the URL from the cache's keys itself, so that
// the key never passes through a deployment output.
output secretUri string = !empty(keyVaultName) ? secret.properties.secretUri : ''
