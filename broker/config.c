/* Configuration. Design note: loading has three steps, each with one job.
 *   1. Collect: the properties file, then the --override strings, into cfg->keys/values (a later
 *      source replaces an earlier value of the same key). Only what the user gave is stored.
 *   2. Check: every stored value of a known key passes config_value_check (type, range, choices);
 *      an unknown key is only warned about. Defaults come from the table and are valid by
 *      construction (a unit test checks this).
 *   3. Derive: the typed fields of struct config (listeners, log dirs, ...) from config_get, which
 *      answers the stored value or the table's default, and the cross-key rules (listener names
 *      against the protocol map, advertised listeners against listeners, node.id vs broker.id).
 * Any failure leaves cfg zeroed and a message naming the key and the value in err.
 * Defaults are Apache Kafka 4.3's except DESIGN.md's table (marked "Quire" below). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file.h"
#include "log.h"

#define I32MAX INT32_MAX
#define I32MIN INT32_MIN
#define I64MAX INT64_MAX
#define I64MIN INT64_MIN
#define I32MAX_STR "2147483647"
#define I64MAX_STR "9223372036854775807"

#define CONFIG_FILE_BYTES_MAX (4 << 20)
#define SECPROTO_NAMES "PLAINTEXT,SSL,SASL_PLAINTEXT,SASL_SSL"

/* Table rows: name, default, range or choices, Kafka's update mode (RO read-only, PB per-broker,
 * CW cluster-wide, from Kafka 4.3's broker docs), then our one-line description. */
#define RO CONFIG_READ_ONLY
#define PB CONFIG_PER_BROKER
#define CW CONFIG_CLUSTER_WIDE
#define KINT(n, d, lo, hi, dyn, doc) \
  { n, CONFIG_INT, d, lo, hi, NULL, dyn, doc }
#define KLONG(n, d, lo, hi, dyn, doc) \
  { n, CONFIG_LONG, d, lo, hi, NULL, dyn, doc }
#define KSHORT(n, d, lo, hi, dyn, doc) \
  { n, CONFIG_SHORT, d, lo, hi, NULL, dyn, doc }
#define KDBL(n, d, dyn, doc) \
  { n, CONFIG_DOUBLE, d, 0, 0, NULL, dyn, doc }
#define KBOOL(n, d, dyn, doc) \
  { n, CONFIG_BOOL, d, 0, 0, NULL, dyn, doc }
#define KSTR(n, d, ch, dyn, doc) \
  { n, CONFIG_STRING, d, 0, 0, ch, dyn, doc }
#define KLIST(n, d, ch, dyn, doc) \
  { n, CONFIG_LIST, d, 0, 0, ch, dyn, doc }
#define KPASS(n, dyn, doc) \
  { n, CONFIG_PASSWORD, NULL, 0, 0, NULL, dyn, doc }

static const struct config_key config_keys[] = {
    /* identity and roles */
    KINT("node.id", "1", 0, I32MAX, RO,
         "This node's id in the cluster; must match meta.properties."), /* Quire; Kafka: required */
    KINT("broker.id", "-1", -1, I32MAX, RO,
         "Older name of node.id; if set, it must equal node.id."),
    KLIST("process.roles", "broker,controller", "broker,controller", RO,
          "The roles this process plays: broker, controller or both."), /* Quire; Kafka: required */
    KSTR("cluster.id", NULL, NULL, RO,
         "Cluster id used when formatting empty log directories (Quire)."),
    KSTR("log.level", "INFO", "DEBUG,INFO,WARN,WARNING,ERROR", RO,
         "Lowest severity written to the broker log (Quire)."),
    KSTR("broker.rack", NULL, NULL, RO, "Rack of this broker, for rack-aware replica placement."),

    /* listeners */
    {"listeners", CONFIG_LISTENERS, "PLAINTEXT://127.0.0.1:9092", 0, 0, NULL, PB,
     "Addresses to listen on, as NAME://host:port entries separated by commas."}, /* Quire */
    {"advertised.listeners", CONFIG_LISTENERS, NULL, 0, 0, NULL, RO,
     "Addresses given to clients for each listener; defaults to listeners."},
    {"listener.security.protocol.map", CONFIG_PROTOCOL_MAP,
     "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT", 0, 0, NULL, PB,
     "Security protocol of each listener name, as NAME:PROTOCOL pairs."},
    KSTR("inter.broker.listener.name", NULL, NULL, RO,
         "Listener that brokers use to talk to each other."),
    KSTR("security.inter.broker.protocol", "PLAINTEXT", SECPROTO_NAMES, RO,
         "Security protocol between brokers, when inter.broker.listener.name is not set."),
    KLIST("controller.listener.names", NULL, NULL, RO, "Names of the listeners controllers use."),

    /* KRaft quorum */
    KLIST("controller.quorum.voters", "", NULL, RO,
          "Static quorum voters as id@host:port entries."),
    KLIST("controller.quorum.bootstrap.servers", "", NULL, RO,
          "host:port entries used to find the controller quorum."),
    KINT("controller.quorum.election.timeout.ms", "1000", 0, I32MAX, RO,
         "How long without hearing from a leader before an election starts."),
    KINT("controller.quorum.fetch.timeout.ms", "2000", 0, I32MAX, RO,
         "How long without a successful fetch before a voter becomes a candidate."),
    KINT("controller.quorum.election.backoff.max.ms", "1000", 0, I32MAX, RO,
         "Upper bound of the backoff between elections."),
    KINT("controller.quorum.append.linger.ms", "25", 0, I32MAX, RO,
         "How long the quorum leader gathers writes before flushing them."),
    KINT("controller.quorum.request.timeout.ms", "2000", 0, I32MAX, RO,
         "Timeout of a request to another quorum member."),
    KINT("controller.quorum.retry.backoff.ms", "20", 0, I32MAX, RO,
         "Wait before retrying a failed quorum request."),
    KBOOL("controller.quorum.auto.join.enable", "false", RO,
          "Whether a controller joins the quorum by itself."),
    KINT("broker.heartbeat.interval.ms", "2000", 0, I32MAX, RO,
         "Time between a broker's heartbeats to the controller."),
    KINT("broker.session.timeout.ms", "9000", 0, I32MAX, RO,
         "How long a broker stays registered without heartbeats."),
    KINT("initial.broker.registration.timeout.ms", "60000", 0, I32MAX, RO,
         "How long a starting broker waits to register before giving up."),
    KSTR("metadata.log.dir", NULL, NULL, RO,
         "Directory of the metadata log; defaults to the first log directory."),
    KINT("metadata.log.segment.bytes", "1073741824", 8388608, I32MAX, RO,
         "Size of one metadata log segment."),
    KLONG("metadata.log.segment.ms", "604800000", 0, I64MAX, RO,
          "Age after which a metadata log segment is rolled."),
    KLONG("metadata.max.retention.bytes", "104857600", -1, I64MAX, RO,
          "Size of metadata log and snapshots kept before old ones are deleted."),
    KLONG("metadata.max.retention.ms", "604800000", -1, I64MAX, RO,
          "Age of metadata log files and snapshots kept before deletion."),
    KLONG("metadata.log.max.record.bytes.between.snapshots", "20971520", 1, I64MAX, RO,
          "Metadata log bytes after the last snapshot that trigger a new one."),
    KLONG("metadata.log.max.snapshot.interval.ms", "3600000", 0, I64MAX, RO,
          "Longest time between metadata snapshots while there are new records; 0 disables."),
    KINT("metadata.max.idle.interval.ms", "500", 0, I32MAX, RO,
         "Interval of no-op records written by an idle active controller; 0 disables."),

    /* network and request limits */
    KINT("socket.send.buffer.bytes", "102400", -1, I32MAX, RO,
         "SO_SNDBUF of accepted sockets; -1 keeps the OS default."),
    KINT("socket.receive.buffer.bytes", "102400", -1, I32MAX, RO,
         "SO_RCVBUF of accepted sockets; -1 keeps the OS default."),
    KINT("socket.request.max.bytes", "104857600", 1, I32MAX, RO, "Largest request frame accepted."),
    KINT("socket.listen.backlog.size", "50", 1, I32MAX, RO,
         "Backlog of pending connections on each listening socket."),
    KLONG("socket.connection.setup.timeout.ms", "10000", 0, I64MAX, RO,
          "Initial timeout for establishing an outgoing connection."),
    KLONG("socket.connection.setup.timeout.max.ms", "30000", 0, I64MAX, RO,
          "Upper bound of the outgoing connection setup timeout."),
    KINT("num.network.threads", "3", 1, I32MAX, CW,
         "Threads that read and write network requests."),
    KINT("num.io.threads", "8", 1, I32MAX, CW, "Threads that process requests."),
    KINT("background.threads", "10", 1, I32MAX, CW, "Threads for background tasks."),
    KINT("queued.max.requests", "500", 1, I32MAX, RO,
         "Requests that may wait for processing before reading pauses."),
    KLONG("queued.max.request.bytes", "-1", -1, I64MAX, RO,
          "Bytes of queued requests before reading pauses; -1 means no limit."),
    KINT("max.connections", I32MAX_STR, 0, I32MAX, CW, "Most connections the broker accepts."),
    KINT("max.connections.per.ip", I32MAX_STR, 0, I32MAX, CW,
         "Most connections accepted from one address."),
    KSTR("max.connections.per.ip.overrides", "", NULL, CW,
         "Per-host or per-address connection limits, as host:count entries."),
    KINT("max.connection.creation.rate", I32MAX_STR, 0, I32MAX, CW,
         "Most new connections accepted per second."),
    KLONG("connections.max.idle.ms", "600000", -1, I64MAX, RO,
          "Idle time after which a connection is closed."),
    KLONG("connections.max.reauth.ms", "0", 0, I64MAX, RO,
          "Longest SASL session before re-authentication is required; 0 disables."),
    /* Quire's own: a request frame must arrive whole within this time of its first byte. */
    KLONG("quire.request.read.timeout.ms", "30000", 1, I64MAX, RO,
          "Time allowed for a request frame to arrive whole after its first byte (Quire)."),
    KINT("message.max.bytes", "1048588", 0, I32MAX, CW,
         "Largest record batch accepted; topics override it with max.message.bytes."),
    KINT("fetch.max.bytes", "57671680", 1024, I32MAX, RO, "Most bytes returned for one fetch."),
    KINT("max.incremental.fetch.session.cache.slots", "1000", 0, I32MAX, RO,
         "Most incremental fetch sessions kept."),
    KINT("fetch.purgatory.purge.interval.requests", "1000", I32MIN, I32MAX, RO,
         "Purge interval, in requests, of waiting fetches."),
    KINT("producer.purgatory.purge.interval.requests", "1000", I32MIN, I32MAX, RO,
         "Purge interval, in requests, of waiting produce requests."),
    KINT("delete.records.purgatory.purge.interval.requests", "1", I32MIN, I32MAX, RO,
         "Purge interval, in requests, of waiting delete-records requests."),

    /* topics */
    KINT("num.partitions", "1", 1, I32MAX, RO, "Partition count of topics created without one."),
    KINT("default.replication.factor", "1", 1, INT16_MAX, RO,
         "Replication factor of topics created without one."),
    KBOOL("auto.create.topics.enable", "true", RO,
          "Whether metadata requests for a missing topic create it."),
    KBOOL("delete.topic.enable", "true", RO, "Whether topics may be deleted."),
    KINT("min.insync.replicas", "1", 1, I32MAX, CW,
         "In-sync replicas needed for an acks=all write to succeed."),
    KBOOL("unclean.leader.election.enable", "false", CW,
          "Whether an out-of-sync replica may become leader as a last resort, losing data."),
    KBOOL("auto.leader.rebalance.enable", "true", RO,
          "Whether leadership moves back to preferred replicas automatically."),
    KINT("leader.imbalance.per.broker.percentage", "10", 0, 100, RO,
         "Leader imbalance per broker, in percent, that triggers a rebalance."),
    KLONG("leader.imbalance.check.interval.seconds", "300", 1, I64MAX, RO,
          "Interval between leader balance checks."),
    KSTR("compression.type", "producer", "uncompressed,zstd,lz4,snappy,gzip,producer", CW,
         "Codec batches are stored with; producer keeps the producer's codec."),
    KINT("compression.gzip.level", "-1", -1, 9, CW, "gzip level when recompressing with gzip."),
    KINT("compression.lz4.level", "9", 1, 17, CW, "lz4 level when recompressing with lz4."),
    KINT("compression.zstd.level", "3", -131072, 22, CW,
         "zstd level when recompressing with zstd."),

    /* the log */
    KLIST("log.dir", "./quire-data", NULL, RO,
          "Data directory, used when log.dirs is not set."), /* Quire; Kafka: /tmp/kafka-logs */
    KLIST("log.dirs", NULL, NULL, RO, "Data directories, separated by commas."),
    KINT("log.segment.bytes", "1073741824", 1048576, I32MAX, CW,
         "Largest size of one segment file."),
    KLONG("log.segment.delete.delay.ms", "60000", 0, I64MAX, CW,
          "Wait before a deleted segment's files are removed from disk."),
    KINT("log.roll.hours", "168", 1, I32MAX, RO,
         "Age after which a segment is rolled, in hours; log.roll.ms takes precedence."),
    KLONG("log.roll.ms", NULL, 1, I64MAX, CW,
          "Age after which a segment is rolled, in milliseconds."),
    KINT("log.roll.jitter.hours", "0", 0, I32MAX, RO,
         "Largest random time taken off the roll age, in hours."),
    KLONG("log.roll.jitter.ms", NULL, 0, I64MAX, CW,
          "Largest random time taken off the roll age, in milliseconds."),
    KINT("log.retention.hours", "168", I32MIN, I32MAX, RO,
         "How long segments are kept, in hours; minutes and ms take precedence."),
    KINT("log.retention.minutes", NULL, I32MIN, I32MAX, RO,
         "How long segments are kept, in minutes; log.retention.ms takes precedence."),
    KLONG("log.retention.ms", NULL, I64MIN, I64MAX, CW,
          "How long segments are kept, in milliseconds; -1 keeps them forever."),
    KLONG("log.retention.bytes", "-1", I64MIN, I64MAX, CW,
          "Size a partition may reach before old segments are deleted; -1 means no limit."),
    KLONG("log.local.retention.ms", "-2", -2, I64MAX, CW,
          "Local retention time with tiered storage; -2 uses log.retention.ms."),
    KLONG("log.local.retention.bytes", "-2", -2, I64MAX, CW,
          "Local retention size with tiered storage; -2 uses log.retention.bytes."),
    KLONG("log.retention.check.interval.ms", "300000", 1, I64MAX, RO,
          "Interval between retention checks."),
    KINT("log.index.size.max.bytes", "10485760", 4, I32MAX, CW, "Largest size of an offset index."),
    KINT("log.index.interval.bytes", "4096", 0, I32MAX, CW,
         "Bytes appended between two offset index entries."),
    KLONG("log.flush.interval.messages", "1", 1, I64MAX, CW,
          "Messages appended before the log is synced to disk."), /* Quire; Kafka: Long.MAX */
    KLONG("log.flush.interval.ms", NULL, 0, I64MAX, CW,
          "Longest time appended data waits before a sync; defaults to the scheduler interval."),
    KLONG("log.flush.scheduler.interval.ms", I64MAX_STR, 0, I64MAX, RO,
          "How often logs are checked for a time-based sync."),
    /* Quire's own: see storage/flusher.c. */
    KBOOL("quire.log.flush.syncfs", "true", RO,
          "Whether a flush round over several logs makes their file system durable with one "
          "syncfs instead of an fdatasync per file; turn off where other programs write much to "
          "the same file system (Quire)."),
    KINT("log.flush.offset.checkpoint.interval.ms", "60000", 0, I32MAX, RO,
         "How often the recovery point checkpoint is written."),
    KINT("log.flush.start.offset.checkpoint.interval.ms", "60000", 0, I32MAX, RO,
         "How often the log start offset checkpoint is written."),
    KBOOL("log.preallocate", "false", CW, "Whether new segment files are preallocated."),
    KLIST("log.cleanup.policy", "delete", "delete,compact", CW,
          "Default cleanup of old segments: delete, compact, both, or none when empty."),
    KBOOL("log.cleaner.enable", "true", RO, "Whether the log cleaner (compaction) runs."),
    KINT("log.cleaner.threads", "1", 0, I32MAX, CW, "Threads that compact logs."),
    KLONG("log.cleaner.dedupe.buffer.size", "134217728", 0, I64MAX, CW,
          "Memory for key deduplication across all cleaner threads."),
    KINT("log.cleaner.io.buffer.size", "524288", 0, I32MAX, CW,
         "Memory for cleaner I/O buffers across all cleaner threads."),
    KDBL("log.cleaner.io.buffer.load.factor", "0.9", CW,
         "How full the deduplication buffer may get."),
    KDBL("log.cleaner.io.max.bytes.per.second", "1.7976931348623157E308", CW,
         "Cleaner read plus write throughput limit."),
    KLONG("log.cleaner.backoff.ms", "15000", 0, I64MAX, CW,
          "Sleep of the cleaner when there is nothing to clean."),
    KDBL("log.cleaner.min.cleanable.ratio", "0.5", CW,
         "Share of uncompacted data that makes a log eligible for cleaning."),
    KLONG("log.cleaner.min.compaction.lag.ms", "0", 0, I64MAX, CW,
          "Shortest time a record stays uncompacted."),
    KLONG("log.cleaner.max.compaction.lag.ms", I64MAX_STR, 1, I64MAX, CW,
          "Longest time a record may stay ineligible for compaction."),
    KLONG("log.cleaner.delete.retention.ms", "86400000", 0, I64MAX, CW,
          "How long tombstones are kept in compacted topics."),
    KSTR("log.message.timestamp.type", "CreateTime", "CreateTime,LogAppendTime", CW,
         "Whether record timestamps are the producer's (CreateTime) or the broker's."),
    KLONG("log.message.timestamp.before.max.ms", I64MAX_STR, 0, I64MAX, CW,
          "How far in the past a CreateTime timestamp may be."),
    KLONG("log.message.timestamp.after.max.ms", "3600000", 0, I64MAX, CW,
          "How far in the future a CreateTime timestamp may be."),
    KINT("num.recovery.threads.per.data.dir", "2", 1, I32MAX, CW,
         "Threads per data directory for recovery at start-up and flushing at shutdown."),
    KLONG("log.dir.failure.timeout.ms", "30000", 1, I64MAX, RO,
          "How long a failed log directory may go unreported before the broker stops."),
    KINT("producer.id.expiration.ms", "86400000", 1, I32MAX, CW,
         "Idle time after which a producer id's state is dropped."),
    KINT("producer.id.expiration.check.interval.ms", "600000", 1, I32MAX, RO,
         "Interval between checks for expired producer ids."),

    /* replication */
    KINT("num.replica.fetchers", "1", 1, I32MAX, CW, "Fetcher threads per source broker."),
    KLONG("replica.lag.time.max.ms", "30000", 0, I64MAX, RO,
          "How long a follower may lag before it leaves the in-sync set."),
    KINT("replica.fetch.max.bytes", "1048576", 0, I32MAX, RO,
         "Bytes a follower asks for per partition."),
    KINT("replica.fetch.min.bytes", "1", 0, I32MAX, RO, "Bytes a follower fetch waits for."),
    KINT("replica.fetch.wait.max.ms", "500", 0, I32MAX, RO, "Longest wait of a follower fetch."),
    KINT("replica.fetch.backoff.ms", "1000", 0, I32MAX, RO,
         "Sleep of a follower after a fetch error."),
    KINT("replica.fetch.response.max.bytes", "10485760", 0, I32MAX, RO,
         "Bytes a follower asks for per fetch."),
    KINT("replica.socket.timeout.ms", "30000", I32MIN, I32MAX, RO,
         "Socket timeout of follower fetches."),
    KINT("replica.socket.receive.buffer.bytes", "65536", I32MIN, I32MAX, RO,
         "Receive buffer of follower fetch sockets."),
    KLONG("replica.high.watermark.checkpoint.interval.ms", "5000", 0, I64MAX, RO,
          "How often high watermarks are checkpointed."),

    /* group coordinator */
    KINT("group.initial.rebalance.delay.ms", "0", 0, I32MAX, RO,
         "Wait for more members before a new group's first rebalance."), /* Quire; Kafka: 3000 */
    KINT("group.min.session.timeout.ms", "6000", 0, I32MAX, RO,
         "Shortest session timeout a classic group member may ask for."),
    KINT("group.max.session.timeout.ms", "1800000", 0, I32MAX, RO,
         "Longest session timeout a classic group member may ask for."),
    KINT("group.max.size", I32MAX_STR, 1, I32MAX, RO, "Most members of a classic group."),
    KLIST("group.coordinator.rebalance.protocols", "classic,consumer,streams",
          "classic,consumer,share,streams", RO, "Group protocols the coordinator serves."),
    KINT("group.coordinator.threads", "4", 1, I32MAX, RO, "Threads of the group coordinator."),
    KINT("group.consumer.session.timeout.ms", "45000", 1, I32MAX, RO,
         "Session timeout of consumer-protocol group members."),
    KINT("group.consumer.min.session.timeout.ms", "45000", 1, I32MAX, RO,
         "Shortest session timeout of consumer-protocol members."),
    KINT("group.consumer.max.session.timeout.ms", "60000", 1, I32MAX, RO,
         "Longest session timeout of consumer-protocol members."),
    KINT("group.consumer.heartbeat.interval.ms", "5000", 1, I32MAX, RO,
         "Heartbeat interval given to consumer-protocol members."),
    KINT("group.consumer.min.heartbeat.interval.ms", "5000", 1, I32MAX, RO,
         "Shortest heartbeat interval of consumer-protocol members."),
    KINT("group.consumer.max.heartbeat.interval.ms", "15000", 1, I32MAX, RO,
         "Longest heartbeat interval of consumer-protocol members."),
    KINT("group.consumer.max.size", I32MAX_STR, 1, I32MAX, RO,
         "Most members of a consumer-protocol group."),
    KLIST("group.consumer.assignors", "uniform,range", NULL, RO,
          "Server-side assignors; the first is the default."),
    KSTR("group.consumer.migration.policy", "bidirectional",
         "disabled,downgrade,upgrade,bidirectional", RO,
         "Which conversions between classic and consumer groups are allowed."),

    /* committed offsets */
    KSHORT("offsets.topic.replication.factor", "1", 1, INT16_MAX, RO,
           "Replication factor of the offsets topic."), /* Quire; Kafka: 3 */
    KINT("offsets.topic.num.partitions", "50", 1, I32MAX, RO,
         "Partition count of the offsets topic."),
    KINT("offsets.topic.segment.bytes", "104857600", 1, I32MAX, RO,
         "Segment size of the offsets topic."),
    KINT("offsets.topic.compression.codec", "0", 0, 4, RO,
         "Codec of offset commit batches (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd)."),
    KINT("offsets.load.buffer.size", "5242880", 1, I32MAX, RO,
         "Read size when loading the offsets topic."),
    KINT("offsets.retention.minutes", "10080", 1, I32MAX, RO,
         "How long committed offsets of an empty group are kept."),
    KLONG("offsets.retention.check.interval.ms", "600000", 1, I64MAX, RO,
          "Interval between checks for expired offsets."),
    KINT("offsets.commit.timeout.ms", "5000", 1, I32MAX, RO,
         "How long an offset commit waits for replication."),
    KINT("offset.metadata.max.bytes", "4096", 0, I32MAX, RO,
         "Largest metadata string of an offset commit."),

    /* transactions */
    KSHORT("transaction.state.log.replication.factor", "1", 1, INT16_MAX, RO,
           "Replication factor of the transaction state topic."), /* Quire; Kafka: 3 */
    KINT("transaction.state.log.min.isr", "1", 1, I32MAX, RO,
         "min.insync.replicas of the transaction state topic."), /* Quire; Kafka: 2 */
    KINT("transaction.state.log.num.partitions", "50", 1, I32MAX, RO,
         "Partition count of the transaction state topic."),
    KINT("transaction.state.log.segment.bytes", "104857600", 1, I32MAX, RO,
         "Segment size of the transaction state topic."),
    KINT("transaction.state.log.load.buffer.size", "5242880", 1, I32MAX, RO,
         "Read size when loading the transaction state topic."),
    KINT("transaction.max.timeout.ms", "900000", 1, I32MAX, RO,
         "Longest transaction timeout a producer may ask for."),
    KINT("transactional.id.expiration.ms", "604800000", 1, I32MAX, RO,
         "Idle time after which a transactional id expires."),
    KINT("transaction.abort.timed.out.transaction.cleanup.interval.ms", "10000", 1, I32MAX, RO,
         "Interval between aborts of timed-out transactions."),
    KINT("transaction.remove.expired.transaction.cleanup.interval.ms", "3600000", 1, I32MAX, RO,
         "Interval between removals of expired transactional ids."),
    KBOOL("transaction.partition.verification.enable", "true", CW,
          "Whether transactional writes are checked against the partitions added."),

    /* TLS: PEM only (Quire; Kafka's default store type is JKS) */
    KSTR("ssl.keystore.type", "PEM", NULL, PB, "Format of the key store; Quire reads PEM."),
    KSTR("ssl.keystore.location", NULL, NULL, PB, "Path of the key store."),
    KPASS("ssl.keystore.password", PB, "Password of the key store."),
    KPASS("ssl.key.password", PB, "Password of the private key."),
    KPASS("ssl.keystore.key", PB, "Private key in PEM, given inline."),
    KPASS("ssl.keystore.certificate.chain", PB, "Certificate chain in PEM, given inline."),
    KSTR("ssl.truststore.type", "PEM", NULL, PB, "Format of the trust store; Quire reads PEM."),
    KSTR("ssl.truststore.location", NULL, NULL, PB, "Path of the trust store."),
    KPASS("ssl.truststore.password", PB, "Password of the trust store."),
    KPASS("ssl.truststore.certificates", PB, "Trusted certificates in PEM, given inline."),
    KSTR("ssl.protocol", "TLSv1.3", NULL, PB, "TLS protocol used to build the TLS context."),
    KLIST("ssl.enabled.protocols", "TLSv1.2,TLSv1.3", "TLSv1.2,TLSv1.3,TLSv1.1,TLSv1", PB,
          "TLS versions accepted."),
    KLIST("ssl.cipher.suites", "", NULL, PB, "Cipher suites allowed; empty allows the defaults."),
    KSTR("ssl.client.auth", "none", "required,requested,none", PB,
         "Whether clients must, may or need not present a certificate."),
    KSTR("ssl.endpoint.identification.algorithm", "https", NULL, PB,
         "Host name check of peer certificates; empty disables it."),
    KSTR("ssl.principal.mapping.rules", "DEFAULT", NULL, RO,
         "Rules mapping a client certificate's name to a principal."), /* a string: has commas */

    /* SASL and authorization */
    KLIST("sasl.enabled.mechanisms", "GSSAPI", NULL, PB, "SASL mechanisms offered to clients."),
    KSTR("sasl.mechanism.inter.broker.protocol", "GSSAPI", NULL, PB,
         "SASL mechanism between brokers."),
    KSTR("sasl.mechanism.controller.protocol", "GSSAPI", NULL, RO,
         "SASL mechanism towards controllers."),
    KPASS("sasl.jaas.config", PB, "JAAS login settings of SASL connections."),
    KINT("sasl.server.max.receive.size", "524288", 1, I32MAX, RO,
         "Largest frame accepted before and during SASL authentication."),
    KSTR("sasl.kerberos.service.name", NULL, NULL, PB, "Kerberos principal name the broker uses."),
    KSTR("authorizer.class.name", "", NULL, RO, "Authorizer in use; empty means none."),
    KSTR("super.users", NULL, NULL, RO, "Principals allowed everything, separated by semicolons."),
    KBOOL("allow.everyone.if.no.acl.found", "false", RO,
          "Whether a resource without ACLs is open to everyone."),
    KPASS("delegation.token.secret.key", RO,
          "Key that signs delegation tokens; unset disables them."),
    KLONG("delegation.token.max.lifetime.ms", "604800000", 1, I64MAX, RO,
          "Longest life of a delegation token."),
    KLONG("delegation.token.expiry.time.ms", "86400000", 1, I64MAX, RO,
          "Time after which a delegation token must be renewed."),

    /* quotas and metrics */
    KINT("quota.window.num", "11", 1, I32MAX, RO, "Samples kept for client quotas."),
    KINT("quota.window.size.seconds", "1", 1, I32MAX, RO, "Length of one client quota sample."),
    KLIST("metric.reporters", "", NULL, CW, "Metrics reporters in use."),
    KINT("metrics.num.samples", "2", 1, I32MAX, RO, "Samples kept to compute a metric."),
    KLONG("metrics.sample.window.ms", "30000", 1, I64MAX, RO, "Window of one metrics sample."),
    KSTR("metrics.recording.level", "INFO", "INFO,DEBUG,TRACE", RO,
         "Highest level of metrics recorded."),
};

#define CONFIG_KEY_COUNT ((int)(sizeof(config_keys) / sizeof(config_keys[0])))

int config_key_count(void) { return CONFIG_KEY_COUNT; }

const struct config_key *config_key_at(int index) {
  if (index < 0 || index >= CONFIG_KEY_COUNT) return NULL;
  return &config_keys[index];
}

const struct config_key *config_key_find(const char *name) {
  for (int i = 0; i < CONFIG_KEY_COUNT; i++)
    if (strcmp(config_keys[i].name, name) == 0) return &config_keys[i];
  return NULL;
}

int8_t config_type_id(enum config_type type) {
  switch (type) {
  case CONFIG_BOOL: return 1;
  case CONFIG_STRING: return 2;
  case CONFIG_INT: return 3;
  case CONFIG_SHORT: return 4;
  case CONFIG_LONG: return 5;
  case CONFIG_DOUBLE: return 6;
  case CONFIG_LIST: return 7;
  case CONFIG_PASSWORD: return 9;
  case CONFIG_LISTENERS: return 7;
  case CONFIG_PROTOCOL_MAP: return 2;
  }
  return 0;
}

int config_synonym_names(const char *name, const char **out) {
  static const char *const groups[][4] = {
      {"log.roll.ms", "log.roll.hours", NULL, NULL},
      {"log.roll.jitter.ms", "log.roll.jitter.hours", NULL, NULL},
      {"log.retention.ms", "log.retention.minutes", "log.retention.hours", NULL},
  };
  for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
    bool member = false;
    for (int i = 0; groups[g][i] != NULL; i++) member = member || strcmp(groups[g][i], name) == 0;
    if (!member) continue;
    int n = 0;
    for (; groups[g][n] != NULL; n++) out[n] = groups[g][n];
    return n;
  }
  /* the scheduler interval is log.flush.interval.ms's default, not the other way round */
  if (strcmp(name, "log.flush.interval.ms") == 0) {
    out[0] = "log.flush.interval.ms";
    out[1] = "log.flush.scheduler.interval.ms";
    return 2;
  }
  /* listener.name.<listener>.<key>: the listener's own value, then the key's */
  if (strncmp(name, "listener.name.", 14) == 0) {
    const char *dot = strchr(name + 14, '.');
    if (dot != NULL && dot[1] != '\0') {
      out[0] = name;
      out[1] = dot + 1;
      return 2;
    }
  }
  out[0] = name;
  return 1;
}

__attribute__((format(printf, 3, 4))) static int config_fail(char *err, int err_size,
                                                             const char *fmt, ...) {
  if (err != NULL && err_size > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, (size_t)err_size, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* ---- Java properties ---------------------------------------------------------------------- */

static bool props_is_space(char c) { return c == ' ' || c == '\t' || c == '\f'; }

static int props_hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Appends code point cp as UTF-8 (a lone surrogate is written as U+FFFD). */
static size_t props_put_utf8(char *out, unsigned cp) {
  if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  out[0] = (char)(0xE0 | (cp >> 12));
  out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[2] = (char)(0x80 | (cp & 0x3F));
  return 3;
}

/* Joins the natural lines of one logical line (backslash continuations; the leading whitespace
 * of a continuation line is dropped) into out; returns where the next logical line starts. */
static const char *props_logical_line(const char *p, const char *end, char *out, size_t *len) {
  size_t n = 0;
  for (;;) {
    while (p < end && props_is_space(*p)) p++;
    const char *start = p;
    while (p < end && *p != '\n' && *p != '\r') p++;
    const char *eol = p;
    if (p < end && *p == '\r') p++;
    if (p < end && *p == '\n') p++;
    /* comment lines never continue */
    bool comment = n == 0 && start < eol && (*start == '#' || *start == '!');
    size_t backslashes = 0;
    for (const char *q = eol; q > start && q[-1] == '\\'; q--) backslashes++;
    bool cont = !comment && (backslashes % 2) == 1;
    size_t take = (size_t)(eol - start) - (cont ? 1 : 0);
    memcpy(out + n, start, take);
    n += take;
    if (!cont || p >= end) break;
  }
  out[n] = '\0';
  *len = n;
  return p;
}

/* Unescapes s[0..len) into out (never longer than the input). */
static void props_unescape(const char *s, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c != '\\' || i + 1 >= len) {
      if (c != '\\') out[o++] = c;
      continue;
    }
    c = s[++i];
    switch (c) {
    case 't': out[o++] = '\t'; break;
    case 'n': out[o++] = '\n'; break;
    case 'r': out[o++] = '\r'; break;
    case 'f': out[o++] = '\f'; break;
    case 'u': {
      unsigned cp = 0;
      int digits = 0;
      while (digits < 4 && i + 1 < len && props_hex(s[i + 1]) >= 0) {
        cp = cp * 16 + (unsigned)props_hex(s[++i]);
        digits++;
      }
      /* "\uXXXX" is 6 bytes, its UTF-8 at most 3, so the output never outgrows the input */
      if (digits == 4) o += props_put_utf8(out + o, cp);
      break;
    }
    default: out[o++] = c; break;
    }
  }
  out[o] = '\0';
}

static char *config_strdup_trim(const char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1])) len--;
  char *out = malloc(len + 1);
  if (out == NULL) return NULL;
  memcpy(out, s, len);
  out[len] = '\0';
  return out;
}

/* Sets key to value in the parallel arrays (replacing an earlier value); copies both. */
static int props_set(char ***keys, char ***values, int *count, const char *key, const char *value) {
  char *v = config_strdup_trim(value);
  if (v == NULL) return -1;
  for (int i = 0; i < *count; i++) {
    if (strcmp((*keys)[i], key) == 0) {
      free((*values)[i]);
      (*values)[i] = v;
      return 0;
    }
  }
  char *k = strdup(key);
  char **nk = realloc(*keys, sizeof(char *) * (size_t)(*count + 1));
  if (nk != NULL) *keys = nk;
  char **nv = realloc(*values, sizeof(char *) * (size_t)(*count + 1));
  if (nv != NULL) *values = nv;
  if (k == NULL || nk == NULL || nv == NULL) {
    free(k);
    free(v);
    return -1;
  }
  (*keys)[*count] = k;
  (*values)[*count] = v;
  (*count)++;
  return 0;
}

int config_props_parse(const char *text, size_t size, char ***keys, char ***values, int *count) {
  char *line = malloc(size + 1), *key = malloc(size + 1), *value = malloc(size + 1);
  const char *p = text, *end = text + size;
  int rc = -1;
  if (line == NULL || key == NULL || value == NULL) goto done;

  while (p < end) {
    size_t len;
    p = props_logical_line(p, end, line, &len);
    if (len == 0 || line[0] == '#' || line[0] == '!') continue;
    /* the key ends at the first unescaped '=', ':' or whitespace */
    size_t k = 0;
    while (k < len) {
      if (line[k] == '\\' && k + 1 < len) {
        k += 2;
        continue;
      }
      if (line[k] == '=' || line[k] == ':' || props_is_space(line[k])) break;
      k++;
    }
    size_t v = k;
    while (v < len && props_is_space(line[v])) v++;
    if (v < len && (line[v] == '=' || line[v] == ':')) v++;
    while (v < len && props_is_space(line[v])) v++;
    props_unescape(line, k, key);
    props_unescape(line + v, len - v, value);
    if (props_set(keys, values, count, key, value) != 0) goto done;
  }
  rc = 0;
done:
  free(line);
  free(key);
  free(value);
  return rc;
}

void config_props_free(char **keys, char **values, int count) {
  for (int i = 0; i < count; i++) {
    if (keys != NULL) free(keys[i]);
    if (values != NULL) free(values[i]);
  }
  free(keys);
  free(values);
}

/* ---- values ------------------------------------------------------------------------------- */

/* Java's Long.parseLong: optional sign, decimal digits, no spaces. -1 on syntax, -2 on range. */
static int config_parse_int64(const char *s, int64_t *out) {
  const char *p = s;
  bool neg = false;
  if (*p == '+' || *p == '-') neg = *p++ == '-';
  if (*p == '\0') return -1;
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
  bool overflow = false;
  for (; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return -1;
    unsigned d = (unsigned)(*p - '0');
    if (acc > (limit - d) / 10)
      overflow = true;
    else
      acc = acc * 10 + d;
  }
  if (overflow) return -2;
  *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
  return 0;
}

static int config_parse_bool(const char *s, bool *out) {
  if (strcasecmp(s, "true") == 0)
    *out = true;
  else if (strcasecmp(s, "false") == 0)
    *out = false;
  else
    return -1;
  return 0;
}

/* Whether item is one of the comma-separated choices (case-insensitive). */
static bool config_choice_ok(const char *choices, const char *item, size_t item_len) {
  const char *c = choices;
  while (*c != '\0') {
    const char *comma = strchr(c, ',');
    size_t n = comma != NULL ? (size_t)(comma - c) : strlen(c);
    if (n == item_len && strncasecmp(c, item, n) == 0) return true;
    if (comma == NULL) break;
    c = comma + 1;
  }
  return false;
}

/* Calls fn on each trimmed non-empty item of a comma-separated list; stops at a non-zero result. */
typedef int (*config_item_fn)(const char *item, size_t len, void *arg);

static int config_list_each(const char *list, config_item_fn fn, void *arg) {
  const char *p = list;
  while (*p != '\0') {
    const char *comma = strchr(p, ',');
    const char *e = comma != NULL ? comma : p + strlen(p);
    const char *s = p;
    while (s < e && isspace((unsigned char)*s)) s++;
    const char *t = e;
    while (t > s && isspace((unsigned char)t[-1])) t--;
    if (t > s) {
      int rc = fn(s, (size_t)(t - s), arg);
      if (rc != 0) return rc;
    }
    if (comma == NULL) break;
    p = comma + 1;
  }
  return 0;
}

static int config_security_protocol_parse(const char *s, size_t len, enum security_protocol *out) {
  static const char *const names[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"};
  for (int i = 0; i < 4; i++) {
    if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0) {
      *out = (enum security_protocol)i;
      return 0;
    }
  }
  return -1;
}

/* A listener name: letters, digits, '_' and '-', at most 63 characters. */
static bool config_listener_name_ok(const char *s, size_t len) {
  if (len == 0 || len >= sizeof(((struct config_listener *)0)->name)) return false;
  for (size_t i = 0; i < len; i++)
    if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-') return false;
  return true;
}

struct listener_parse {
  struct config_listener *out;
  int count;
  const char *key;
  char *err;
  int err_size;
};

/* NAME://host:port, NAME://[v6addr]:port or NAME://:port; the name is upper-cased as Kafka
 * normalises listener names. */
static int config_listener_parse_one(const char *s, size_t len, void *arg) {
  struct listener_parse *lp = arg;
  char item[512];
  if (len >= sizeof(item))
    return config_fail(lp->err, lp->err_size, "invalid value for %s: listener '%.*s' is too long",
                       lp->key, (int)len, s);
  memcpy(item, s, len);
  item[len] = '\0';
  if (lp->count >= CONFIG_LISTENERS_MAX)
    return config_fail(lp->err, lp->err_size, "invalid value for %s: more than %d listeners",
                       lp->key, CONFIG_LISTENERS_MAX);

  struct config_listener l;
  memset(&l, 0, sizeof(l));
  const char *sep = strstr(item, "://");
  const char *host, *host_end, *port;
  if (sep == NULL || !config_listener_name_ok(item, (size_t)(sep - item))) goto malformed;
  for (size_t i = 0; i < (size_t)(sep - item); i++)
    l.name[i] = (char)toupper((unsigned char)item[i]);
  host = sep + 3;
  if (*host == '[') {
    host_end = strchr(host, ']');
    if (host_end == NULL || host_end[1] != ':') goto malformed;
    port = host_end + 2;
    host++;
  } else {
    host_end = strrchr(host, ':');
    if (host_end == NULL) goto malformed;
    if (memchr(host, ':', (size_t)(host_end - host)) != NULL) goto malformed; /* v6 needs [] */
    port = host_end + 1;
  }
  if ((size_t)(host_end - host) >= sizeof(l.host)) goto malformed;
  for (const char *h = host; h < host_end; h++)
    if (!isalnum((unsigned char)*h) && strchr("-._:%", *h) == NULL) goto malformed;
  memcpy(l.host, host, (size_t)(host_end - host));
  int64_t port_value;
  if (*port == '+' || config_parse_int64(port, &port_value) != 0 || port_value < 0 ||
      port_value > 65535)
    goto malformed;
  l.port = (int)port_value;

  for (int i = 0; i < lp->count; i++) {
    if (strcmp(lp->out[i].name, l.name) == 0)
      return config_fail(lp->err, lp->err_size,
                         "invalid value for %s: '%s' uses the listener name %s twice", lp->key,
                         item, l.name);
  }
  lp->out[lp->count++] = l;
  return 0;

malformed:
  return config_fail(lp->err, lp->err_size,
                     "invalid value for %s: '%s' is not NAME://host:port (port 0-65535, IPv6 "
                     "hosts in brackets)",
                     lp->key, item);
}

static int config_listeners_parse(const char *key, const char *value, struct config_listener *out,
                                  int *count, char *err, int err_size) {
  struct listener_parse lp = {out, 0, key, err, err_size};
  if (config_list_each(value, config_listener_parse_one, &lp) != 0) return -1;
  *count = lp.count;
  return 0;
}

struct proto_map {
  char names[CONFIG_LISTENERS_MAX * 4][64];
  enum security_protocol protocols[CONFIG_LISTENERS_MAX * 4];
  int count;
  char *err;
  int err_size;
};

static int config_proto_map_one(const char *s, size_t len, void *arg) {
  struct proto_map *pm = arg;
  const char *colon = memchr(s, ':', len);
  enum security_protocol proto;
  size_t name_len = colon != NULL ? (size_t)(colon - s) : 0;
  if (colon == NULL || !config_listener_name_ok(s, name_len) ||
      config_security_protocol_parse(colon + 1, len - name_len - 1, &proto) != 0)
    return config_fail(pm->err, pm->err_size,
                       "invalid value for listener.security.protocol.map: '%.*s' is not "
                       "NAME:PROTOCOL with PROTOCOL one of " SECPROTO_NAMES,
                       (int)len, s);
  char name[64] = {0};
  for (size_t i = 0; i < name_len; i++) name[i] = (char)toupper((unsigned char)s[i]);
  for (int i = 0; i < pm->count; i++)
    if (strcmp(pm->names[i], name) == 0)
      return config_fail(pm->err, pm->err_size,
                         "invalid value for listener.security.protocol.map: %s is mapped twice",
                         name);
  if (pm->count >= (int)(sizeof(pm->names) / sizeof(pm->names[0])))
    return config_fail(pm->err, pm->err_size,
                       "invalid value for listener.security.protocol.map: too many entries");
  memcpy(pm->names[pm->count], name, sizeof(name));
  pm->protocols[pm->count++] = proto;
  return 0;
}

struct list_check {
  const struct config_key *key;
  const char *value;
  char *err;
  int err_size;
};

static int config_list_item_check(const char *s, size_t len, void *arg) {
  struct list_check *lc = arg;
  if (lc->key->choices != NULL && !config_choice_ok(lc->key->choices, s, len))
    return config_fail(lc->err, lc->err_size,
                       "invalid value for %s: '%.*s' in '%s' is not one of %s", lc->key->name,
                       (int)len, s, lc->value, lc->key->choices);
  return 0;
}

bool config_id_valid(const char *id) {
  if (strlen(id) != 22) return false;
  for (const char *p = id; *p != '\0'; p++)
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') return false;
  return true;
}

static const char *config_type_name(enum config_type type) {
  switch (type) {
  case CONFIG_INT: return "a 32-bit integer";
  case CONFIG_LONG: return "a 64-bit integer";
  case CONFIG_SHORT: return "a 16-bit integer";
  default: return "a number";
  }
}

int config_value_check(const struct config_key *key, const char *value, char *err, int err_size) {
  switch (key->type) {
  case CONFIG_INT:
  case CONFIG_LONG:
  case CONFIG_SHORT: {
    int64_t v;
    int rc = config_parse_int64(value, &v);
    if (rc == -1)
      return config_fail(err, err_size, "invalid value for %s: '%s' is not %s", key->name, value,
                         config_type_name(key->type));
    if (rc == -2 || v < key->min || v > key->max)
      return config_fail(err, err_size,
                         "invalid value for %s: %s is out of range [%" PRId64 ", %" PRId64 "]",
                         key->name, value, key->min, key->max);
    return 0;
  }
  case CONFIG_DOUBLE: {
    char *end;
    errno = 0;
    (void)strtod(value, &end);
    if (*value == '\0' || *end != '\0' || errno == ERANGE)
      return config_fail(err, err_size, "invalid value for %s: '%s' is not a number", key->name,
                         value);
    return 0;
  }
  case CONFIG_BOOL: {
    bool b;
    if (config_parse_bool(value, &b) != 0)
      return config_fail(err, err_size, "invalid value for %s: '%s' is not true or false",
                         key->name, value);
    return 0;
  }
  case CONFIG_STRING:
  case CONFIG_PASSWORD:
    if (key->choices != NULL && !config_choice_ok(key->choices, value, strlen(value)))
      return config_fail(err, err_size, "invalid value for %s: '%s' is not one of %s", key->name,
                         value, key->choices);
    if (strcmp(key->name, "ssl.keystore.type") == 0 ||
        strcmp(key->name, "ssl.truststore.type") == 0) {
      if (strcasecmp(value, "PEM") == 0) return 0;
      if (strcasecmp(value, "JKS") == 0 || strcasecmp(value, "PKCS12") == 0)
        return config_fail(err, err_size,
                           "invalid value for %s: %s stores are not supported, Quire reads PEM "
                           "only; convert the store (keytool -importkeystore -deststoretype "
                           "PKCS12, then openssl pkcs12 -nodes) and set %s=PEM",
                           key->name, value, key->name);
      return config_fail(err, err_size, "invalid value for %s: '%s' is not PEM", key->name, value);
    }
    if (strcmp(key->name, "cluster.id") == 0 && !config_id_valid(value))
      return config_fail(err, err_size,
                         "invalid value for cluster.id: '%s' is not a Kafka id (22 characters "
                         "of URL-safe base64, as `quire format` prints)",
                         value);
    return 0;
  case CONFIG_LIST: {
    struct list_check lc = {key, value, err, err_size};
    return config_list_each(value, config_list_item_check, &lc);
  }
  case CONFIG_LISTENERS: {
    struct config_listener ls[CONFIG_LISTENERS_MAX];
    int n;
    return config_listeners_parse(key->name, value, ls, &n, err, err_size);
  }
  case CONFIG_PROTOCOL_MAP: {
    struct proto_map *pm = calloc(1, sizeof(*pm));
    if (pm == NULL) return config_fail(err, err_size, "out of memory");
    pm->err = err;
    pm->err_size = err_size;
    int rc = config_list_each(value, config_proto_map_one, pm);
    free(pm);
    return rc;
  }
  }
  return config_fail(err, err_size, "%s: unknown type", key->name);
}

/* ---- lookups ------------------------------------------------------------------------------ */

const char *config_layer_get(const struct config *cfg, enum config_layer layer, const char *key) {
  char **keys = cfg->keys, **values = cfg->values;
  int count = cfg->entry_count;
  if (layer != CONFIG_LAYER_STATIC) {
    const struct config_entries *l =
        layer == CONFIG_LAYER_DYNAMIC_BROKER ? &cfg->dynamic_broker : &cfg->dynamic_default;
    keys = l->keys;
    values = l->values;
    count = l->count;
  }
  for (int i = 0; i < count; i++)
    if (strcmp(keys[i], key) == 0) return values[i];
  return NULL;
}

/* The most specific layer's value (Kafka's precedence), or NULL. */
static const char *config_given(const struct config *cfg, const char *key) {
  const char *v = config_layer_get(cfg, CONFIG_LAYER_DYNAMIC_BROKER, key);
  if (v == NULL) v = config_layer_get(cfg, CONFIG_LAYER_DYNAMIC_DEFAULT, key);
  if (v == NULL) v = config_layer_get(cfg, CONFIG_LAYER_STATIC, key);
  return v;
}

bool config_is_set(const struct config *cfg, const char *key) {
  return config_given(cfg, key) != NULL;
}

const char *config_get(const struct config *cfg, const char *key) {
  const char *v = config_given(cfg, key);
  if (v != NULL) return v;
  const struct config_key *k = config_key_find(key);
  return k != NULL ? k->default_value : NULL;
}

int config_get_int64(const struct config *cfg, const char *key, int64_t *out) {
  const struct config_key *k = config_key_find(key);
  const char *v = config_get(cfg, key);
  if (k == NULL || v == NULL) return -1;
  if (k->type != CONFIG_INT && k->type != CONFIG_LONG && k->type != CONFIG_SHORT) return -1;
  return config_parse_int64(v, out) == 0 ? 0 : -1;
}

int config_get_bool(const struct config *cfg, const char *key, bool *out) {
  const struct config_key *k = config_key_find(key);
  const char *v = config_get(cfg, key);
  if (k == NULL || v == NULL || k->type != CONFIG_BOOL) return -1;
  return config_parse_bool(v, out);
}

/* For values already checked (or defaults): parse without error paths. */
static int64_t config_int(const struct config *cfg, const char *key) {
  int64_t v = 0;
  int rc = config_get_int64(cfg, key, &v);
  (void)rc;
  return v;
}

static bool config_bool(const struct config *cfg, const char *key) {
  bool v = false;
  int rc = config_get_bool(cfg, key, &v);
  (void)rc;
  return v;
}

/* ---- derived fields ----------------------------------------------------------------------- */

struct name_list {
  char names[CONFIG_LISTENERS_MAX * 4][64];
  int count;
};

static int config_name_list_add(const char *s, size_t len, void *arg) {
  struct name_list *nl = arg;
  if (nl->count >= (int)(sizeof(nl->names) / sizeof(nl->names[0])) || len >= 64) return 0;
  for (size_t i = 0; i < len; i++) nl->names[nl->count][i] = (char)toupper((unsigned char)s[i]);
  nl->names[nl->count][len] = '\0';
  nl->count++;
  return 0;
}

static bool config_name_list_has(const struct name_list *nl, const char *name) {
  for (int i = 0; i < nl->count; i++)
    if (strcmp(nl->names[i], name) == 0) return true;
  return false;
}

struct role_parse {
  struct config *cfg;
  char *err;
  int err_size;
};

static int config_role_one(const char *s, size_t len, void *arg) {
  struct role_parse *rp = arg;
  bool *role = NULL;
  if (len == 6 && strncasecmp(s, "broker", 6) == 0) role = &rp->cfg->role_broker;
  if (len == 10 && strncasecmp(s, "controller", 10) == 0) role = &rp->cfg->role_controller;
  if (role == NULL || *role)
    return config_fail(rp->err, rp->err_size,
                       "invalid value for process.roles: '%s' must list broker and/or controller, "
                       "each once",
                       config_get(rp->cfg, "process.roles"));
  *role = true;
  return 0;
}

struct dir_parse {
  struct config *cfg;
  const char *key;
  char *err;
  int err_size;
};

static int config_dir_one(const char *s, size_t len, void *arg) {
  struct dir_parse *dp = arg;
  struct config *cfg = dp->cfg;
  for (int i = 0; i < cfg->log_dir_count; i++)
    if (strlen(cfg->log_dirs[i]) == len && strncmp(cfg->log_dirs[i], s, len) == 0)
      return config_fail(dp->err, dp->err_size, "invalid value for %s: '%.*s' is listed twice",
                         dp->key, (int)len, s);
  char **dirs = realloc(cfg->log_dirs, sizeof(char *) * (size_t)(cfg->log_dir_count + 1));
  if (dirs == NULL) return config_fail(dp->err, dp->err_size, "out of memory");
  cfg->log_dirs = dirs;
  cfg->log_dirs[cfg->log_dir_count] = strndup(s, len);
  if (cfg->log_dirs[cfg->log_dir_count] == NULL)
    return config_fail(dp->err, dp->err_size, "out of memory");
  cfg->log_dir_count++;
  return 0;
}

static int config_derive_listeners(struct config *cfg, char *err, int err_size) {
  struct proto_map *pm = calloc(1, sizeof(*pm));
  struct name_list *controllers = calloc(1, sizeof(*controllers));
  struct config_listener adv[CONFIG_LISTENERS_MAX];
  int adv_count = 0, rc = -1;
  if (pm == NULL || controllers == NULL) {
    config_fail(err, err_size, "out of memory");
    goto done;
  }
  pm->err = err;
  pm->err_size = err_size;
  if (config_list_each(config_get(cfg, "listener.security.protocol.map"), config_proto_map_one,
                       pm) != 0)
    goto done;
  const char *cln = config_get(cfg, "controller.listener.names");
  if (cln != NULL) config_list_each(cln, config_name_list_add, controllers);
  /* Like Kafka: with the default map, controller listeners that are not named after a security
   * protocol use PLAINTEXT. */
  if (!config_is_set(cfg, "listener.security.protocol.map")) {
    for (int i = 0; i < controllers->count; i++) {
      enum security_protocol sp;
      const char *name = controllers->names[i];
      if (config_security_protocol_parse(name, strlen(name), &sp) == 0) continue;
      bool mapped = false;
      for (int j = 0; j < pm->count; j++) mapped = mapped || strcmp(pm->names[j], name) == 0;
      if (mapped) continue;
      char item[80];
      snprintf(item, sizeof(item), "%s:PLAINTEXT", name);
      if (config_proto_map_one(item, strlen(item), pm) != 0) goto done;
    }
  }

  if (config_listeners_parse("listeners", config_get(cfg, "listeners"), cfg->listeners,
                             &cfg->listener_count, err, err_size) != 0)
    goto done;
  if (cfg->listener_count == 0) {
    config_fail(err, err_size, "invalid value for listeners: '%s' names no listener",
                config_get(cfg, "listeners"));
    goto done;
  }
  for (int i = 0; i < cfg->listener_count; i++) {
    struct config_listener *l = &cfg->listeners[i];
    int j;
    for (j = 0; j < pm->count; j++)
      if (strcmp(pm->names[j], l->name) == 0) break;
    if (j == pm->count) {
      config_fail(err, err_size,
                  "invalid value for listeners: listener name %s is not in "
                  "listener.security.protocol.map (%s)",
                  l->name, config_get(cfg, "listener.security.protocol.map"));
      goto done;
    }
    l->protocol = pm->protocols[j];
    for (int k = 0; k < i; k++) {
      const struct config_listener *o = &cfg->listeners[k];
      bool v6_and_v4 = (strchr(o->host, ':') != NULL) != (strchr(l->host, ':') != NULL) &&
                       o->host[0] != '\0' && l->host[0] != '\0';
      if (l->port != 0 && o->port == l->port && !v6_and_v4) {
        config_fail(err, err_size, "invalid value for listeners: %s and %s both use port %d",
                    o->name, l->name, l->port);
        goto done;
      }
    }
  }

  const char *adv_value = config_get(cfg, "advertised.listeners");
  if (adv_value != NULL) {
    if (config_listeners_parse("advertised.listeners", adv_value, adv, &adv_count, err, err_size) !=
        0)
      goto done;
    for (int i = 0; i < adv_count; i++) {
      int j;
      for (j = 0; j < cfg->listener_count; j++)
        if (strcmp(cfg->listeners[j].name, adv[i].name) == 0) break;
      if (j == cfg->listener_count) {
        config_fail(err, err_size,
                    "invalid value for advertised.listeners: %s is not a name in listeners (%s)",
                    adv[i].name, config_get(cfg, "listeners"));
        goto done;
      }
      adv[i].protocol = cfg->listeners[j].protocol;
      if (strcmp(adv[i].host, "0.0.0.0") == 0 || strcmp(adv[i].host, "::") == 0) {
        config_fail(err, err_size,
                    "invalid value for advertised.listeners: %s advertises the non-routable "
                    "address %s",
                    adv[i].name, adv[i].host);
        goto done;
      }
    }
  } else {
    memcpy(adv, cfg->listeners, sizeof(adv));
    adv_count = cfg->listener_count;
  }
  /* Clients are never sent controller endpoints. */
  cfg->advertised_count = 0;
  for (int i = 0; i < adv_count; i++) {
    if (cfg->role_broker && config_name_list_has(controllers, adv[i].name)) continue;
    cfg->advertised[cfg->advertised_count++] = adv[i];
  }

  /* inter-broker listener */
  const char *ibl = config_get(cfg, "inter.broker.listener.name");
  if (ibl != NULL && config_is_set(cfg, "security.inter.broker.protocol")) {
    config_fail(err, err_size,
                "inter.broker.listener.name=%s and security.inter.broker.protocol=%s are both set; "
                "set only one",
                ibl, config_get(cfg, "security.inter.broker.protocol"));
    goto done;
  }
  if (ibl != NULL) {
    int j;
    for (j = 0; j < cfg->listener_count; j++)
      if (strcasecmp(cfg->listeners[j].name, ibl) == 0) break;
    if (j == cfg->listener_count) {
      config_fail(err, err_size,
                  "invalid value for inter.broker.listener.name: %s is not a name in listeners",
                  ibl);
      goto done;
    }
    snprintf(cfg->inter_broker_listener, sizeof(cfg->inter_broker_listener), "%s",
             cfg->listeners[j].name);
  } else {
    const char *sibp = config_get(cfg, "security.inter.broker.protocol");
    enum security_protocol sp;
    if (config_security_protocol_parse(sibp, strlen(sibp), &sp) == 0) {
      for (int j = 0; j < cfg->listener_count; j++) {
        if (cfg->listeners[j].protocol == sp &&
            !config_name_list_has(controllers, cfg->listeners[j].name)) {
          snprintf(cfg->inter_broker_listener, sizeof(cfg->inter_broker_listener), "%s",
                   cfg->listeners[j].name);
          break;
        }
      }
    }
  }
  rc = 0;
done:
  free(pm);
  free(controllers);
  return rc;
}

static int config_derive(struct config *cfg, char *err, int err_size) {
  /* node.id, with broker.id as its older alias */
  cfg->node_id = (int32_t)config_int(cfg, "node.id");
  int64_t broker_id = config_int(cfg, "broker.id");
  if (config_is_set(cfg, "broker.id") && broker_id >= 0) {
    if (config_is_set(cfg, "node.id") && broker_id != cfg->node_id)
      return config_fail(err, err_size,
                         "broker.id=%" PRId64 " and node.id=%d disagree; set only node.id",
                         broker_id, cfg->node_id);
    cfg->node_id = (int32_t)broker_id;
  }

  const char *cid = config_get(cfg, "cluster.id");
  snprintf(cfg->cluster_id, sizeof(cfg->cluster_id), "%s", cid != NULL ? cid : "");

  struct role_parse rp = {cfg, err, err_size};
  if (config_list_each(config_get(cfg, "process.roles"), config_role_one, &rp) != 0) return -1;
  if (!cfg->role_broker && !cfg->role_controller)
    return config_fail(err, err_size, "invalid value for process.roles: '%s' names no role",
                       config_get(cfg, "process.roles"));

  enum log_level level;
  if (log_level_parse(config_get(cfg, "log.level"), &level) != 0)
    return config_fail(err, err_size, "invalid value for log.level: '%s'",
                       config_get(cfg, "log.level"));
  static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
  snprintf(cfg->log_level, sizeof(cfg->log_level), "%s", level_names[level]);

  const char *dirs_key = config_is_set(cfg, "log.dirs") ? "log.dirs" : "log.dir";
  struct dir_parse dp = {cfg, dirs_key, err, err_size};
  if (config_list_each(config_get(cfg, dirs_key), config_dir_one, &dp) != 0) return -1;
  if (cfg->log_dir_count == 0)
    return config_fail(err, err_size, "invalid value for %s: '%s' names no directory", dirs_key,
                       config_get(cfg, dirs_key));

  if (config_derive_listeners(cfg, err, err_size) != 0) return -1;

  cfg->socket_request_max_bytes = (int32_t)config_int(cfg, "socket.request.max.bytes");
  cfg->message_max_bytes = (int32_t)config_int(cfg, "message.max.bytes");
  cfg->num_partitions = (int32_t)config_int(cfg, "num.partitions");
  cfg->default_replication_factor = (int16_t)config_int(cfg, "default.replication.factor");
  cfg->auto_create_topics_enable = config_bool(cfg, "auto.create.topics.enable");
  cfg->max_connections = (int32_t)config_int(cfg, "max.connections");
  cfg->max_connections_per_ip = (int32_t)config_int(cfg, "max.connections.per.ip");
  cfg->connections_max_idle_ms = config_int(cfg, "connections.max.idle.ms");
  cfg->queued_max_requests = (int32_t)config_int(cfg, "queued.max.requests");
  cfg->request_read_timeout_ms = config_int(cfg, "quire.request.read.timeout.ms");
  cfg->socket_send_buffer_bytes = (int32_t)config_int(cfg, "socket.send.buffer.bytes");
  cfg->socket_receive_buffer_bytes = (int32_t)config_int(cfg, "socket.receive.buffer.bytes");
  cfg->socket_listen_backlog_size = (int32_t)config_int(cfg, "socket.listen.backlog.size");
  cfg->sasl_server_max_receive_size = (int32_t)config_int(cfg, "sasl.server.max.receive.size");
  cfg->num_network_threads = (int32_t)config_int(cfg, "num.network.threads");
  cfg->num_io_threads = (int32_t)config_int(cfg, "num.io.threads");
  cfg->log_segment_bytes = (int32_t)config_int(cfg, "log.segment.bytes");

  /* Kafka's precedence: ms, then minutes, then hours; any negative value means forever. */
  int64_t retention_ms;
  if (config_get_int64(cfg, "log.retention.ms", &retention_ms) != 0) {
    int64_t minutes;
    if (config_get_int64(cfg, "log.retention.minutes", &minutes) == 0)
      retention_ms = minutes * 60000;
    else
      retention_ms = config_int(cfg, "log.retention.hours") * 3600000;
  }
  cfg->log_retention_ms = retention_ms < 0 ? -1 : retention_ms;
  cfg->log_retention_bytes = config_int(cfg, "log.retention.bytes");
  if (cfg->log_retention_bytes < 0) cfg->log_retention_bytes = -1;
  cfg->log_retention_check_interval_ms = config_int(cfg, "log.retention.check.interval.ms");
  if (config_get_int64(cfg, "log.roll.ms", &cfg->log_roll_ms) != 0)
    cfg->log_roll_ms = config_int(cfg, "log.roll.hours") * 3600000;
  cfg->log_flush_interval_messages = config_int(cfg, "log.flush.interval.messages");
  cfg->log_flush_syncfs = config_bool(cfg, "quire.log.flush.syncfs");
  if (config_get_int64(cfg, "log.flush.interval.ms", &cfg->log_flush_interval_ms) != 0)
    cfg->log_flush_interval_ms = config_int(cfg, "log.flush.scheduler.interval.ms");
  return 0;
}

/* ---- load --------------------------------------------------------------------------------- */

static bool config_key_is_prefixed(const char *key) {
  /* per-listener settings (listener.name.<name>.<key>) are read by the listener setup */
  return strncmp(key, "listener.name.", 14) == 0;
}

int config_load(struct config *cfg, const char *path, char *const *overrides, int override_count,
                char *err, int err_size) {
  char *text = NULL;
  memset(cfg, 0, sizeof(*cfg));
  if (err != NULL && err_size > 0) err[0] = '\0';

  if (path != NULL) {
    size_t size;
    int rc = file_read_all(path, CONFIG_FILE_BYTES_MAX, &text, &size);
    if (rc != 0) {
      config_fail(err, err_size, "cannot read configuration file %s: %s", path,
                  rc == -EFBIG ? "larger than 4 MiB" : strerror(-rc));
      goto fail;
    }
    if (config_props_parse(text, size, &cfg->keys, &cfg->values, &cfg->entry_count) != 0) {
      config_fail(err, err_size, "out of memory reading %s", path);
      goto fail;
    }
  }
  for (int i = 0; i < override_count; i++) {
    const char *eq = strchr(overrides[i], '=');
    char key[256];
    size_t klen = eq != NULL ? (size_t)(eq - overrides[i]) : 0;
    while (klen > 0 && isspace((unsigned char)overrides[i][klen - 1])) klen--;
    const char *k = overrides[i];
    while (klen > 0 && isspace((unsigned char)*k)) {
      k++;
      klen--;
    }
    if (eq == NULL || klen == 0 || klen >= sizeof(key)) {
      config_fail(err, err_size, "--override '%s' is not key=value", overrides[i]);
      goto fail;
    }
    memcpy(key, k, klen);
    key[klen] = '\0';
    if (props_set(&cfg->keys, &cfg->values, &cfg->entry_count, key, eq + 1) != 0) {
      config_fail(err, err_size, "out of memory");
      goto fail;
    }
  }

  for (int i = 0; i < cfg->entry_count; i++) {
    const struct config_key *k = config_key_find(cfg->keys[i]);
    if (k == NULL) {
      if (!config_key_is_prefixed(cfg->keys[i]))
        log_warn("config", "unknown configuration key %s (ignored)", cfg->keys[i]);
      continue;
    }
    if (config_value_check(k, cfg->values[i], err, err_size) != 0) goto fail;
  }
  if (config_derive(cfg, err, err_size) != 0) goto fail;
  free(text);
  return 0;

fail:
  free(text);
  config_free(cfg);
  return -1;
}

/* ---- dynamic layers ------------------------------------------------------------------------ */

bool config_key_per_broker(const char *name) {
  /* Kafka: DynamicBrokerConfig's per-broker configs, and listener.name.<l>.<key> except for the
   * cluster-level listener configs */
  static const char *const cluster_level[] = {"max.connections", "max.connection.creation.rate",
                                              "num.network.threads"};
  if (strncmp(name, "listener.name.", 14) == 0) {
    const char *dot = strchr(name + 14, '.');
    if (dot == NULL) return false;
    for (size_t i = 0; i < sizeof(cluster_level) / sizeof(cluster_level[0]); i++)
      if (strcmp(dot + 1, cluster_level[i]) == 0) return false;
    return true;
  }
  const struct config_key *k = config_key_find(name);
  return k != NULL && k->dynamic == CONFIG_PER_BROKER;
}

bool config_key_runtime_ok(const char *name) {
  if (strncmp(name, "listener.name.", 14) == 0) return false;
  if (strcmp(name, "max.connections.per.ip") == 0 ||
      strcmp(name, "max.connections.per.ip.overrides") == 0)
    return false;
  const struct config_key *k = config_key_find(name);
  return k == NULL || k->dynamic != CONFIG_PER_BROKER;
}

static int config_layer_fill(struct config_entries *layer, const struct config_override *ov,
                             int count, bool cluster_default, char *err, int err_size) {
  for (int i = 0; i < count; i++) {
    const char *name = ov[i].name, *value = ov[i].value;
    if (name == NULL || value == NULL) continue;
    const struct config_key *k = config_key_find(name);
    char why[512];
    why[0] = '\0';
    if (k != NULL && k->dynamic == CONFIG_READ_ONLY)
      snprintf(why, sizeof(why), "it cannot be updated dynamically");
    else if (cluster_default && config_key_per_broker(name))
      snprintf(why, sizeof(why), "it can be set for one broker only");
    else if (!config_key_runtime_ok(name))
      snprintf(why, sizeof(why), "Quire applies it only from the properties file");
    else if (k != NULL) {
      char *trimmed = config_strdup_trim(value);
      if (trimmed == NULL) return config_fail(err, err_size, "out of memory");
      if (config_value_check(k, trimmed, why, sizeof(why)) != 0 && why[0] == '\0')
        snprintf(why, sizeof(why), "invalid value");
      free(trimmed);
    }
    if (why[0] != '\0') {
      log_warn("config", "dynamic %s config %s ignored: %s",
               cluster_default ? "cluster-wide" : "per-broker", name, why);
      continue;
    }
    if (props_set(&layer->keys, &layer->values, &layer->count, name, value) != 0)
      return config_fail(err, err_size, "out of memory");
  }
  return 0;
}

int config_load_dynamic(struct config *cfg, const struct config *base,
                        const struct config_override *dynamic_default, int default_count,
                        const struct config_override *dynamic_broker, int broker_count, char *err,
                        int err_size) {
  memset(cfg, 0, sizeof(*cfg));
  if (err != NULL && err_size > 0) err[0] = '\0';
  for (int i = 0; i < base->entry_count; i++) {
    if (props_set(&cfg->keys, &cfg->values, &cfg->entry_count, base->keys[i], base->values[i]) !=
        0) {
      config_fail(err, err_size, "out of memory");
      goto fail;
    }
  }
  if (config_layer_fill(&cfg->dynamic_default, dynamic_default, default_count, true, err,
                        err_size) != 0 ||
      config_layer_fill(&cfg->dynamic_broker, dynamic_broker, broker_count, false, err, err_size) !=
          0)
    goto fail;
  if (config_derive(cfg, err, err_size) != 0) goto fail;
  return 0;
fail:
  config_free(cfg);
  return -1;
}

void config_free(struct config *cfg) {
  for (int i = 0; i < cfg->log_dir_count; i++) free(cfg->log_dirs[i]);
  free(cfg->log_dirs);
  config_props_free(cfg->keys, cfg->values, cfg->entry_count);
  config_props_free(cfg->dynamic_default.keys, cfg->dynamic_default.values,
                    cfg->dynamic_default.count);
  config_props_free(cfg->dynamic_broker.keys, cfg->dynamic_broker.values,
                    cfg->dynamic_broker.count);
  memset(cfg, 0, sizeof(*cfg));
}
