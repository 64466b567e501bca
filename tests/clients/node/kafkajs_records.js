// Produces and reads records with kafkajs 2.2 and prints what kafkajs decoded as one JSON object on
// stdout; used by tests/integration/test_kafkajs_records.py.
//   node kafkajs_records.js BOOTSTRAP TOPIC COUNT
// COUNT messages go to partition 0 of TOPIC (which must exist): the first half through a plain
// producer (acks=-1, gzip), the second half through an idempotent producer (InitProducerId;
// acks=-1, uncompressed); message i has key "key-i", value "value-i", headers n=i and
// dup=[a, b], timestamp BASE_TS + 10 i. Then admin.fetchTopicOffsets (ListOffsets earliest and
// latest) and fetchTopicOffsetsByTimestamp, and the records read back.
//
// kafkajs has no consumer without a group (its consumer always joins one, and consumer groups come
// later in Quire), so the records are read with kafkajs's own Fetch request: the Broker object
// of its cluster (the one its consumer uses), reached through the Kafka instance's private
// cluster factory. A fetch at an offset past the end reports the error kafkajs raises.
'use strict'
const { Kafka, CompressionTypes, logLevel } = require('kafkajs')

const BASE_TS = 1700000000000

function message (i) {
  return {
    partition: 0,
    key: `key-${i}`,
    value: `value-${i}`,
    headers: { n: String(i), dup: ['a', 'b'] },
    timestamp: String(BASE_TS + 10 * i)
  }
}

function plainHeaders (headers) {
  const out = {}
  for (const [k, v] of Object.entries(headers || {})) {
    out[k] = Array.isArray(v) ? v.map(String) : String(v)
  }
  return out
}

function plainError (e) {
  return { name: e.name, type: e.type, code: e.code, message: e.message }
}

async function main () {
  const [bootstrap, topic, countArg] = process.argv.slice(2)
  const count = Number(countArg)
  if (!bootstrap || !topic || !count) {
    console.error('usage: node kafkajs_records.js BOOTSTRAP TOPIC COUNT')
    process.exit(2)
  }
  const kafka = new Kafka({
    clientId: 'quire-it-kafkajs',
    brokers: [bootstrap],
    connectionTimeout: 10000,
    requestTimeout: 15000,
    retry: { retries: 3, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING
  })
  const out = { kafkajs: require('kafkajs/package.json').version, sent: [] }
  const half = Math.floor(count / 2)

  const plain = kafka.producer({ allowAutoTopicCreation: false })
  await plain.connect()
  out.sent.push(...await plain.send({
    topic,
    acks: -1,
    compression: CompressionTypes.GZIP,
    messages: Array.from({ length: half }, (_, i) => message(i))
  }))
  await plain.disconnect()

  const idempotent = kafka.producer({ allowAutoTopicCreation: false, idempotent: true,
    maxInFlightRequests: 1 })
  await idempotent.connect()
  out.sent.push(...await idempotent.send({
    topic,
    acks: -1,
    messages: Array.from({ length: count - half }, (_, i) => message(half + i))
  }))
  await idempotent.disconnect()

  const admin = kafka.admin()
  await admin.connect()
  out.offsets = await admin.fetchTopicOffsets(topic)
  out.byTimestamp = {}
  for (const ts of [BASE_TS - 1, BASE_TS + 10 * half - 5, BASE_TS + 10 * count]) {
    out.byTimestamp[ts] = await admin.fetchTopicOffsetsByTimestamp(topic, ts)
  }
  await admin.disconnect()

  const createCluster = Object.getOwnPropertySymbols(kafka)
    .find(s => s.description === 'private:Kafka:createCluster')
  const cluster = kafka[createCluster]({ allowAutoTopicCreation: false })
  await cluster.connect()
  await cluster.addTargetTopic(topic)
  const [{ leader }] = cluster.findTopicPartitionMetadata(topic)
  const broker = await cluster.findBroker({ nodeId: leader })
  const fetch = offset => broker.fetch({
    maxWaitTime: 100,
    minBytes: 1,
    maxBytes: 1 << 20,
    topics: [{ topic, partitions: [{ partition: 0, fetchOffset: String(offset), maxBytes: 1 << 20 }] }]
  })
  out.records = []
  out.fetchVersions = null
  let next = 0
  for (let round = 0; round < 1000 && next < count; round++) {
    const response = await fetch(next)
    const [partition] = response.responses[0].partitions
    out.highWatermark = partition.highWatermark
    for (const m of partition.messages) {
      if (Number(m.offset) < next) continue // a batch may start before the fetch offset
      out.records.push({
        offset: m.offset,
        key: m.key && m.key.toString(),
        value: m.value && m.value.toString(),
        timestamp: m.timestamp,
        headers: plainHeaders(m.headers)
      })
      next = Number(m.offset) + 1
    }
  }
  try {
    out.pastEnd = { result: await fetch(count + 100) }
  } catch (e) {
    out.pastEnd = { error: plainError(e) }
  }
  await cluster.disconnect()
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((e) => {
  console.error(`kafkajs_records: ${e.stack || e}`)
  process.exit(1)
})
