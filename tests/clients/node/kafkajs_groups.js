// Two kafkajs 2.2 consumers in one group, then kafkajs's admin on that group; prints what kafkajs
// reported as one JSON object on stdout. Used by tests/integration/test_kafkajs_groups.py.
//   node kafkajs_groups.js BOOTSTRAP TOPIC GROUP COUNT
// TOPIC must exist. The consumers "c1" and "c2" (clientId quire-it-c1/c2) join GROUP and run
// eachMessage; once both report a GROUP_JOIN and together hold every partition, COUNT messages
// (value "v<i>", key "k<i>") go to partition i % partitions. When all COUNT were consumed (and a
// second passed, for duplicates to show), while both consumers are still in the group:
// admin.describeGroups (member assignments decoded with kafkajs's AssignerProtocol) and
// admin.deleteGroups (which must fail: the group has members). Then both disconnect (committing
// what they consumed), and: fetchOffsets, describeGroups, listGroups, deleteGroups, listGroups,
// fetchOffsets again.
//
// Output: {kafkajs, partitions, joins: {c1: [...], c2: [...]} (GROUP_JOIN payloads: memberId,
// leaderId, isLeader, groupProtocol, memberAssignment), crashes, consumed: [[consumer,
// partition, offset, value]], describeActive, deleteActive: {error} or {result},
// offsets, describeAfter, listAfter, deleted, listAfterDelete, offsetsAfterDelete}.
'use strict'
const { Kafka, AssignerProtocol, logLevel } = require('kafkajs')

const WAIT_MS = 30000

// Filled as the run goes; printed to stderr too when it fails.
const out = { kafkajs: require('kafkajs/package.json').version, joins: {}, crashes: [],
  consumed: [] }

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function waitFor (probe, what) {
  const deadline = Date.now() + WAIT_MS
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms`)
    await sleep(20)
  }
}

function plainError (e) {
  return { name: e.name, type: e.type, code: e.code, message: e.message, groups: e.groups &&
    e.groups.map(g => ({ groupId: g.groupId, errorCode: g.errorCode })) }
}

function plainDescription ({ groups }) {
  return groups.map(g => ({
    groupId: g.groupId,
    errorCode: g.errorCode,
    state: g.state,
    protocolType: g.protocolType,
    protocol: g.protocol,
    members: g.members.map(m => {
      const assignment = m.memberAssignment && m.memberAssignment.length
        ? AssignerProtocol.MemberAssignment.decode(m.memberAssignment) : null
      const metadata = m.memberMetadata && m.memberMetadata.length
        ? AssignerProtocol.MemberMetadata.decode(m.memberMetadata) : null
      return {
        memberId: m.memberId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscription: metadata && metadata.topics,
        assignment: assignment && assignment.assignment
      }
    })
  }))
}

async function main () {
  const [bootstrap, topic, groupId, countArg] = process.argv.slice(2)
  const count = Number(countArg)
  if (!bootstrap || !topic || !groupId || !count) {
    console.error('usage: node kafkajs_groups.js BOOTSTRAP TOPIC GROUP COUNT')
    process.exit(2)
  }
  const kafka = name => new Kafka({
    clientId: `quire-it-${name}`,
    brokers: [bootstrap],
    connectionTimeout: 10000,
    requestTimeout: 15000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: logLevel.NOTHING
  })
  const admin = kafka('admin').admin()
  await admin.connect()
  const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
  out.partitions = meta.partitions.length

  const consumers = {}
  for (const name of ['c1', 'c2']) {
    const consumer = kafka(name).consumer({
      groupId,
      sessionTimeout: 6000,
      rebalanceTimeout: 10000,
      heartbeatInterval: 500,
      maxWaitTimeInMs: 100,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 }
    })
    out.joins[name] = []
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      out.joins[name].push({
        memberId: payload.memberId,
        leaderId: payload.leaderId,
        isLeader: payload.isLeader,
        groupProtocol: payload.groupProtocol,
        memberAssignment: payload.memberAssignment
      })
    })
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      out.crashes.push({ consumer: name, error: plainError(payload.error) })
    })
    await consumer.connect()
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        out.consumed.push([name, partition, message.offset, message.value.toString()])
      }
    })
    consumers[name] = consumer
  }

  // Both in one generation, holding every partition between them.
  const lastAssignment = name => {
    const joins = out.joins[name]
    return joins.length ? (joins[joins.length - 1].memberAssignment[topic] || []) : null
  }
  await waitFor(() => {
    const a = lastAssignment('c1')
    const b = lastAssignment('c2')
    return a && b && a.length + b.length === out.partitions &&
      new Set([...a, ...b]).size === out.partitions
  }, 'assignment over both consumers')

  const producer = kafka('producer').producer({ allowAutoTopicCreation: false })
  await producer.connect()
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: count }, (_, i) => ({
      partition: i % out.partitions, key: `k${i}`, value: `v${i}`
    }))
  })
  await producer.disconnect()
  await waitFor(() => out.consumed.length >= count, `${count} messages consumed`)
  await sleep(1000)

  out.describeActive = plainDescription(await admin.describeGroups([groupId]))
  try {
    out.deleteActive = { result: await admin.deleteGroups([groupId]) }
  } catch (e) {
    out.deleteActive = { error: plainError(e) }
  }

  for (const consumer of Object.values(consumers)) await consumer.disconnect()

  out.offsets = await admin.fetchOffsets({ groupId, topics: [topic] })
  out.describeAfter = plainDescription(await admin.describeGroups([groupId]))
  out.listAfter = (await admin.listGroups()).groups
  try {
    out.deleted = { result: await admin.deleteGroups([groupId]) }
  } catch (e) {
    out.deleted = { error: plainError(e) }
  }
  out.listAfterDelete = (await admin.listGroups()).groups
  out.offsetsAfterDelete = await admin.fetchOffsets({ groupId, topics: [topic] })
  await admin.disconnect()
  process.stdout.write(JSON.stringify(out) + '\n')
}

main().catch((e) => {
  console.error(`kafkajs_groups: ${e.stack || e}`)
  console.error(`so far: ${JSON.stringify(out)}`)
  process.exit(1)
})
