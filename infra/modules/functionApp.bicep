// The Function App on Flex Consumption (Linux, Node 20), running as the user-assigned identity.
// Every connection is identity-based (`<Connection>__credential` = managedidentity, `__clientId` = the
// identity) except Redis (see redis.bicep). The deployment package lives in the host storage account
// and is fetched with the same identity.
param appName string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param hostStorageAccountName string
param deploymentContainerUrl string
param applicationInsightsConnectionString string
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int
@allowed([512, 2048, 4096])
param instanceMemoryMB int
param redisName string
@description('Key Vault secret holding the Redis URL; empty to build the URL from the cache\'s keys here.')
param redisSecretUri string
@description('App settings of the app itself (connections, names); merged with the host settings below.')
param appSettings object

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource redis 'Microsoft.Cache/redis@2024-03-01' existing = {
  name: redisName
}

var redisConnection = empty(redisSecretUri)
  ? 'rediss://:${uriComponent(redis.listKeys().primaryKey)}@${redis.properties.hostName}:${redis.properties.sslPort}'
  : '@Microsoft.KeyVault(SecretUri=${redisSecretUri})'

var hostSettings = {
  // The host's own storage, through the identity (no connection string, shared keys are off).
  AzureWebJobsStorage__accountName: hostStorageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // Application Insights has local auth off: telemetry is sent with the identity.
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // The SDK clients in shared/runtime use DefaultAzureCredential, which picks a user-assigned identity
  // by this variable.
  AZURE_CLIENT_ID: identityClientId
  RedisConnection: redisConnection
  // The remote build's npm install sees app settings as environment variables: onnxruntime-node's
  // install step would otherwise download GPU libraries; its CPU build is inside the package.
  ONNXRUNTIME_NODE_INSTALL: 'skip'
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  // azd finds the app to deploy the `api` service to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // CORS is answered by the functions themselves (CORS_ALLOWED_ORIGINS), so that the local host and
      // Azure behave the same; the platform's CORS stays empty.
      cors: { allowedOrigins: [] }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: 'node', version: '20' }
    }
  }
}

// The settings as the site's `appsettings` resource rather than a loop in siteConfig: Bicep refuses a
// loop over values known only while deploying (BCP178), and the Redis URL comes from `listKeys`.
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: union(appSettings, hostSettings)
}

output name string = app.name
output uri string = 'https://${app.properties.defaultHostName}'
