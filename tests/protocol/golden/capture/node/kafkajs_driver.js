// Drives kafkajs 2.2 through every API it can send, against the capture broker.
//   node kafkajs_driver.js BOOTSTRAP
// Deliberate values: client id golden-kafkajs, topic golden-topic, group golden-group,
// transactional id golden-txn, created topic golden-created (3 partitions, retention.ms=3600000).
'use strict'
const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes,
  ResourcePatternTypes, ConfigResourceTypes } = require('kafkajs')

const broker = process.argv[2]
const kafka = new Kafka({ clientId: 'golden-kafkajs', brokers: [broker], logLevel: logLevel.NOTHING,
  retry: { retries: 1, initialRetryTime: 100 } })

async function step (name, fn) {
  try {
    await fn()
    console.error(`kafkajs_driver: ${name}: ok`)
  } catch (e) {
    console.error(`kafkajs_driver: ${name}: ${e.message}`)
  }
}

const msg = { key: 'golden-key', value: 'golden-value', partition: 0, headers: { 'golden-header': 'h' } }

async function main () {
  await step('idempotent produce', async () => {
    const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
    await p.connect()
    await p.send({ topic: 'golden-topic', acks: -1, messages: [msg] })
    await p.disconnect()
  })
  await step('transaction', async () => {
    const p = kafka.producer({ transactionalId: 'golden-txn', idempotent: true, maxInFlightRequests: 1 })
    await p.connect()
    const t = await p.transaction()
    await t.send({ topic: 'golden-topic', messages: [msg] })
    await t.sendOffsets({ consumerGroupId: 'golden-group',
      topics: [{ topic: 'golden-topic', partitions: [{ partition: 0, offset: '1' }] }] })
    await t.commit()
    await p.disconnect()
  })
  await step('consumer group', async () => {
    const c = kafka.consumer({ groupId: 'golden-group', heartbeatInterval: 100, sessionTimeout: 6000,
      rackId: 'golden-rack', maxWaitTimeInMs: 100 })
    await c.connect()
    await c.subscribe({ topic: 'golden-topic', fromBeginning: true })
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000)
      c.run({ autoCommit: false, eachMessage: async ({ topic, partition, message }) => {
        await c.commitOffsets([{ topic, partition, offset: (Number(message.offset) + 1).toString() }])
        clearTimeout(timer)
        setTimeout(resolve, 500)
      } })
    })
    await c.disconnect()
  })
  const a = kafka.admin()
  await a.connect()
  await step('createTopics', () => a.createTopics({ topics: [{ topic: 'golden-created', numPartitions: 3,
    replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }))
  await step('createPartitions', () => a.createPartitions({ topicPartitions: [{ topic: 'golden-created', count: 5 }] }))
  await step('fetchTopicMetadata', () => a.fetchTopicMetadata({ topics: ['golden-topic'] }))
  await step('fetchTopicOffsets', () => a.fetchTopicOffsets('golden-topic'))
  await step('fetchTopicOffsetsByTimestamp', () => a.fetchTopicOffsetsByTimestamp('golden-topic', 1600000000000))
  await step('fetchOffsets', () => a.fetchOffsets({ groupId: 'golden-group', topics: ['golden-topic'] }))
  await step('setOffsets', () => a.setOffsets({ groupId: 'golden-group', topic: 'golden-topic',
    partitions: [{ partition: 0, offset: '7' }] }))
  await step('describeConfigs', () => a.describeConfigs({ includeSynonyms: true,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'golden-topic', configNames: ['cleanup.policy'] }] }))
  await step('alterConfigs', () => a.alterConfigs({ validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: 'golden-topic',
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] }))
  await step('deleteTopicRecords', () => a.deleteTopicRecords({ topic: 'golden-topic',
    partitions: [{ partition: 0, offset: '1' }] }))
  const acl = { resourceType: AclResourceTypes.TOPIC, resourceName: 'golden-topic',
    resourcePatternType: ResourcePatternTypes.LITERAL, principal: 'User:golden', host: '*',
    operation: AclOperationTypes.READ, permissionType: AclPermissionTypes.ALLOW }
  await step('createAcls', () => a.createAcls({ acl: [acl] }))
  await step('describeAcls', () => a.describeAcls(acl))
  await step('deleteAcls', () => a.deleteAcls({ filters: [acl] }))
  await step('listGroups', () => a.listGroups())
  await step('describeGroups', () => a.describeGroups(['golden-group']))
  await step('describeCluster', () => a.describeCluster())
  await step('deleteGroups', () => a.deleteGroups(['golden-group']))
  await step('deleteTopics', () => a.deleteTopics({ topics: ['golden-created'] }))
  await a.disconnect()
  await step('sasl', async () => {
    const k = new Kafka({ clientId: 'golden-kafkajs', brokers: [broker], logLevel: logLevel.NOTHING,
      sasl: { mechanism: 'plain', username: 'golden', password: 'golden-secret' } })
    const ad = k.admin()
    await ad.connect()
    await ad.listTopics()
    await ad.disconnect()
  })
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })
