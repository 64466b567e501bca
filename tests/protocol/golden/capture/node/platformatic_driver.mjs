// Drives @platformatic/kafka 1.x through the APIs it sends, against the capture broker.
//   node platformatic_driver.mjs BOOTSTRAP
// Deliberate values: client id golden-platformatic, topic golden-topic, group golden-group,
// created topic golden-created (3 partitions, retention.ms=3600000).
import { Admin, Consumer, Producer, stringSerializers, stringDeserializers } from '@platformatic/kafka'

const broker = process.argv[2]
const base = { clientId: 'golden-platformatic', bootstrapBrokers: [broker], retries: 1, timeout: 5000 }

async function step (name, fn) {
  try {
    await fn()
    console.error(`platformatic_driver: ${name}: ok`)
  } catch (e) {
    console.error(`platformatic_driver: ${name}: ${e.message}`)
  }
}

const producer = new Producer({ ...base, serializers: stringSerializers, idempotent: true })
await step('produce', () => producer.send({ messages: [{ topic: 'golden-topic', partition: 0,
  key: 'golden-key', value: 'golden-value', headers: { 'golden-header': 'h' } }] }))
await producer.close()

const consumer = new Consumer({ ...base, groupId: 'golden-group', deserializers: stringDeserializers,
  heartbeatInterval: 100, sessionTimeout: 6000, maxWaitTime: 100 })
await step('consume', async () => {
  const stream = await consumer.consume({ autocommit: false, topics: ['golden-topic'], mode: 'earliest' })
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, 4000)
    stream.on('data', async (message) => {
      clearTimeout(timer)
      try { await message.commit() } catch (e) { console.error('commit', e.message) }
      setTimeout(resolve, 500)
    })
  })
  await stream.close()
})
await step('listCommittedOffsets', () => consumer.listCommittedOffsets({ topics: [{ topic: 'golden-topic', partitions: [0] }] }))
await step('listOffsets', () => consumer.listOffsets({ topics: ['golden-topic'] }))
await consumer.close(true)

const admin = new Admin(base)
await step('createTopics', () => admin.createTopics({ topics: ['golden-created'], partitions: 3, replicas: 1,
  configs: [{ name: 'retention.ms', value: '3600000' }] }))
await step('createPartitions', () => admin.createPartitions({ topics: [{ name: 'golden-created', count: 5, assignments: [] }] }))
await step('listTopics', () => admin.listTopics())
await step('describeConfigs', () => admin.describeConfigs({ resources: [{ resourceType: 2, resourceName: 'golden-topic', configurationKeys: ['cleanup.policy'] }] }))
await step('listGroups', () => admin.listGroups())
await step('describeGroups', () => admin.describeGroups({ groups: ['golden-group'] }))
await step('deleteGroups', () => admin.deleteGroups({ groups: ['golden-group'] }))
await step('deleteTopics', () => admin.deleteTopics({ topics: ['golden-created'] }))
await admin.close()
process.exit(0)
