/* Broker configuration: Kafka's key names, Apache Kafka 4.3's defaults except where DESIGN.md's
 * defaults table differs. Sources in order of precedence (Kafka's, KIP-226): this broker's dynamic
 * values (ConfigRecords of resource "<node id>"), the cluster-wide dynamic defaults (resource ""),
 * then the static configuration: --override key=value, the properties file, the embedded
 * defaults. config_load reads the static part; config_load_dynamic layers the dynamic values
 * from the metadata image on a copy of it (the broker does so whenever they change). */
#ifndef QUIRE_BROKER_CONFIG_H
#define QUIRE_BROKER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_LISTENERS_MAX 8

enum security_protocol {
  SECPROTO_PLAINTEXT,
  SECPROTO_SSL,
  SECPROTO_SASL_PLAINTEXT,
  SECPROTO_SASL_SSL
};

struct config_listener {
  char name[64];                   /* listener name, e.g. "PLAINTEXT" */
  enum security_protocol protocol; /* from listener.security.protocol.map */
  char host[256];                  /* "" means all interfaces */
  int port;                        /* 0 means an ephemeral port chosen at bind time */
};

struct config {
  int32_t node_id;
  char cluster_id[64];               /* "" unless cluster.id is set */
  bool role_broker, role_controller; /* process.roles */
  struct config_listener listeners[CONFIG_LISTENERS_MAX];
  int listener_count;
  /* advertised.listeners; defaults to listeners */
  struct config_listener advertised[CONFIG_LISTENERS_MAX];
  int advertised_count;
  char **log_dirs; /* log.dirs (falls back to log.dir) */
  int log_dir_count;
  int32_t socket_request_max_bytes; /* socket.request.max.bytes */
  char log_level[16];               /* log.level: DEBUG, INFO, WARN, ERROR */
  /* Frequently used values, parsed once (config_get and config_get_int64 reach every key). */
  char inter_broker_listener[64];       /* inter.broker.listener.name, else the name of a listener
                                           using security.inter.broker.protocol; "" if none */
  int32_t message_max_bytes;            /* message.max.bytes */
  int32_t num_partitions;               /* num.partitions */
  int16_t default_replication_factor;   /* default.replication.factor */
  bool auto_create_topics_enable;       /* auto.create.topics.enable */
  int32_t max_connections;              /* max.connections */
  int32_t max_connections_per_ip;       /* max.connections.per.ip */
  int64_t connections_max_idle_ms;      /* connections.max.idle.ms */
  int32_t queued_max_requests;          /* queued.max.requests */
  int64_t request_read_timeout_ms;      /* quire.request.read.timeout.ms */
  int32_t socket_send_buffer_bytes;     /* socket.send.buffer.bytes; -1 = the OS default */
  int32_t socket_receive_buffer_bytes;  /* socket.receive.buffer.bytes; -1 = the OS default */
  int32_t socket_listen_backlog_size;   /* socket.listen.backlog.size */
  int32_t sasl_server_max_receive_size; /* sasl.server.max.receive.size */
  int32_t num_network_threads, num_io_threads;
  int32_t log_segment_bytes;   /* log.segment.bytes */
  int64_t log_retention_ms;    /* log.retention.ms, else .minutes, else .hours; -1 = forever */
  int64_t log_retention_bytes; /* log.retention.bytes; -1 = unlimited */
  int64_t log_retention_check_interval_ms;
  int64_t log_roll_ms; /* log.roll.ms, else log.roll.hours */
  int64_t log_flush_interval_messages;
  int64_t log_flush_interval_ms; /* log.flush.interval.ms, else log.flush.scheduler.interval.ms */
  bool log_flush_syncfs;         /* quire.log.flush.syncfs */
  /* every key/value seen in the file and overrides (the static layer), for handlers that report
   * configs later */
  char **keys, **values;
  int entry_count;
  /* the dynamic layers (config_load_dynamic); empty after config_load */
  struct config_entries {
    char **keys, **values;
    int count;
  } dynamic_default, dynamic_broker;
};

/* A {name, value} pair given by a caller (topic overrides, dynamic broker configs, requests). */
struct config_override {
  const char *name;
  const char *value;
};

/* The layers of a broker's configuration, most specific first (DescribeConfigs' sources
 * DYNAMIC_BROKER_CONFIG, DYNAMIC_DEFAULT_BROKER_CONFIG, STATIC_BROKER_CONFIG). */
enum config_layer {
  CONFIG_LAYER_DYNAMIC_BROKER,
  CONFIG_LAYER_DYNAMIC_DEFAULT,
  CONFIG_LAYER_STATIC,
};

/* Fills cfg from the embedded defaults, then the file (path may be NULL), then overrides
 * ("key=value" strings). On a bad value returns -1 with a message naming the key in err. */
int config_load(struct config *cfg, const char *path, char *const *overrides, int override_count,
                char *err, int err_size);
/* Fills cfg with base's static layer (base's own dynamic layers are ignored) plus the dynamic
 * layers given (the cluster-wide defaults, then this broker's values; entries with a NULL value
 * are skipped), then derives the typed fields as config_load does. Dynamic entries Kafka would
 * drop when it reads them back (KafkaConfig: read-only keys, per-broker keys among the cluster
 * defaults, values that fail their key's check) and keys Quire cannot apply at run time
 * (config_key_runtime_ok) are left out with a warning; unknown keys are kept, as Kafka keeps
 * custom properties. Returns -1 with a message when the combination fails a cross-key rule. */
int config_load_dynamic(struct config *cfg, const struct config *base,
                        const struct config_override *dynamic_default, int default_count,
                        const struct config_override *dynamic_broker, int broker_count, char *err,
                        int err_size);
void config_free(struct config *cfg);
/* The value of any key from the most specific layer that has it, else its default; NULL when
 * unknown, and also for a known key that is unset and has no default (Kafka's null, e.g.
 * log.retention.ms). */
const char *config_get(const struct config *cfg, const char *key);
/* The value of key in one layer, or NULL. */
const char *config_layer_get(const struct config *cfg, enum config_layer layer, const char *key);
/* Whether key was given in any layer (the file, an override or a dynamic config). */
bool config_is_set(const struct config *cfg, const char *key);
/* config_get parsed as an integer (int, long or short keys) or a boolean; -1 when the key is
 * unknown, null or not of that type. */
int config_get_int64(const struct config *cfg, const char *key, int64_t *out);
int config_get_bool(const struct config *cfg, const char *key, bool *out);

/* The table of known keys, for DescribeConfigs and friends. */
enum config_type {
  CONFIG_INT,
  CONFIG_LONG,
  CONFIG_SHORT,
  CONFIG_DOUBLE,
  CONFIG_BOOL,
  CONFIG_STRING,
  CONFIG_LIST,
  CONFIG_PASSWORD,
  CONFIG_LISTENERS,
  CONFIG_PROTOCOL_MAP
};
/* Whether Kafka lets a key change at run time (its broker docs' "Update Mode"; DescribeConfigs
 * reports the read-only ones as read_only). */
enum config_dynamic {
  CONFIG_READ_ONLY,    /* needs a restart */
  CONFIG_PER_BROKER,   /* dynamic, for one broker only (listeners, TLS and SASL settings) */
  CONFIG_CLUSTER_WIDE, /* dynamic, as a cluster-wide default or for one broker */
};
struct config_key {
  const char *name;
  enum config_type type;
  const char *default_value; /* NULL: no default (Kafka's null) */
  int64_t min, max;          /* range of numeric types */
  const char *choices;       /* comma-separated allowed values (case-insensitive), or NULL */
  enum config_dynamic dynamic;
  const char *doc; /* our short description (DescribeConfigs documentation) */
};
int config_key_count(void);
const struct config_key *config_key_at(int index);
const struct config_key *config_key_find(const char *name);
/* DescribeConfigs' ConfigType of a key type: BOOLEAN 1, STRING 2, INT 3, SHORT 4, LONG 5,
 * DOUBLE 6, LIST 7, CLASS 8, PASSWORD 9 (listeners are LIST, the protocol map STRING). */
int8_t config_type_id(enum config_type type);
/* Kafka's broker synonyms of a key, most specific first (DynamicBrokerConfig
 * .brokerConfigSynonyms): log.retention.{ms,minutes,hours}, log.roll.{ms,hours},
 * log.roll.jitter.{ms,hours}, log.flush.interval.ms then log.flush.scheduler.interval.ms, and
 * listener.name.<l>.<key> then <key>; any other key is its own only synonym. Returns the count
 * (at most CONFIG_SYNONYMS_MAX). */
#define CONFIG_SYNONYMS_MAX 4
int config_synonym_names(const char *name, const char **out);
/* Keys Kafka updates at run time that Quire cannot apply without a restart of its listeners:
 * listeners, the protocol map, TLS and SASL settings (also with a listener.name. prefix), and
 * the per-ip connection limits. Quire refuses them on alter rather than store a value it does
 * not act on. */
bool config_key_runtime_ok(const char *name);
/* Whether Kafka allows key only on one broker's resource, not among the cluster-wide defaults:
 * the per-broker keys and listener.name.<l>.<key> (but for max.connections,
 * max.connection.creation.rate and num.network.threads). */
bool config_key_per_broker(const char *name);
/* Validates one value against its key's type, range and choices; on failure writes a message
 * naming the key and the value. */
int config_value_check(const struct config_key *key, const char *value, char *err, int err_size);
/* A Kafka id (cluster.id, directory.id): 22 characters of URL-safe base64. */
bool config_id_valid(const char *id);

/* Java-properties text (comments # and !, key=value / key: value / key value, backslash escapes
 * and line continuations) into malloc'd parallel arrays; a later duplicate key replaces an earlier
 * one. Returns 0 or -1 (out of memory). */
int config_props_parse(const char *text, size_t size, char ***keys, char ***values, int *count);
void config_props_free(char **keys, char **values, int count);

#endif
