// Event Hubs namespace with the clickstream hub and the aggregate function's consumer group.
// Local (SAS) authentication is off: ingest sends and aggregate receives with the app's identity.
import { roleIds } from 'roles.bicep'

param namespaceName string
param eventHubName string
param consumerGroupName string
@minValue(1)
@maxValue(32)
param partitionCount int
param location string
param tags object
param appPrincipalId string
@description('Deploying user; empty to skip.')
param developerPrincipalId string
param developerPrincipalType string

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  // Standard: consumer groups beyond $Default and auto-inflate; Basic allows neither.
  sku: { name: 'Standard', tier: 'Standard', capacity: 1 }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    isAutoInflateEnabled: true
    maximumThroughputUnits: 4
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: partitionCount
    // The archive in Blob is the long-term record; the hub only buffers.
    messageRetentionInDays: 1
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
}

var appRoles = [roleIds.eventHubsDataSender, roleIds.eventHubsDataReceiver]

resource appRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in appRoles: {
    name: guid(hub.id, appPrincipalId, role)
    scope: hub
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: appPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource developerRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in appRoles: if (!empty(developerPrincipalId)) {
    name: guid(hub.id, developerPrincipalId, role)
    scope: hub
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: developerPrincipalId
      principalType: developerPrincipalType
    }
  }
]

output namespaceName string = namespace.name
output fullyQualifiedNamespace string = '${namespace.name}.servicebus.windows.net'
