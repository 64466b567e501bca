// Reads a broker's cluster metadata with @platformatic/kafka 1.x (its Admin client) and prints
// what it decoded as one JSON object on stdout; used by tests/integration/test_platformatic.py.
//   node platformatic_metadata.mjs BOOTSTRAP [CA_FILE]
// With CA_FILE the connection is TLS, trusting only that CA (and checking the host name).
// @platformatic/kafka 1.x needs Node.js >= 20.19.4 (its engines field); older Node fails here
// with exit status 3 before the library is loaded.
import { readFileSync } from 'node:fs'

const MIN_NODE = [20, 19, 4]

function nodeTooOld () {
  const v = process.versions.node.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    if (v[i] !== MIN_NODE[i]) return v[i] < MIN_NODE[i]
  }
  return false
}

const [bootstrap, caFile] = process.argv.slice(2)
if (!bootstrap) {
  console.error('usage: node platformatic_metadata.mjs BOOTSTRAP [CA_FILE]')
  process.exit(2)
}
if (nodeTooOld()) {
  console.error('platformatic_metadata: @platformatic/kafka 1.x needs Node.js >= ' +
    `${MIN_NODE.join('.')}, this is ${process.version} (${process.execPath})`)
  process.exit(3)
}

const { Admin } = await import('@platformatic/kafka')
const packageJson = new URL('node_modules/@platformatic/kafka/package.json', import.meta.url)
const { version } = JSON.parse(readFileSync(packageJson, 'utf8'))

function plainMetadata (md) {
  return {
    id: md.id,
    controllerId: md.controllerId,
    brokers: [...md.brokers].map(([nodeId, b]) =>
      ({ nodeId, host: b.host, port: b.port, rack: b.rack })),
    topics: [...md.topics.keys()]
  }
}

function plainError (e) {
  const errors = (e.errors || []).map(plainError)
  return {
    name: e.name, code: e.code, apiCode: e.apiCode, apiId: e.apiId, message: e.message, errors
  }
}

const admin = new Admin({
  clientId: 'quire-it-platformatic',
  bootstrapBrokers: [bootstrap],
  tls: caFile ? { ca: readFileSync(caFile, 'utf8'), rejectUnauthorized: true } : undefined,
  retries: 1,
  retryDelay: 100,
  timeout: 10000,
  strict: true
})
const out = { platformatic: version, node: process.versions.node }
try {
  out.metadata = plainMetadata(await admin.metadata({ topics: [] }))
  out.topics = await admin.listTopics()
  try {
    const md = await admin.metadata({ topics: ['missing'], autocreateTopics: false,
      forceUpdate: true })
    out.missing = { result: plainMetadata(md) }
  } catch (e) {
    out.missing = { error: plainError(e) }
  }
} catch (e) {
  console.error(`platformatic_metadata: ${e.stack || e}`)
  if (e.errors) console.error(JSON.stringify(plainError(e), null, 1))
  process.exitCode = 1
} finally {
  await admin.close()
}
if (!process.exitCode) process.stdout.write(JSON.stringify(out) + '\n')
