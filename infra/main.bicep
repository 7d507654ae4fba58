// nextoffer on Azure: one resource group with everything the Function App needs, wired by a
// user-assigned managed identity (no keys in app settings except Redis, see modules/redis.bicep).
// Deployed by `azd up` (azure.yaml at the repository root); parameters in main.parameters.json.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Region of every resource. Flex Consumption is available in a subset of regions.')
param location string

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID). Gets data access to Cosmos DB, the archive and Event Hubs so the CLI tools work against the cloud. Empty to skip.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal'])
@description('Kind of principalId.')
param principalType string = 'User'

@minValue(1)
@maxValue(32)
@description('Partitions of the clickstream hub. Bounds the aggregate function\'s parallelism; cannot be changed later on the Standard tier.')
param eventHubPartitionCount int = 4

@allowed(['serverless', 'provisioned'])
@description('Cosmos DB capacity mode: serverless (pay per request, best for demos and spiky load) or provisioned autoscale throughput shared by the database.')
param cosmosCapacityMode string = 'serverless'

@minValue(1000)
@maxValue(1000000)
@description('With provisioned capacity: the database\'s autoscale maximum RU/s (it scales between 10% and 100% of it).')
param cosmosAutoscaleMaxThroughput int = 1000

@allowed(['C0', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6'])
@description('Azure Cache for Redis size (Basic tier). C0 is 250 MB, enough for cold-start scores.')
param redisSkuCapacity string = 'C0'

@description('Put the Redis URL (it embeds the access key) in Key Vault and give the app a Key Vault reference; false puts the URL in the app setting directly.')
param redisSecretInKeyVault bool = true

@description('Comma-separated origins allowed to call /api/events and /api/offer from a browser, e.g. https://shop.example. Empty allows none.')
param corsAllowedOrigins string = ''

@description('The nightly campaign batch: its leads CSV, a path in the deployed package (relative to the app folder). Empty leaves the batch disabled.')
param campaignBatchLeadsPath string = ''

@description('The nightly campaign batch: its optional touch history CSV in the package.')
param campaignBatchTouchesPath string = ''

@description('The nightly campaign batch: its campaigns CSV in the package, needed when the model was trained with campaign attributes.')
param campaignBatchCampaignsPath string = ''

@description('The nightly campaign batch: its products CSV in the package, needed when the model was trained with product attributes.')
param campaignBatchProductsPath string = ''

@description('Further app settings, e.g. the batch\'s CAMPAIGN_BATCH_*_COLUMN mapping, CAMPAIGN_BATCH_DELIMITER or the OFFER_* tuning (docs/local-development.md lists them). Applied after the settings above, so they override them, but not the host\'s own (modules/functionApp.bicep: storage, Redis, monitoring); kept across provisions, unlike settings changed by hand.')
param extraAppSettings object = {}

@minValue(40)
@maxValue(1000)
@description('Flex Consumption: most instances the app scales out to.')
param maximumInstanceCount int = 100

@allowed([512, 2048, 4096])
@description('Flex Consumption: memory per instance in MB. The ONNX model and its runtime fit in 2048.')
param instanceMemoryMB int = 2048

var tags = { 'azd-env-name': environmentName, application: 'nextoffer' }
// Stable per subscription, environment and region, so repeated `azd up` updates the same resources.
var token = toLower(uniqueString(subscription().id, environmentName, location))
var eventHubName = 'clickstream'
var consumerGroupName = 'aggregate'
var databaseName = 'nextoffer'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-nextoffer-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-nextoffer-${token}'
    applicationInsightsName: 'appi-nextoffer-${token}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module hostStorage 'modules/hostStorage.bicep' = {
  name: 'hostStorage'
  scope: rg
  params: {
    name: 'stfn${token}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${take(token, 7)}'
    appPrincipalId: identity.outputs.principalId
  }
}

module archiveStorage 'modules/archiveStorage.bicep' = {
  name: 'archiveStorage'
  scope: rg
  params: {
    name: 'starc${token}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: principalId
    developerPrincipalType: principalType
  }
}

module eventHubs 'modules/eventHubs.bicep' = {
  name: 'eventHubs'
  scope: rg
  params: {
    namespaceName: 'evhns-nextoffer-${token}'
    eventHubName: eventHubName
    consumerGroupName: consumerGroupName
    partitionCount: eventHubPartitionCount
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: principalId
    developerPrincipalType: principalType
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    accountName: 'cosmos-nextoffer-${token}'
    databaseName: databaseName
    capacityMode: cosmosCapacityMode
    autoscaleMaxThroughput: cosmosAutoscaleMaxThroughput
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    developerPrincipalId: principalId
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  scope: rg
  params: {
    name: 'redis-nextoffer-${token}'
    skuCapacity: redisSkuCapacity
    location: location
    tags: tags
    keyVaultName: redisSecretInKeyVault ? 'kv-nxo-${take(token, 14)}' : ''
    appPrincipalId: identity.outputs.principalId
  }
}

// The app's own settings: identity-based connections and names (the host's are in functionApp.bicep).
var appSettings = {
  EventHubConnection__fullyQualifiedNamespace: eventHubs.outputs.fullyQualifiedNamespace
  EventHubConnection__credential: 'managedidentity'
  EventHubConnection__clientId: identity.outputs.clientId
  EVENTHUB_NAME: eventHubName
  EVENTHUB_CONSUMER_GROUP: consumerGroupName
  CosmosDBConnection__accountEndpoint: cosmos.outputs.endpoint
  CosmosDBConnection__credential: 'managedidentity'
  CosmosDBConnection__clientId: identity.outputs.clientId
  COSMOS_DATABASE: databaseName
  ArchiveStorage__blobServiceUri: archiveStorage.outputs.blobEndpoint
  ArchiveStorage__credential: 'managedidentity'
  ArchiveStorage__clientId: identity.outputs.clientId
  CORS_ALLOWED_ORIGINS: corsAllowedOrigins
}

// The nightly campaign batch plans the leads of a file shipped with the app, which a fresh deployment does
// not have (docs/deploy.md, "Campaign optimisation"): off until a path is given. Parameters, not settings
// set by hand, since the app's settings are replaced whole at each provision. `AzureWebJobs_<name>_Disabled`
// is the form of the setting Linux accepts.
var campaignBatchTouches = empty(campaignBatchTouchesPath) ? {} : { CAMPAIGN_BATCH_TOUCHES_PATH: campaignBatchTouchesPath }
var campaignBatchCampaigns = empty(campaignBatchCampaignsPath) ? {} : { CAMPAIGN_BATCH_CAMPAIGNS_PATH: campaignBatchCampaignsPath }
var campaignBatchProducts = empty(campaignBatchProductsPath) ? {} : { CAMPAIGN_BATCH_PRODUCTS_PATH: campaignBatchProductsPath }
var campaignBatchSettings = empty(campaignBatchLeadsPath)
  ? { AzureWebJobs_campaignBatchPlan_Disabled: 'true' }
  : union({ AzureWebJobs_campaignBatchPlan_Disabled: 'false', CAMPAIGN_BATCH_LEADS_PATH: campaignBatchLeadsPath }, campaignBatchTouches, campaignBatchCampaigns, campaignBatchProducts)

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    appName: 'func-nextoffer-${token}'
    planName: 'plan-nextoffer-${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageAccountName: hostStorage.outputs.name
    deploymentContainerUrl: hostStorage.outputs.deploymentContainerUrl
    applicationInsightsConnectionString: monitoring.outputs.applicationInsightsConnectionString
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    redisName: redis.outputs.name
    redisSecretUri: redis.outputs.secretUri
    appSettings: union(appSettings, campaignBatchSettings, extraAppSettings)
  }
  // No dependsOn needed: using a module's outputs waits for the whole module, role assignments
  // included, so the app starts only once its identity has its rights.
}

// Outputs: azd stores them in the environment (.azure/<env>/.env) for `azd deploy` and the CLI tools.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = functionApp.outputs.uri
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output EVENTHUB_NAMESPACE string = eventHubs.outputs.fullyQualifiedNamespace
output EVENTHUB_NAME string = eventHubName
output EVENTHUB_CONSUMER_GROUP string = consumerGroupName
output COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output COSMOS_DATABASE string = databaseName
output ARCHIVE_BLOB_ENDPOINT string = archiveStorage.outputs.blobEndpoint
output REDIS_HOST string = redis.outputs.hostName
