// Produces and reads records with @platformatic/kafka 1.x and prints what it decoded as one JSON
// object on stdout; used by tests/integration/test_platformatic_records.py.
//   node platformatic_records.mjs BOOTSTRAP TOPIC COUNT CODEC
// COUNT messages go to partition 0 of TOPIC (which must exist) in two sends of an idempotent
// Producer (InitProducerId, acks=all) compressed with CODEC (none, gzip, snappy, lz4, zstd):
// message i has key "key-i", value "value-i", headers n=i and codec=CODEC, timestamp
// BASE_TS + 10 i. Then the Consumer's listOffsets (earliest, latest, by timestamp) and
// listOffsetsWithTimestamps, and the records read back with Consumer.fetch (Fetch v17 by topic id,
// sent to the partition leader: no group is joined, consumer groups come later in Quire), and
// what a fetch past the end reports. Needs Node.js >= 20.19.4 (see platformatic_metadata.mjs).
const [bootstrap, topic, countArg, codec] = process.argv.slice(2)
const count = Number(countArg)
if (!bootstrap || !topic || !count || !codec) {
  console.error('usage: node platformatic_records.mjs BOOTSTRAP TOPIC COUNT CODEC')
  process.exit(2)
}

const { Producer, Consumer } = await import('@platformatic/kafka')
const BASE_TS = 1700000000000n

function message (i) {
  return {
    topic,
    partition: 0,
    key: Buffer.from(`key-${i}`),
    value: Buffer.from(`value-${i}`),
    headers: new Map([[Buffer.from('n'), Buffer.from(String(i))],
      [Buffer.from('codec'), Buffer.from(codec)]]),
    timestamp: BASE_TS + 10n * BigInt(i)
  }
}

function plainError (e) {
  const errors = (e.errors || []).map(plainError)
  return { name: e.name, code: e.code, apiCode: e.apiCode, apiId: e.apiId, message: e.message,
    errors }
}

const common = { clientId: 'quire-it-platformatic', bootstrapBrokers: [bootstrap], retries: 2,
  retryDelay: 100, timeout: 15000, strict: true }
const out = { sent: [] }
const producer = new Producer({ ...common, idempotent: true, autocreateTopics: false })
const consumer = new Consumer({ ...common, groupId: 'quire-it-not-joined' })
try {
  const half = Math.floor(count / 2)
  for (const [from, to] of [[0, half], [half, count]]) {
    const result = await producer.send({
      messages: Array.from({ length: to - from }, (_, i) => message(from + i)),
      compression: codec
    })
    out.sent.push(...result.offsets.map(o => ({ ...o, offset: String(o.offset) })))
  }

  const offsetsAt = async (timestamp) => {
    const offsets = await consumer.listOffsets({ topics: [topic], timestamp })
    return offsets.get(topic).map(String)
  }
  out.earliest = await offsetsAt(-2n)
  out.latest = await offsetsAt(-1n)
  out.byTimestamp = {}
  for (const ts of [BASE_TS - 1n, BASE_TS + 10n * BigInt(half) - 5n, BASE_TS + 10n * BigInt(count)]) {
    out.byTimestamp[String(ts)] = await offsetsAt(ts)
  }
  const withTs = await consumer.listOffsetsWithTimestamps({ topics: [topic],
    timestamp: BASE_TS + 10n * BigInt(half) - 5n })
  out.withTimestamp = [...withTs.get(topic)].map(([p, { offset, timestamp }]) =>
    [p, String(offset), String(timestamp)])

  const md = await consumer.metadata({ topics: [topic] })
  const { id: topicId, partitions } = md.topics.get(topic)
  const leader = partitions[0].leader
  const fetch = (offset) => consumer.fetch({
    node: leader,
    maxWaitTime: 100,
    topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: BigInt(offset),
      currentLeaderEpoch: partitions[0].leaderEpoch, lastFetchedEpoch: -1,
      partitionMaxBytes: 1 << 20 }] }]
  })
  out.records = []
  let next = 0n
  for (let round = 0; round < 1000 && next < BigInt(count); round++) {
    const response = await fetch(next)
    const [partition] = response.responses[0].partitions
    out.highWatermark = String(partition.highWatermark)
    out.logStartOffset = String(partition.logStartOffset)
    for (const batch of partition.records || []) {
      for (const r of batch.records) {
        const offset = batch.firstOffset + BigInt(r.offsetDelta)
        if (offset < next) continue
        out.records.push({
          offset: String(offset),
          key: r.key && r.key.toString(),
          value: r.value && r.value.toString(),
          timestamp: String(batch.firstTimestamp + r.timestampDelta),
          headers: r.headers.map(([k, v]) => [k && k.toString(), v && v.toString()])
        })
        next = offset + 1n
      }
    }
  }
  try {
    const response = await fetch(count + 100)
    const [partition] = response.responses[0].partitions
    out.pastEnd = { errorCode: partition.errorCode, records: (partition.records || []).length }
  } catch (e) {
    out.pastEnd = { error: plainError(e) }
  }
} catch (e) {
  console.error(`platformatic_records: ${e.stack || e}`)
  if (e.errors) console.error(JSON.stringify(plainError(e), null, 1))
  process.exitCode = 1
} finally {
  await producer.close()
  await consumer.close()
}
if (!process.exitCode) process.stdout.write(JSON.stringify(out) + '\n')
