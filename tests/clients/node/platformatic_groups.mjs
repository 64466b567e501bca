// Two @platformatic/kafka 1.x consumers in one group, then its Admin on that group; prints what the
// client reported as one JSON object on stdout. Used by tests/integration/test_platformatic_groups.py.
//   node platformatic_groups.mjs BOOTSTRAP TOPIC GROUP COUNT
// TOPIC must exist. The consumers "c1" and "c2" (clientId quire-it-c1/c2, the classic protocol:
// FindCoordinator, JoinGroup, SyncGroup, Heartbeat in the flexible versions this client insists
// on) join GROUP through Consumer.consume (mode committed, falling back to earliest; no
// autocommit: every message is committed with message.commit(), an OffsetCommit of offset + 1).
// consume() resolves once the consumer joined, so c1 is alone first and takes every partition;
// c2 joins after it, which makes c1 rebalance.
// Once both report a consumer:group:join and together hold every partition, COUNT messages
// (key "k<i>", value "v<i>") go to partition i % partitions. When all COUNT were consumed (and a
// second passed, for duplicates to show), while both consumers are still in the group:
// admin.describeGroups, admin.listGroups (unfiltered, states STABLE, states EMPTY) and
// admin.deleteGroups (which must fail: the group has members). Then both streams close and both
// consumers leave (LeaveGroup), and: listConsumerGroupOffsets (OffsetFetch) next to the partitions'
// end offsets (admin.listOffsets), describeGroups, listGroups (unfiltered and states EMPTY),
// deleteConsumerGroupOffsets (OffsetDelete) of the last partition and listConsumerGroupOffsets
// again, deleteGroups, listGroups and listConsumerGroupOffsets once more.
//
// Output: {version, partitions, joins: {c1: [...], c2: [...]} (consumer:group:join payloads),
// errors (consumer or stream errors), consumed: [[consumer, partition, offset, key, value]],
// describeActive, listActive, listActiveStable, listActiveEmpty, deleteActive: {error} or {ok},
// ends, committed, describeAfter, listAfter, listAfterEmpty, offsetDelete, committedAfterOffsetDelete,
// deleted, listAfterDelete, committedAfterDelete, requests: {apiKey: [versions sent]}}.
// Needs Node.js >= 20.19.4 (see platformatic_metadata.mjs).
import { subscribe } from 'node:diagnostics_channel'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const [bootstrap, topic, groupId, countArg] = process.argv.slice(2)
const count = Number(countArg)
if (!bootstrap || !topic || !groupId || !count) {
  console.error('usage: node platformatic_groups.mjs BOOTSTRAP TOPIC GROUP COUNT')
  process.exit(2)
}

const { Admin, Consumer, Producer, stringSerializers, stringDeserializers } =
  await import('@platformatic/kafka')
const WAIT_MS = 30000

// Every request version this process sent, by API key: the proof of which versions were used.
const sent = new Map()
subscribe('tracing:plt:kafka:connections:api:start', ({ apiKey, apiVersion }) => {
  if (!sent.has(apiKey)) sent.set(apiKey, new Set())
  sent.get(apiKey).add(apiVersion)
})

// The package's exports leave out package.json: read it from node_modules next to this file.
const packageJson = join(fileURLToPath(new URL('.', import.meta.url)), 'node_modules',
  '@platformatic', 'kafka', 'package.json')
const out = { version: JSON.parse(readFileSync(packageJson, 'utf8')).version, joins: {},
  errors: [], consumed: [] }

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

async function waitFor (probe, what) {
  const deadline = Date.now() + WAIT_MS
  while (!probe()) {
    if (out.errors.length) throw new Error(`client error while waiting for ${what}`)
    if (Date.now() > deadline) throw new Error(`no ${what} within ${WAIT_MS} ms`)
    await sleep(20)
  }
}

function plainError (e) {
  return { name: e.name, code: e.code, apiId: e.apiId, apiCode: e.apiCode, path: e.path,
    message: e.message, errors: (e.errors || []).map(plainError) }
}

// The Kafka error codes anywhere in an error tree (MultipleErrors > ResponseError > ProtocolError).
function apiCodes (e) {
  return [...(e.apiCode !== undefined ? [e.apiCode] : []), ...(e.errors || []).flatMap(apiCodes)]
}

async function attempt (what) {
  try {
    return { ok: await what() ?? null }
  } catch (e) {
    return { error: plainError(e), codes: apiCodes(e) }
  }
}

const plainList = groups => [...groups.values()].map(g => ({ id: g.id, state: g.state,
  groupType: g.groupType, protocolType: g.protocolType }))

const plainDescription = groups => [...groups.values()].map(g => ({
  id: g.id,
  state: g.state,
  protocolType: g.protocolType,
  protocol: g.protocol,
  members: [...g.members.values()].map(m => ({
    id: m.id,
    groupInstanceId: m.groupInstanceId,
    clientId: m.clientId,
    clientHost: m.clientHost,
    subscription: m.metadata ? m.metadata.topics : null,
    assignment: m.assignments
      ? [...m.assignments.values()].map(a => ({ topic: a.topic, partitions: a.partitions }))
      : null
  }))
}))

const plainCommitted = groups => groups.map(g => ({ groupId: g.groupId,
  topics: g.topics.map(t => ({ name: t.name,
    partitions: t.partitions.map(p => [p.partitionIndex, String(p.committedOffset)])
      .sort((a, b) => a[0] - b[0]) })) }))

const common = { bootstrapBrokers: [bootstrap], retries: 5, retryDelay: 100, timeout: 15000,
  strict: true }
const admin = new Admin({ ...common, clientId: 'quire-it-admin' })
const consumers = {}
const streams = {}
const fetchesSinceJoin = {}
const loops = []
let producer = null

async function main () {
  const md = await admin.metadata({ topics: [topic] })
  out.partitions = md.topics.get(topic).partitionsCount
  const allPartitions = Array.from({ length: out.partitions }, (_, p) => p)

  for (const name of ['c1', 'c2']) {
    const consumer = new Consumer({
      ...common,
      clientId: `quire-it-${name}`,
      groupId,
      sessionTimeout: 6000,
      rebalanceTimeout: 10000,
      heartbeatInterval: 500,
      maxWaitTime: 100,
      autocommit: false,
      deserializers: stringDeserializers
    })
    out.joins[name] = []
    fetchesSinceJoin[name] = 0
    consumer.on('consumer:group:join', payload => {
      fetchesSinceJoin[name] = 0
      out.joins[name].push({ memberId: payload.memberId, generationId: payload.generationId,
        isLeader: payload.isLeader,
        assignments: (payload.assignments || []).map(a => ({ topic: a.topic,
          partitions: [...a.partitions].sort((x, y) => x - y) })) })
    })
    consumer.on('error', e => out.errors.push({ consumer: name, error: plainError(e) }))
    consumer.on('consumer:heartbeat:error', ({ error }) =>
      out.errors.push({ consumer: name, heartbeat: true, error: plainError(error) }))
    consumers[name] = consumer
    const stream = await consumer.consume({ topics: [topic], mode: 'committed',
      fallbackMode: 'earliest' })
    streams[name] = stream
    stream.on('fetch', () => { fetchesSinceJoin[name]++ })
    loops.push((async () => {
      try {
        for await (const message of stream) {
          out.consumed.push([name, message.partition, String(message.offset), message.key,
            message.value])
          await message.commit()
        }
      } catch (e) {
        out.errors.push({ consumer: name, stream: true, error: plainError(e) })
      }
    })())
  }

  // Both in one generation, holding every partition between them.
  const last = name => {
    const joins = out.joins[name]
    return joins.length ? joins[joins.length - 1] : null
  }
  const owned = join => (join.assignments.find(a => a.topic === topic) || { partitions: [] })
    .partitions
  await waitFor(() => {
    const a = last('c1')
    const b = last('c2')
    if (!a || !b || a.generationId !== b.generationId) return false
    const all = [...owned(a), ...owned(b)]
    return all.length === out.partitions && new Set(all).size === out.partitions
  }, 'assignment over both consumers')
  // A stream keeps one Fetch in flight per broker and does not drop what a Fetch sent before
  // the rebalance returns for a partition it has since lost: with the messages produced now, c1
  // would consume c2's partitions from such a Fetch. Once a stream has seen two Fetch responses
  // after its consumer's last join, the second was sent after the join, with the new assignment.
  await waitFor(() => fetchesSinceJoin.c1 >= 2 && fetchesSinceJoin.c2 >= 2,
    'two fetches per consumer after the rebalance')

  producer = new Producer({ ...common, clientId: 'quire-it-producer', autocreateTopics: false,
    serializers: stringSerializers })
  await producer.send({
    acks: -1,
    messages: Array.from({ length: count }, (_, i) => ({
      topic, partition: i % out.partitions, key: `k${i}`, value: `v${i}` }))
  })
  await waitFor(() => out.consumed.length >= count, `${count} messages consumed`)
  await sleep(1000)

  out.describeActive = plainDescription(await admin.describeGroups({ groups: [groupId] }))
  out.listActive = plainList(await admin.listGroups())
  out.listActiveStable = plainList(await admin.listGroups({ states: ['STABLE'] }))
  out.listActiveEmpty = plainList(await admin.listGroups({ states: ['EMPTY'] }))
  out.deleteActive = await attempt(() => admin.deleteGroups({ groups: [groupId] }))

  // Leave: streams first (a consumer does not leave while it is consuming), then the consumers.
  await Promise.all(Object.values(streams).map(s => s.close()))
  await Promise.all(loops)
  for (const consumer of Object.values(consumers)) await consumer.close()

  const ends = await admin.listOffsets({ topics: [{ name: topic,
    partitions: allPartitions.map(p => ({ partitionIndex: p, timestamp: -1n })) }] })
  out.ends = ends.map(t => ({ name: t.name, partitions: t.partitions
    .map(p => [p.partitionIndex, String(p.offset)]).sort((a, b) => a[0] - b[0]) }))
  const committed = () => admin.listConsumerGroupOffsets({
    groups: [{ groupId, topics: [{ name: topic, partitionIndexes: allPartitions }] }] })
  out.committed = plainCommitted(await committed())
  out.describeAfter = plainDescription(await admin.describeGroups({ groups: [groupId] }))
  out.listAfter = plainList(await admin.listGroups())
  out.listAfterEmpty = plainList(await admin.listGroups({ states: ['EMPTY'] }))
  out.offsetDelete = await attempt(() => admin.deleteConsumerGroupOffsets({ groupId,
    topics: [{ name: topic, partitionIndexes: [out.partitions - 1] }] }))
  out.committedAfterOffsetDelete = plainCommitted(await committed())
  out.deleted = await attempt(() => admin.deleteGroups({ groups: [groupId] }))
  out.listAfterDelete = plainList(await admin.listGroups())
  out.committedAfterDelete = plainCommitted(await committed())
}

try {
  await main()
} catch (e) {
  console.error(`platformatic_groups: ${e.stack || e}`)
  if (e.errors) console.error(JSON.stringify(plainError(e), null, 1))
  process.exitCode = 1
} finally {
  // Bounded: a close that hangs must not keep the test waiting past its own timeout.
  const closeAll = Promise.allSettled([
    ...Object.values(streams).map(s => s.close()),
    ...Object.values(consumers).map(c => c.close(true)),
    ...(producer ? [producer.close()] : []),
    admin.close()])
  await Promise.race([closeAll, sleep(10000)])
}
out.requests = Object.fromEntries([...sent].map(([k, v]) => [k, [...v].sort((a, b) => a - b)]))
if (process.exitCode) {
  console.error(`so far: ${JSON.stringify(out)}`)
} else {
  process.stdout.write(JSON.stringify(out) + '\n')
}
process.exit()
