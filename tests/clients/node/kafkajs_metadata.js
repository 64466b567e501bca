// Reads a broker's cluster metadata with kafkajs 2.2 and prints what kafkajs decoded as one JSON
// object on stdout; used by tests/integration/test_kafkajs.py.
//   node kafkajs_metadata.js BOOTSTRAP [CA_FILE]
// With CA_FILE the connection is TLS, trusting only that CA (and checking the host name).
'use strict'
const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

async function main () {
  const [bootstrap, caFile] = process.argv.slice(2)
  if (!bootstrap) {
    console.error('usage: node kafkajs_metadata.js BOOTSTRAP [CA_FILE]')
    process.exit(2)
  }
  const kafka = new Kafka({
    clientId: 'quire-it-kafkajs',
    brokers: [bootstrap],
    ssl: caFile
      ? { ca: [fs.readFileSync(caFile, 'utf8')], rejectUnauthorized: true }
      : false,
    connectionTimeout: 10000,
    requestTimeout: 10000,
    retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 500 },
    logLevel: logLevel.ERROR
  })
  const admin = kafka.admin()
  const out = { kafkajs: require('kafkajs/package.json').version, node: process.versions.node }
  await admin.connect()
  try {
    // { brokers: [{ nodeId, host, port }], controller, clusterId }
    out.cluster = await admin.describeCluster()
    out.topics = await admin.listTopics()
    try {
      out.missing = { result: await admin.fetchTopicMetadata({ topics: ['missing'] }) }
    } catch (e) {
      out.missing = {
        error: { name: e.name, type: e.type, code: e.code, retriable: e.retriable,
          message: e.message }
      }
    }
  } finally {
    await admin.disconnect()
  }
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((e) => {
  console.error(`kafkajs_metadata: ${e.stack || e}`)
  process.exit(1)
})
