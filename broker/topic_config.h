/* Topic configuration and the config model of the admin APIs (CreateTopics, DescribeConfigs,
 * AlterConfigs, IncrementalAlterConfigs, ListConfigResources), behaving as Apache Kafka 4.3.
 * Pure: no I/O, no libevent, no globals; results come from the caller's per-request arena.
 *
 * Design note.
 *  - A topic's configuration is its overrides: an array of {name, value} owned by the caller
 *    (the metadata image), every name a topic key and every value valid. Everything else is
 *    derived: the effective value of a key is the override, else the broker's value of the key's
 *    "server default property" (log.retention.ms <- .minutes <- .hours, log.roll.ms <- .hours ...,
 *    as Kafka's LogConfig.extractLogConfigMap), else Kafka's topic default.
 *  - Validation is Kafka's LogConfig.validate over broker defaults plus overrides: unknown names
 *    first ("Unknown topic config name: x"), then each value in Kafka's key definition order
 *    ("Invalid value v for configuration k: reason"), then cross-key rules (compaction lags,
 *    tiered storage, which Quire does not have). All of these are INVALID_CONFIG.
 *  - Describing follows Kafka's ConfigHelper: a topic key's synonyms are the TOPIC_CONFIG
 *    override, then the broker synonyms of its server key set in the file (STATIC_BROKER_CONFIG)
 *    then their non-null defaults (DEFAULT_CONFIG), and, as Kafka does, the broker part is
 *    dropped up to the first synonym named exactly like the server key. So with only
 *    log.retention.hours in the file, retention.ms has no synonyms and source DEFAULT_CONFIG
 *    (value: the effective 86400000 ...); with log.retention.ms in the file it lists ms, hours.
 *    Dynamic broker configs (KIP-226) come first: the synonyms are, in Kafka's order, the
 *    per-broker dynamic values (DYNAMIC_BROKER_CONFIG), the cluster-wide dynamic defaults
 *    (DYNAMIC_DEFAULT_BROKER_CONFIG), the file (STATIC_BROKER_CONFIG), then the defaults, each
 *    over all synonym names. The dynamic layers live in struct config itself (config.h), so
 *    every function here that takes the broker's config sees them. The entry's source is its
 *    first synonym's, else DEFAULT_CONFIG.
 *  - Error codes are protocol/errors.h values (ERR_*); messages are Kafka's shapes. */
#ifndef QUIRE_BROKER_TOPIC_CONFIG_H
#define QUIRE_BROKER_TOPIC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "plog.h"
#include "wire.h"

/* ---- the topic keys ------------------------------------------------------------------------ */

/* How a key's value is checked beyond its type. */
enum topic_config_check {
  TCFG_CHECK_NONE,
  TCFG_CHECK_RANGE,      /* integer in [min, max] (ConfigDef.Range) */
  TCFG_CHECK_RATIO,      /* double in [0, 1] */
  TCFG_CHECK_GZIP_LEVEL, /* 1..9 or -1 */
  TCFG_CHECK_CHOICE,     /* one of choices, case-sensitive (ConfigDef.ValidString) */
  TCFG_CHECK_LIST,       /* items among choices; empty list allowed (cleanup.policy) */
  TCFG_CHECK_THROTTLED,  /* "*" or partition:broker items */
};

struct topic_config_key {
  const char *name;
  enum config_type type;     /* CONFIG_INT, _LONG, _DOUBLE, _BOOL, _STRING or _LIST */
  const char *kafka_default; /* Kafka's LogConfig default, normalized */
  const char *server_key;    /* the broker key that gives the default, or NULL */
  enum topic_config_check check;
  int64_t min, max;    /* TCFG_CHECK_RANGE */
  const char *choices; /* TCFG_CHECK_CHOICE / _LIST, comma-separated */
  const char *doc;     /* our short description */
};

/* Every topic key of Kafka 4.3, in Kafka's definition order (the order values are checked in). */
int topic_config_key_count(void);
const struct topic_config_key *topic_config_key_at(int index);
const struct topic_config_key *topic_config_key_find(const char *name);

/* Topic overrides are struct config_override (config.h): CreateTopics configs, the stored
 * overrides, AlterConfigs entries. value is NULL only in requests (CreateTopics / AlterConfigs
 * refuse it). */

/* ---- validation ---------------------------------------------------------------------------- */

/* CreateTopics (and the final check of both alter APIs): validates a topic's complete override
 * set against the broker's defaults. Returns ERR_NONE, or ERR_INVALID_CONFIG with Kafka's
 * message in msg: null values ("Null value not supported for topic configs: a,b"), an unknown
 * name, a bad value, conflicting values. A name given twice counts once, the last value winning
 * (Kafka keys the configs by name). */
int16_t topic_config_validate(const struct config *broker, const struct config_override *ov,
                              int count, char *msg, size_t msg_size);

/* ---- alter --------------------------------------------------------------------------------- */

enum config_alter_op_type {
  CONFIG_OP_SET = 0,
  CONFIG_OP_DELETE = 1,
  CONFIG_OP_APPEND = 2,
  CONFIG_OP_SUBTRACT = 3,
};

struct config_alter_op {
  const char *name;
  int8_t op;         /* enum config_alter_op_type */
  const char *value; /* NULL allowed for DELETE only */
};

/* IncrementalAlterConfigs on one TOPIC resource: applies ops (in order) to the current
 * overrides and validates the result. On ERR_NONE *out / *out_count hold the new override set
 * (arena memory; the caller copies it into the image), in the order of `current` with new keys
 * appended. Errors, as Kafka 4.3:
 *  - INVALID_REQUEST "Error due to duplicate config keys" (a name twice in ops),
 *    "Null value not supported for : a, b" (null value for other than DELETE),
 *    "Unknown operations type N";
 *  - INVALID_CONFIG "Can't APPEND to key k because its type is not LIST." (also SUBTRACT, also
 *    for unknown keys), then everything topic_config_validate reports.
 * APPEND/SUBTRACT start from the override, else from Kafka's topic default (not the broker's:
 * Kafka does the same), split the value on ',' and keep list order; APPEND skips values already
 * present. DELETE of a key with no override is a no-op. */
int16_t topic_config_alter_incremental(const struct config *broker,
                                       const struct config_override *current, int current_count,
                                       const struct config_alter_op *ops, int op_count,
                                       struct wire_arena *arena, struct config_override **out,
                                       int *out_count, char *msg, size_t msg_size);

/* AlterConfigs (legacy) on one TOPIC resource: the entries replace the whole override set.
 * INVALID_REQUEST for duplicate names ("Error due to duplicate config keys") or null values
 * ("Null value not supported for : a, b"), then topic_config_validate. On success the new set is
 * the entries themselves (the caller stores them). */
int16_t topic_config_alter_legacy(const struct config *broker, const struct config_override *ov,
                                  int count, char *msg, size_t msg_size);

/* ---- alter: BROKER resources (KIP-226 dynamic broker configs) ------------------------------ */

/* Both alter APIs on a BROKER resource validate as Kafka 4.3's broker does before forwarding to
 * the controller (ConfigAdminManager, DynamicBrokerConfig.validateConfigs), INVALID_REQUEST
 * unless said otherwise:
 *  - "Error due to duplicate config keys", "Null value not supported for : a, b";
 *  - the resource name: "" (the cluster-wide default) or this node's id: "Node id must be an
 *    integer, but it is: x", "Unexpected broker id, expected N, but received M";
 *  - (incremental) "Unknown operations type N";
 *  - (incremental) the ops applied to the resource's stored values: APPEND / SUBTRACT only on
 *    LIST keys (INVALID_CONFIG "Config value append is not allowed for config key: k"; an unknown
 *    key gives UNKNOWN_SERVER_ERROR without a message, as Kafka's map lookup throws), starting
 *    from the stored value, else the key's default; APPEND skips items already present;
 *    SUBTRACT removes one occurrence per item;
 *  - then the whole resulting set: "Cannot update these configs dynamically: [k1, k2]" (read-only
 *    keys; Kafka 4.3 prints a Java set), "These security configs can be dynamically updated only
 *    per-listener using the listener prefix: [...]", a bad value ("Invalid value v for
 *    configuration k: reason", ConfigDef's words), "Cannot update these configs at default
 *    cluster level, broker id must be specified: [...]" (per-broker keys on ""), Quire's own
 *    "Quire cannot apply these configs at run time, set them in the properties file: [...]"
 *    (config_key_runtime_ok), and the cross-key rules of the effective configuration.
 * Unknown keys are accepted and stored (Kafka allows custom broker properties).
 * On ERR_NONE the incremental call gives the resource's new set in *out (arena); the legacy call's
 * new set is the entries themselves (they replace the resource's whole set). */
int16_t config_broker_alter_incremental(const struct config *broker, const char *resource_name,
                                        const struct config_override *current, int current_count,
                                        const struct config_alter_op *ops, int op_count,
                                        struct wire_arena *arena, struct config_override **out,
                                        int *out_count, char *msg, size_t msg_size);
int16_t config_broker_alter_legacy(const struct config *broker, const char *resource_name,
                                   const struct config_override *ov, int count, char *msg,
                                   size_t msg_size);

/* ---- effective settings -------------------------------------------------------------------- */

enum topic_compression {
  TOPIC_COMPRESSION_PRODUCER,
  TOPIC_COMPRESSION_UNCOMPRESSED,
  TOPIC_COMPRESSION_GZIP,
  TOPIC_COMPRESSION_SNAPPY,
  TOPIC_COMPRESSION_LZ4,
  TOPIC_COMPRESSION_ZSTD,
};

/* What the partition log and the produce path need, from broker defaults plus overrides. */
struct topic_settings {
  struct plog_config plog; /* segment.*, index.*, flush.*, retention.*, max.message.bytes */
  enum topic_compression compression;
  int32_t compression_gzip_level, compression_lz4_level, compression_zstd_level;
  bool log_append_time;                 /* message.timestamp.type=LogAppendTime */
  int64_t timestamp_before_max_ms;      /* message.timestamp.before.max.ms */
  int64_t timestamp_after_max_ms;       /* message.timestamp.after.max.ms */
  bool cleanup_delete, cleanup_compact; /* cleanup.policy (both false: keep forever) */
  int32_t min_insync_replicas;
  bool unclean_leader_election;
  bool preallocate;
  int64_t segment_jitter_ms;
  int64_t delete_retention_ms, min_compaction_lag_ms, max_compaction_lag_ms;
  double min_cleanable_dirty_ratio;
  int64_t file_delete_delay_ms;
};

/* Fills *out. The overrides are assumed valid (as stored); a bad one is ignored for the broker
 * value. Returns 0. */
int topic_config_settings(const struct config *broker, const struct config_override *ov, int count,
                          struct topic_settings *out);

/* The effective value of one topic key, normalized as Kafka prints it (ConfigDef
 * .convertToString): the override, else the broker's, else Kafka's default. Written to buf;
 * returns buf, or NULL for an unknown key. */
const char *topic_config_value(const struct config *broker, const struct config_override *ov,
                               int count, const char *name, char *buf, size_t buf_size);

/* ---- DescribeConfigs ----------------------------------------------------------------------- */

enum config_source {
  CONFIG_SOURCE_UNKNOWN = 0,
  CONFIG_SOURCE_TOPIC = 1, /* TOPIC_CONFIG */
  CONFIG_SOURCE_DYNAMIC_BROKER = 2,
  CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER = 3,
  CONFIG_SOURCE_STATIC_BROKER = 4,
  CONFIG_SOURCE_DEFAULT = 5,
  CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER = 6,
  CONFIG_SOURCE_CLIENT_METRICS = 7,
  CONFIG_SOURCE_GROUP = 8,
};

/* DescribeConfigs resource types. */
enum config_resource_type {
  CONFIG_RESOURCE_UNKNOWN = 0,
  CONFIG_RESOURCE_TOPIC = 2,
  CONFIG_RESOURCE_BROKER = 4,
  CONFIG_RESOURCE_BROKER_LOGGER = 8,
  CONFIG_RESOURCE_CLIENT_METRICS = 16,
  CONFIG_RESOURCE_GROUP = 32,
};

struct config_synonym {
  const char *name;
  const char *value; /* NULL: null (sensitive) */
  int8_t source;     /* enum config_source */
};

struct config_entry {
  const char *name;
  const char *value; /* NULL: null (sensitive, or unset with no default) */
  int8_t source;     /* enum config_source */
  bool read_only, sensitive;
  int8_t type;                     /* ConfigType (config_type_id), v3+ */
  const char *doc;                 /* NULL unless documentation was asked for */
  struct config_synonym *synonyms; /* only when synonyms were asked for */
  int synonym_count;
};

struct config_describe_args {
  const char *const *keys; /* ConfigurationKeys: NULL (or key_count 0) for all */
  int key_count;
  bool include_synonyms, include_documentation;
};

/* The entries of a TOPIC resource (every topic key, alphabetical, filtered by args->keys;
 * requested names that are not topic keys are left out, as Kafka does). Strings and arrays come
 * from the arena. Returns 0, or -1 when the arena is exhausted. */
int topic_config_describe(const struct config *broker, const struct config_override *ov, int count,
                          const struct config_describe_args *args, struct wire_arena *arena,
                          struct config_entry **out, int *out_count);

/* Checks a BROKER resource name as Kafka does: "" is the cluster-wide default (*cluster_default
 * set; its entries are the dynamic defaults), the node's own id is this broker.
 * INVALID_REQUEST "Broker id must be an integer, but it is: x" or "Unexpected broker id,
 * expected N or empty string, but received M". */
int16_t config_broker_resource_check(const struct config *broker, const char *resource_name,
                                     bool *cluster_default, char *msg, size_t msg_size);

/* The entries of this BROKER resource: every key of config.c's table plus unknown keys given in
 * the file, overrides or dynamic configs (type UNKNOWN, sensitive), alphabetical. Value: the
 * effective one (normalized) or the default; NULL for passwords. Source: the first synonym's
 * (DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG), else
 * DEFAULT_CONFIG (after Kafka's synonym rules: log.retention.minutes reports DEFAULT_CONFIG and
 * no synonyms when only log.retention.hours is set). read_only unless Kafka can update the key at
 * run time. For the cluster-default resource ("") pass cluster_default: one entry per dynamic
 * default set, its value as stored, its synonyms only the DYNAMIC_DEFAULT_BROKER_CONFIG ones
 * (Kafka's ConfigHelper). */
int config_broker_describe(const struct config *broker, bool cluster_default,
                           const struct config_describe_args *args, struct wire_arena *arena,
                           struct config_entry **out, int *out_count);

/* BROKER_LOGGER: Kafka lists its log4j loggers; Quire has one logger, reported as "root" with
 * log.level's value (the caller puts in the level set at run time), source
 * DYNAMIC_BROKER_LOGGER_CONFIG, not read-only (like Kafka). INVALID_REQUEST "Broker id must not be
 * empty" / "Unexpected broker id, expected N but received M" / "Broker id must be an integer, but
 * it is: x" for a bad resource name (returned, with msg; no entries). */
int16_t config_broker_logger_describe(const struct config *broker, const char *resource_name,
                                      const struct config_describe_args *args,
                                      struct wire_arena *arena, struct config_entry **out,
                                      int *out_count, char *msg, size_t msg_size);

/* IncrementalAlterConfigs on a BROKER_LOGGER resource, validated as Kafka's RuntimeLoggerManager
 * (after the duplicate-key and null-value checks): the name must be this node's id ("Node id
 * must be an integer, but it is: x"; "Unexpected node id. Expected N, but received N", Kafka's
 * words), each op a SET of the "root" logger (Quire's only one; others INVALID_CONFIG "Logger x
 * does not exist!") to FATAL, ERROR, WARN, INFO, DEBUG or TRACE (INVALID_CONFIG otherwise);
 * DELETE of root, APPEND and SUBTRACT are INVALID_REQUEST. The caller applies the levels (FATAL
 * counts as ERROR, TRACE as DEBUG); nothing is stored, as in Kafka. */
int16_t config_broker_logger_alter_check(const struct config *broker, const char *resource_name,
                                         const struct config_alter_op *ops, int op_count, char *msg,
                                         size_t msg_size);

/* Java's Double.toString, as Kafka prints DOUBLE values ("0.5", "1.0E-4",
 * "1.7976931348623157E308"). */
void config_format_double(double v, char *buf, size_t buf_size);

#endif
