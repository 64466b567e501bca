/* Topic configuration and the DescribeConfigs / alter model: Kafka 4.3's topic defaults (the
 * expected values below are copied from Kafka's topic config documentation, not from the table),
 * validation messages, synonyms and sources, sensitive values, incremental operations, and the
 * partition log settings derived from broker defaults plus overrides. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "topic_config.h"

/* Loads a broker config from --override strings (they count as "set", like the file). */
static void load(struct config *cfg, int count, ...) {
  char buf[16][256];
  char *ov[16];
  char err[512];
  va_list ap;
  va_start(ap, count);
  for (int i = 0; i < count; i++) {
    snprintf(buf[i], sizeof(buf[i]), "%s", va_arg(ap, const char *));
    ov[i] = buf[i];
  }
  va_end(ap);
  ck_assert_msg(config_load(cfg, NULL, ov, count, err, sizeof(err)) == 0, "%s", err);
}

static const char *value_of(const struct config *cfg, const struct config_override *ov, int n,
                            const char *name) {
  static char buf[1024];
  return topic_config_value(cfg, ov, n, name, buf, sizeof(buf));
}

/* Kafka 4.3's topic configs and defaults, from its documentation. */
static const char *const kafka_topic_defaults[][2] = {
    {"cleanup.policy", "delete"},
    {"compression.gzip.level", "-1"},
    {"compression.lz4.level", "9"},
    {"compression.type", "producer"},
    {"compression.zstd.level", "3"},
    {"delete.retention.ms", "86400000"},
    {"file.delete.delay.ms", "60000"},
    {"flush.messages", "9223372036854775807"},
    {"flush.ms", "9223372036854775807"},
    {"follower.replication.throttled.replicas", ""},
    {"index.interval.bytes", "4096"},
    {"leader.replication.throttled.replicas", ""},
    {"local.retention.bytes", "-2"},
    {"local.retention.ms", "-2"},
    {"max.compaction.lag.ms", "9223372036854775807"},
    {"max.message.bytes", "1048588"},
    {"message.timestamp.after.max.ms", "3600000"},
    {"message.timestamp.before.max.ms", "9223372036854775807"},
    {"message.timestamp.type", "CreateTime"},
    {"min.cleanable.dirty.ratio", "0.5"},
    {"min.compaction.lag.ms", "0"},
    {"min.insync.replicas", "1"},
    {"preallocate", "false"},
    {"remote.log.copy.disable", "false"},
    {"remote.log.delete.on.disable", "false"},
    {"remote.storage.enable", "false"},
    {"retention.bytes", "-1"},
    {"retention.ms", "604800000"},
    {"segment.bytes", "1073741824"},
    {"segment.index.bytes", "10485760"},
    {"segment.jitter.ms", "0"},
    {"segment.ms", "604800000"},
    {"unclean.leader.election.enable", "false"},
};
#define KAFKA_TOPIC_KEYS ((int)(sizeof(kafka_topic_defaults) / sizeof(kafka_topic_defaults[0])))

START_TEST(every_topic_key_defaults_to_kafkas_value) {
  struct config cfg;
  /* Kafka's own flush default; Quire's is 1 (DESIGN.md), checked below */
  load(&cfg, 1, "log.flush.interval.messages=9223372036854775807");
  ck_assert_int_eq(topic_config_key_count(), KAFKA_TOPIC_KEYS);
  for (int i = 0; i < KAFKA_TOPIC_KEYS; i++) {
    const char *name = kafka_topic_defaults[i][0];
    ck_assert_msg(topic_config_key_find(name) != NULL, "%s missing", name);
    const char *v = value_of(&cfg, NULL, 0, name);
    ck_assert_msg(strcmp(v, kafka_topic_defaults[i][1]) == 0, "%s=%s, Kafka: %s", name, v,
                  kafka_topic_defaults[i][1]);
  }
  ck_assert_ptr_null(topic_config_key_find("message.downconversion.enable")); /* gone in 4.x */
  ck_assert_ptr_null(topic_config_key_find("message.format.version"));
  config_free(&cfg);

  load(&cfg, 0);
  ck_assert_str_eq(value_of(&cfg, NULL, 0, "flush.messages"), "1"); /* Quire's group commit */
  config_free(&cfg);
}
END_TEST

START_TEST(types_are_kafkas_config_types) {
  static const struct {
    const char *name;
    int8_t type;
  } want[] = {{"cleanup.policy", 7},
              {"retention.ms", 5},
              {"segment.bytes", 3},
              {"min.cleanable.dirty.ratio", 6},
              {"preallocate", 1},
              {"compression.type", 2},
              {"leader.replication.throttled.replicas", 7}};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    ck_assert_int_eq(config_type_id(topic_config_key_find(want[i].name)->type), want[i].type);
  for (int i = 0; i < topic_config_key_count(); i++) {
    const struct topic_config_key *k = topic_config_key_at(i);
    ck_assert_msg(k->doc != NULL && k->doc[0] != '\0', "%s has no doc", k->name);
    if (k->server_key != NULL)
      ck_assert_msg(config_key_find(k->server_key) != NULL, "%s: no broker key %s", k->name,
                    k->server_key);
  }
}
END_TEST

static void expect_invalid(const struct config *cfg, const char *name, const char *value,
                           int16_t code, const char *message) {
  struct config_override ov[1] = {{name, value}};
  char msg[512];
  int16_t rc = topic_config_validate(cfg, ov, 1, msg, sizeof(msg));
  ck_assert_msg(rc == code, "%s=%s: %d %s", name, value ? value : "(null)", rc, msg);
  if (message != NULL) ck_assert_str_eq(msg, message);
}

START_TEST(bad_topic_configs_get_kafkas_messages) {
  struct config cfg;
  load(&cfg, 0);
  int16_t inv = ERR_INVALID_CONFIG;
  expect_invalid(&cfg, "no.such.key", "1", inv, "Unknown topic config name: no.such.key");
  expect_invalid(&cfg, "message.downconversion.enable", "true", inv,
                 "Unknown topic config name: message.downconversion.enable");
  expect_invalid(&cfg, "retention.ms", NULL, inv,
                 "Null value not supported for topic configs: retention.ms");
  expect_invalid(&cfg, "segment.bytes", "100", inv,
                 "Invalid value 100 for configuration segment.bytes: Value must be at least "
                 "1048576");
  expect_invalid(&cfg, "retention.ms", "abc", inv,
                 "Invalid value abc for configuration retention.ms: Not a number of type LONG");
  expect_invalid(&cfg, "retention.ms", "-2", inv,
                 "Invalid value -2 for configuration retention.ms: Value must be at least -1");
  expect_invalid(&cfg, "segment.bytes", "1.5", inv,
                 "Invalid value 1.5 for configuration segment.bytes: Not a number of type INT");
  expect_invalid(&cfg, "segment.bytes", "4294967296", inv,
                 "Invalid value 4294967296 for configuration segment.bytes: Not a number of type "
                 "INT");
  expect_invalid(&cfg, "preallocate", "yes", inv,
                 "Invalid value yes for configuration preallocate: Expected value to be either "
                 "true or false");
  expect_invalid(&cfg, "compression.type", "GZIP", inv,
                 "Invalid value GZIP for configuration compression.type: String must be one of: "
                 "uncompressed, zstd, lz4, snappy, gzip, producer");
  expect_invalid(&cfg, "message.timestamp.type", "createtime", inv,
                 "Invalid value createtime for configuration message.timestamp.type: String must "
                 "be one of: CreateTime, LogAppendTime");
  expect_invalid(&cfg, "cleanup.policy", "delete,foo", inv,
                 "Invalid value foo for configuration cleanup.policy: String must be one of: "
                 "compact, delete");
  expect_invalid(&cfg, "cleanup.policy", "delete,", inv,
                 "Configuration 'cleanup.policy' values must not be empty.");
  expect_invalid(&cfg, "compression.gzip.level", "0", inv,
                 "Invalid value 0 for configuration compression.gzip.level: Value must be "
                 "between 1 and 9 or equal to -1");
  expect_invalid(&cfg, "compression.zstd.level", "23", inv,
                 "Invalid value 23 for configuration compression.zstd.level: Value must be no "
                 "more than 22");
  expect_invalid(&cfg, "min.cleanable.dirty.ratio", "1.5", inv,
                 "Invalid value 1.5 for configuration min.cleanable.dirty.ratio: Value must be no "
                 "more than 1");
  expect_invalid(&cfg, "min.cleanable.dirty.ratio", "x", inv,
                 "Invalid value x for configuration min.cleanable.dirty.ratio: Not a number of "
                 "type DOUBLE");
  expect_invalid(&cfg, "leader.replication.throttled.replicas", "0:1,x", inv,
                 "Invalid value [0:1, x] for configuration leader.replication.throttled.replicas: "
                 "leader.replication.throttled.replicas must be the literal '*' or a list of "
                 "replicas in the following format: [partitionId]:[brokerId],[partitionId]:"
                 "[brokerId],...");
  expect_invalid(&cfg, "min.compaction.lag.ms", "10", ERR_NONE, NULL);
  expect_invalid(&cfg, "max.compaction.lag.ms", "1", ERR_NONE, NULL);
  expect_invalid(&cfg, "remote.storage.enable", "true", inv,
                 "Tiered Storage functionality is disabled in the broker. Topic cannot be "
                 "configured with remote log storage.");
  /* accepted values, Java-style parsing */
  expect_invalid(&cfg, "cleanup.policy", "", ERR_NONE, NULL); /* 4.3: no cleanup at all */
  expect_invalid(&cfg, "cleanup.policy", " compact , delete ", ERR_NONE, NULL);
  expect_invalid(&cfg, "retention.ms", " +1000 ", ERR_NONE, NULL);
  expect_invalid(&cfg, "preallocate", "TRUE", ERR_NONE, NULL);
  expect_invalid(&cfg, "min.cleanable.dirty.ratio", "1e-1", ERR_NONE, NULL);
  expect_invalid(&cfg, "leader.replication.throttled.replicas", "*", ERR_NONE, NULL);
  expect_invalid(&cfg, "follower.replication.throttled.replicas", "0:1, 1:2", ERR_NONE, NULL);

  struct config_override two[] = {{"min.compaction.lag.ms", "100"},
                                  {"max.compaction.lag.ms", "50"}};
  char msg[512];
  ck_assert_int_eq(topic_config_validate(&cfg, two, 2, msg, sizeof(msg)), inv);
  ck_assert_str_eq(msg, "conflict topic config setting min.compaction.lag.ms (100) > "
                        "max.compaction.lag.ms (50)");
  struct config_override nulls[] = {
      {"segment.bytes", NULL}, {"bad.key", "1"}, {"segment.ms", NULL}};
  ck_assert_int_eq(topic_config_validate(&cfg, nulls, 3, msg, sizeof(msg)), inv);
  ck_assert_str_eq(msg, "Null value not supported for topic configs: segment.bytes,segment.ms");
  /* values are checked in Kafka's key order, not the request's */
  struct config_override order[] = {{"retention.ms", "x"}, {"segment.bytes", "1"}};
  ck_assert_int_eq(topic_config_validate(&cfg, order, 2, msg, sizeof(msg)), inv);
  ck_assert_str_eq(
      msg, "Invalid value 1 for configuration segment.bytes: Value must be at least 1048576");
  config_free(&cfg);
}
END_TEST

static const struct config_entry *find_entry(const struct config_entry *e, int n,
                                             const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(e[i].name, name) == 0) return &e[i];
  return NULL;
}

static void expect_synonym(const struct config_entry *e, int i, const char *name, const char *value,
                           int8_t source) {
  ck_assert_int_gt(e->synonym_count, i);
  ck_assert_str_eq(e->synonyms[i].name, name);
  if (value == NULL)
    ck_assert_ptr_null(e->synonyms[i].value);
  else
    ck_assert_str_eq(e->synonyms[i].value, value);
  ck_assert_int_eq(e->synonyms[i].source, source);
}

START_TEST(topic_synonyms_follow_kafkas_order_and_sources) {
  struct config cfg;
  struct wire_arena arena;
  struct config_entry *e;
  int n;
  struct config_describe_args all = {NULL, 0, true, true};
  wire_arena_init(&arena, 1 << 20);

  /* log.retention.hours in the file: the effective value follows, but Kafka drops the broker
   * synonyms of retention.ms that come before one named log.retention.ms: none are left. */
  load(&cfg, 1, "log.retention.hours=24");
  ck_assert_int_eq(topic_config_describe(&cfg, NULL, 0, &all, &arena, &e, &n), 0);
  ck_assert_int_eq(n, KAFKA_TOPIC_KEYS);
  for (int i = 1; i < n; i++) ck_assert_int_lt(strcmp(e[i - 1].name, e[i].name), 0);
  const struct config_entry *r = find_entry(e, n, "retention.ms");
  ck_assert_str_eq(r->value, "86400000");
  ck_assert_int_eq(r->source, CONFIG_SOURCE_DEFAULT);
  ck_assert_int_eq(r->synonym_count, 0);
  ck_assert(!r->read_only && !r->sensitive);
  ck_assert_int_eq(r->type, 5);
  ck_assert_ptr_nonnull(r->doc);
  const struct config_entry *sb = find_entry(e, n, "segment.bytes");
  ck_assert_int_eq(sb->source, CONFIG_SOURCE_DEFAULT);
  ck_assert_int_eq(sb->synonym_count, 1);
  expect_synonym(sb, 0, "log.segment.bytes", "1073741824", CONFIG_SOURCE_DEFAULT);
  const struct config_entry *rs = find_entry(e, n, "remote.storage.enable");
  ck_assert_int_eq(rs->synonym_count, 0); /* no server default property */
  ck_assert_int_eq(rs->source, CONFIG_SOURCE_DEFAULT);

  /* a topic override comes first */
  struct config_override ov[] = {{"retention.ms", " 1000"}, {"segment.bytes", "2097152"}};
  ck_assert_int_eq(topic_config_describe(&cfg, ov, 2, &all, &arena, &e, &n), 0);
  r = find_entry(e, n, "retention.ms");
  ck_assert_str_eq(r->value, "1000");
  ck_assert_int_eq(r->source, CONFIG_SOURCE_TOPIC);
  ck_assert_int_eq(r->synonym_count, 1);
  expect_synonym(r, 0, "retention.ms", "1000", CONFIG_SOURCE_TOPIC);
  sb = find_entry(e, n, "segment.bytes");
  ck_assert_int_eq(sb->synonym_count, 2);
  expect_synonym(sb, 0, "segment.bytes", "2097152", CONFIG_SOURCE_TOPIC);
  expect_synonym(sb, 1, "log.segment.bytes", "1073741824", CONFIG_SOURCE_DEFAULT);
  config_free(&cfg);

  /* log.retention.ms set too: every synonym from it on, static ones before defaults */
  load(&cfg, 2, "log.retention.hours=24", "log.retention.ms=5000");
  ck_assert_int_eq(topic_config_describe(&cfg, ov, 1, &all, &arena, &e, &n), 0);
  r = find_entry(e, n, "retention.ms");
  ck_assert_int_eq(r->synonym_count, 4);
  expect_synonym(r, 0, "retention.ms", "1000", CONFIG_SOURCE_TOPIC);
  expect_synonym(r, 1, "log.retention.ms", "5000", CONFIG_SOURCE_STATIC_BROKER);
  expect_synonym(r, 2, "log.retention.hours", "24", CONFIG_SOURCE_STATIC_BROKER);
  expect_synonym(r, 3, "log.retention.hours", "168", CONFIG_SOURCE_DEFAULT);
  ck_assert_int_eq(topic_config_describe(&cfg, NULL, 0, &all, &arena, &e, &n), 0);
  r = find_entry(e, n, "retention.ms");
  ck_assert_str_eq(r->value, "5000");
  ck_assert_int_eq(r->source, CONFIG_SOURCE_STATIC_BROKER);

  /* filtered, without synonyms or documentation */
  const char *keys[] = {"retention.ms", "not.a.key", "cleanup.policy"};
  struct config_describe_args some = {keys, 3, false, false};
  ck_assert_int_eq(topic_config_describe(&cfg, NULL, 0, &some, &arena, &e, &n), 0);
  ck_assert_int_eq(n, 2);
  ck_assert_str_eq(e[0].name, "cleanup.policy");
  ck_assert_str_eq(e[1].name, "retention.ms");
  ck_assert_int_eq(e[1].synonym_count, 0);
  ck_assert_ptr_null(e[1].doc);
  ck_assert_int_eq(e[1].source, CONFIG_SOURCE_STATIC_BROKER);
  config_free(&cfg);
  wire_arena_free(&arena);
}
END_TEST

START_TEST(broker_entries_have_sources_synonyms_and_read_only_flags) {
  struct config cfg;
  struct wire_arena arena;
  struct config_entry *e;
  int n;
  struct config_describe_args all = {NULL, 0, true, true};
  wire_arena_init(&arena, 4 << 20);
  load(&cfg, 5, "log.retention.hours=24", "ssl.keystore.password=secret",
       "listener.name.ssl.ssl.key.password=hidden", "foo.bar=1", "num.partitions= 3 ");
  ck_assert_int_eq(config_broker_describe(&cfg, false, &all, &arena, &e, &n), 0);
  ck_assert_int_eq(n, config_key_count() + 2);

  const struct config_entry *h = find_entry(e, n, "log.retention.hours");
  ck_assert_str_eq(h->value, "24");
  ck_assert_int_eq(h->source, CONFIG_SOURCE_STATIC_BROKER);
  ck_assert(h->read_only); /* Kafka: only log.retention.ms is dynamic */
  ck_assert_int_eq(h->synonym_count, 2);
  expect_synonym(h, 0, "log.retention.hours", "24", CONFIG_SOURCE_STATIC_BROKER);
  expect_synonym(h, 1, "log.retention.hours", "168", CONFIG_SOURCE_DEFAULT);
  const struct config_entry *ms = find_entry(e, n, "log.retention.ms");
  ck_assert_ptr_null(ms->value);
  ck_assert_int_eq(ms->source, CONFIG_SOURCE_DEFAULT);
  ck_assert_int_eq(ms->synonym_count, 0);
  ck_assert(!ms->read_only);
  const struct config_entry *np = find_entry(e, n, "num.partitions");
  ck_assert_str_eq(np->value, "3");
  ck_assert_int_eq(np->type, 3);
  ck_assert(np->read_only);
  const struct config_entry *seg = find_entry(e, n, "log.segment.bytes");
  ck_assert_int_eq(seg->source, CONFIG_SOURCE_DEFAULT);
  ck_assert(!seg->read_only);
  ck_assert_ptr_nonnull(seg->doc);

  /* sensitive values are never shown, in entries or synonyms */
  const struct config_entry *pw = find_entry(e, n, "ssl.keystore.password");
  ck_assert(pw->sensitive);
  ck_assert_ptr_null(pw->value);
  ck_assert_int_eq(pw->type, 9);
  ck_assert_int_eq(pw->source, CONFIG_SOURCE_STATIC_BROKER);
  expect_synonym(pw, 0, "ssl.keystore.password", NULL, CONFIG_SOURCE_STATIC_BROKER);
  const struct config_entry *lp = find_entry(e, n, "listener.name.ssl.ssl.key.password");
  ck_assert(lp->sensitive);
  ck_assert_ptr_null(lp->value);
  ck_assert_int_eq(lp->type, 9);
  const struct config_entry *unk = find_entry(e, n, "foo.bar");
  ck_assert(unk->sensitive && unk->read_only); /* Kafka: unknown type = maybe sensitive */
  ck_assert_ptr_null(unk->value);
  ck_assert_int_eq(unk->type, 0);
  ck_assert_int_eq(unk->source, CONFIG_SOURCE_STATIC_BROKER);
  ck_assert_int_eq(find_entry(e, n, "ssl.keystore.location")->source, CONFIG_SOURCE_DEFAULT);

  bool cluster_default;
  char msg[256];
  ck_assert_int_eq(config_broker_resource_check(&cfg, "1", &cluster_default, msg, sizeof(msg)),
                   ERR_NONE);
  ck_assert(!cluster_default);
  ck_assert_int_eq(config_broker_resource_check(&cfg, "", &cluster_default, msg, sizeof(msg)),
                   ERR_NONE);
  ck_assert(cluster_default);
  ck_assert_int_eq(config_broker_describe(&cfg, true, &all, &arena, &e, &n), 0);
  ck_assert_int_eq(n, 0);
  ck_assert_int_eq(config_broker_resource_check(&cfg, "2", &cluster_default, msg, sizeof(msg)),
                   ERR_INVALID_REQUEST);
  ck_assert_str_eq(msg, "Unexpected broker id, expected 1 or empty string, but received 2");
  ck_assert_int_eq(config_broker_resource_check(&cfg, "x", &cluster_default, msg, sizeof(msg)),
                   ERR_INVALID_REQUEST);
  ck_assert_str_eq(msg, "Broker id must be an integer, but it is: x");

  ck_assert_int_eq(config_broker_logger_describe(&cfg, "1", &all, &arena, &e, &n, msg, sizeof(msg)),
                   ERR_NONE);
  ck_assert_int_eq(n, 1);
  ck_assert_str_eq(e[0].name, "root");
  ck_assert_str_eq(e[0].value, "INFO");
  ck_assert_int_eq(e[0].source, CONFIG_SOURCE_DYNAMIC_BROKER_LOGGER);
  ck_assert_int_eq(config_broker_logger_describe(&cfg, "", &all, &arena, &e, &n, msg, sizeof(msg)),
                   ERR_INVALID_REQUEST);
  ck_assert_str_eq(msg, "Broker id must not be empty");
  config_free(&cfg);
  wire_arena_free(&arena);
}
END_TEST

static int16_t alter(const struct config *cfg, const struct config_override *cur, int cur_n,
                     const struct config_alter_op *ops, int n, struct wire_arena *arena,
                     struct config_override **out, int *out_n, char *msg) {
  return topic_config_alter_incremental(cfg, cur, cur_n, ops, n, arena, out, out_n, msg, 512);
}

START_TEST(incremental_alter_applies_set_delete_append_subtract) {
  struct config cfg;
  struct wire_arena arena;
  struct config_override *out;
  int n;
  char msg[512];
  wire_arena_init(&arena, 1 << 20);
  load(&cfg, 1, "log.cleanup.policy=compact"); /* APPEND starts from Kafka's default anyway */

  struct config_alter_op append[] = {{"cleanup.policy", CONFIG_OP_APPEND, "compact"}};
  ck_assert_int_eq(alter(&cfg, NULL, 0, append, 1, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_int_eq(n, 1);
  ck_assert_str_eq(out[0].name, "cleanup.policy");
  ck_assert_str_eq(out[0].value, "delete,compact");
  struct config_override cur[] = {{"cleanup.policy", "delete,compact"}, {"retention.ms", "1000"}};
  struct config_alter_op again[] = {{"cleanup.policy", CONFIG_OP_APPEND, "compact,delete"}};
  ck_assert_int_eq(alter(&cfg, cur, 2, again, 1, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_str_eq(out[0].value, "delete,compact");
  struct config_alter_op sub[] = {{"cleanup.policy", CONFIG_OP_SUBTRACT, "delete"},
                                  {"retention.ms", CONFIG_OP_DELETE, NULL},
                                  {"segment.ms", CONFIG_OP_SET, "60000"}};
  ck_assert_int_eq(alter(&cfg, cur, 2, sub, 3, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_int_eq(n, 2);
  ck_assert_str_eq(out[0].name, "cleanup.policy");
  ck_assert_str_eq(out[0].value, "compact");
  ck_assert_str_eq(out[1].name, "segment.ms");
  ck_assert_str_eq(out[1].value, "60000");
  struct config_alter_op sub_all[] = {{"cleanup.policy", CONFIG_OP_SUBTRACT, "compact,delete"}};
  ck_assert_int_eq(alter(&cfg, cur, 2, sub_all, 1, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_str_eq(out[0].value, ""); /* an empty policy list is valid in 4.3 */
  struct config_alter_op del_missing[] = {{"segment.ms", CONFIG_OP_DELETE, NULL}};
  ck_assert_int_eq(alter(&cfg, cur, 2, del_missing, 1, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_int_eq(n, 2);
  struct config_alter_op throttle[] = {
      {"leader.replication.throttled.replicas", CONFIG_OP_APPEND, "0:1,1:1"}};
  ck_assert_int_eq(alter(&cfg, NULL, 0, throttle, 1, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_str_eq(out[0].value, "0:1,1:1");

  /* errors */
  struct config_alter_op not_list[] = {{"retention.ms", CONFIG_OP_APPEND, "1"}};
  ck_assert_int_eq(alter(&cfg, cur, 2, not_list, 1, &arena, &out, &n, msg), ERR_INVALID_CONFIG);
  ck_assert_str_eq(msg, "Can't APPEND to key retention.ms because its type is not LIST.");
  struct config_alter_op not_list2[] = {{"no.such.key", CONFIG_OP_SUBTRACT, "1"}};
  ck_assert_int_eq(alter(&cfg, cur, 2, not_list2, 1, &arena, &out, &n, msg), ERR_INVALID_CONFIG);
  ck_assert_str_eq(msg, "Can't SUBTRACT to key no.such.key because its type is not LIST.");
  struct config_alter_op dup[] = {{"retention.ms", CONFIG_OP_SET, "1"},
                                  {"retention.ms", CONFIG_OP_DELETE, NULL}};
  ck_assert_int_eq(alter(&cfg, cur, 2, dup, 2, &arena, &out, &n, msg), ERR_INVALID_REQUEST);
  ck_assert_str_eq(msg, "Error due to duplicate config keys");
  struct config_alter_op nul[] = {{"retention.ms", CONFIG_OP_SET, NULL},
                                  {"segment.ms", CONFIG_OP_DELETE, NULL},
                                  {"cleanup.policy", CONFIG_OP_APPEND, NULL}};
  ck_assert_int_eq(alter(&cfg, cur, 2, nul, 3, &arena, &out, &n, msg), ERR_INVALID_REQUEST);
  ck_assert_str_eq(msg, "Null value not supported for : retention.ms, cleanup.policy");
  struct config_alter_op badop[] = {{"retention.ms", 7, "1"}};
  ck_assert_int_eq(alter(&cfg, cur, 2, badop, 1, &arena, &out, &n, msg), ERR_INVALID_REQUEST);
  ck_assert_str_eq(msg, "Unknown operations type 7");
  struct config_alter_op unknown[] = {{"no.such.key", CONFIG_OP_SET, "1"}};
  ck_assert_int_eq(alter(&cfg, cur, 2, unknown, 1, &arena, &out, &n, msg), ERR_INVALID_CONFIG);
  ck_assert_str_eq(msg, "Unknown topic config name: no.such.key");
  struct config_alter_op badval[] = {{"cleanup.policy", CONFIG_OP_APPEND, "foo"}};
  ck_assert_int_eq(alter(&cfg, cur, 2, badval, 1, &arena, &out, &n, msg), ERR_INVALID_CONFIG);
  ck_assert_str_eq(msg, "Invalid value foo for configuration cleanup.policy: String must be one "
                        "of: compact, delete");

  /* legacy AlterConfigs replaces everything; the same request checks */
  struct config_override legacy_dup[] = {{"retention.ms", "1"}, {"retention.ms", "2"}};
  ck_assert_int_eq(topic_config_alter_legacy(&cfg, legacy_dup, 2, msg, sizeof(msg)),
                   ERR_INVALID_REQUEST);
  ck_assert_str_eq(msg, "Error due to duplicate config keys");
  struct config_override legacy_null[] = {{"retention.ms", NULL}};
  ck_assert_int_eq(topic_config_alter_legacy(&cfg, legacy_null, 1, msg, sizeof(msg)),
                   ERR_INVALID_REQUEST);
  ck_assert_str_eq(msg, "Null value not supported for : retention.ms");
  ck_assert_int_eq(topic_config_alter_legacy(&cfg, cur, 2, msg, sizeof(msg)), ERR_NONE);
  config_free(&cfg);
  wire_arena_free(&arena);
}
END_TEST

START_TEST(partition_settings_come_from_broker_defaults_and_overrides) {
  struct config cfg;
  struct topic_settings s;
  load(&cfg, 0);
  topic_config_settings(&cfg, NULL, 0, &s);
  ck_assert_uint_eq(s.plog.segment_bytes, 1073741824);
  ck_assert_int_eq(s.plog.segment_ms, 604800000);
  ck_assert_uint_eq(s.plog.index_size_max, 10485760);
  ck_assert_uint_eq(s.plog.index_interval_bytes, 4096);
  ck_assert_int_eq(s.plog.flush_messages, 1);
  ck_assert_int_eq(s.plog.flush_ms, PLOG_NEVER);
  ck_assert_int_eq(s.plog.retention_ms, 604800000);
  ck_assert_int_eq(s.plog.retention_bytes, -1);
  ck_assert_uint_eq(s.plog.max_message_bytes, 1048588);
  ck_assert_int_eq(s.compression, TOPIC_COMPRESSION_PRODUCER);
  ck_assert(!s.log_append_time);
  ck_assert_int_eq(s.timestamp_before_max_ms, INT64_MAX);
  ck_assert_int_eq(s.timestamp_after_max_ms, 3600000);
  ck_assert(s.cleanup_delete && !s.cleanup_compact);
  ck_assert_int_eq(s.min_insync_replicas, 1);
  ck_assert_int_eq(s.compression_gzip_level, -1);
  ck_assert(s.min_cleanable_dirty_ratio == 0.5);
  config_free(&cfg);

  load(&cfg, 6, "log.retention.minutes=10", "log.roll.hours=1", "log.segment.bytes=2097152",
       "log.flush.interval.ms=500", "message.max.bytes=2000",
       "log.message.timestamp.type=LogAppendTime");
  struct config_override ov[] = {{"retention.bytes", "-5"},    {"segment.bytes", "1048576"},
                                 {"compression.type", "zstd"}, {"cleanup.policy", "compact,delete"},
                                 {"min.insync.replicas", "2"}, {"flush.messages", "10"},
                                 {"max.message.bytes", "4096"}};
  topic_config_settings(&cfg, NULL, 0, &s);
  ck_assert_int_eq(s.plog.retention_ms, 600000);
  ck_assert_int_eq(s.plog.segment_ms, 3600000);
  ck_assert_uint_eq(s.plog.segment_bytes, 2097152);
  ck_assert_int_eq(s.plog.flush_ms, 500);
  ck_assert_uint_eq(s.plog.max_message_bytes, 2000);
  ck_assert(s.log_append_time);
  topic_config_settings(&cfg, ov, 7, &s);
  ck_assert_int_eq(s.plog.retention_bytes, -1);
  ck_assert_uint_eq(s.plog.segment_bytes, 1048576);
  ck_assert_int_eq(s.compression, TOPIC_COMPRESSION_ZSTD);
  ck_assert(s.cleanup_delete && s.cleanup_compact);
  ck_assert_int_eq(s.min_insync_replicas, 2);
  ck_assert_int_eq(s.plog.flush_messages, 10);
  ck_assert_uint_eq(s.plog.max_message_bytes, 4096);
  ck_assert_int_eq(s.plog.retention_ms, 600000);
  struct config_override none[] = {{"cleanup.policy", ""}};
  topic_config_settings(&cfg, none, 1, &s);
  ck_assert(!s.cleanup_delete && !s.cleanup_compact);
  struct config_override forever[] = {{"retention.ms", "-1"}};
  topic_config_settings(&cfg, forever, 1, &s);
  ck_assert_int_eq(s.plog.retention_ms, -1);
  config_free(&cfg);
}
END_TEST

START_TEST(doubles_print_as_java_does) {
  static const struct {
    double v;
    const char *s;
  } cases[] = {{0.5, "0.5"},
               {2, "2.0"},
               {0.1, "0.1"},
               {1e-4, "1.0E-4"},
               {0.001, "0.001"},
               {1e7, "1.0E7"},
               {1234567.5, "1234567.5"},
               {0, "0.0"},
               {1.7976931348623157E308, "1.7976931348623157E308"},
               {-0.25, "-0.25"}};
  char buf[64];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    config_format_double(cases[i].v, buf, sizeof(buf));
    ck_assert_str_eq(buf, cases[i].s);
  }
}
END_TEST

/* Builds cfg from base plus dynamic layers (KIP-226). */
static void layer(struct config *cfg, const struct config *base, const struct config_override *dd,
                  int dd_n, const struct config_override *db, int db_n) {
  char err[512];
  ck_assert_msg(config_load_dynamic(cfg, base, dd, dd_n, db, db_n, err, sizeof(err)) == 0, "%s",
                err);
}

START_TEST(dynamic_broker_configs_show_kafkas_sources_and_synonym_order) {
  struct config base, cfg;
  struct wire_arena arena;
  struct config_entry *e;
  int n;
  struct config_describe_args all = {NULL, 0, true, true};
  wire_arena_init(&arena, 4 << 20);
  load(&base, 2, "log.retention.hours=24", "log.retention.ms=5000");
  struct config_override dd[] = {
      {"log.retention.ms", "7000"}, {"log.cleaner.threads", "2"}, {"ssl.key.password", "x"}};
  struct config_override db[] = {{"log.retention.ms", "9000"}, {"custom.thing", "v"}};
  layer(&cfg, &base, dd, 3, db, 2);

  /* this broker: per-broker dynamic, cluster dynamic default, static, default */
  ck_assert_int_eq(config_broker_describe(&cfg, false, &all, &arena, &e, &n), 0);
  const struct config_entry *ms = find_entry(e, n, "log.retention.ms");
  ck_assert_str_eq(ms->value, "9000");
  ck_assert_int_eq(ms->source, CONFIG_SOURCE_DYNAMIC_BROKER);
  ck_assert(!ms->read_only);
  ck_assert_int_eq(ms->synonym_count, 5);
  expect_synonym(ms, 0, "log.retention.ms", "9000", CONFIG_SOURCE_DYNAMIC_BROKER);
  expect_synonym(ms, 1, "log.retention.ms", "7000", CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
  expect_synonym(ms, 2, "log.retention.ms", "5000", CONFIG_SOURCE_STATIC_BROKER);
  expect_synonym(ms, 3, "log.retention.hours", "24", CONFIG_SOURCE_STATIC_BROKER);
  expect_synonym(ms, 4, "log.retention.hours", "168", CONFIG_SOURCE_DEFAULT);
  const struct config_entry *h = find_entry(e, n, "log.retention.hours");
  ck_assert_int_eq(h->source, CONFIG_SOURCE_STATIC_BROKER);
  ck_assert_int_eq(h->synonym_count, 2);
  const struct config_entry *ct = find_entry(e, n, "log.cleaner.threads");
  ck_assert_str_eq(ct->value, "2");
  ck_assert_int_eq(ct->source, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
  expect_synonym(ct, 1, "log.cleaner.threads", "1", CONFIG_SOURCE_DEFAULT);
  const struct config_entry *cu = find_entry(e, n, "custom.thing"); /* stored, unknown */
  ck_assert_ptr_nonnull(cu);
  ck_assert(cu->sensitive && cu->read_only);
  ck_assert_ptr_null(cu->value);
  ck_assert_int_eq(cu->source, CONFIG_SOURCE_DYNAMIC_BROKER);
  /* a per-broker key among the defaults is not applied */
  ck_assert_int_eq(find_entry(e, n, "ssl.key.password")->source, CONFIG_SOURCE_DEFAULT);

  /* the cluster default resource: its own values only, DYNAMIC_DEFAULT synonyms only */
  ck_assert_int_eq(config_broker_describe(&cfg, true, &all, &arena, &e, &n), 0);
  ck_assert_int_eq(n, 2);
  ck_assert_str_eq(e[0].name, "log.cleaner.threads");
  ck_assert_str_eq(e[1].name, "log.retention.ms");
  ck_assert_str_eq(e[1].value, "7000");
  ck_assert_int_eq(e[1].source, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
  ck_assert_int_eq(e[1].synonym_count, 1);
  expect_synonym(&e[1], 0, "log.retention.ms", "7000", CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);

  /* a topic without overrides: the effective value and the broker's synonyms, dynamic first */
  ck_assert_int_eq(topic_config_describe(&cfg, NULL, 0, &all, &arena, &e, &n), 0);
  const struct config_entry *r = find_entry(e, n, "retention.ms");
  ck_assert_str_eq(r->value, "9000");
  ck_assert_int_eq(r->source, CONFIG_SOURCE_DYNAMIC_BROKER);
  ck_assert_int_eq(r->synonym_count, 5);
  expect_synonym(r, 1, "log.retention.ms", "7000", CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
  struct topic_settings ts;
  topic_config_settings(&cfg, NULL, 0, &ts);
  ck_assert_int_eq(ts.plog.retention_ms, 9000);
  /* a topic override still wins */
  struct config_override ov[] = {{"retention.ms", "1234"}};
  topic_config_settings(&cfg, ov, 1, &ts);
  ck_assert_int_eq(ts.plog.retention_ms, 1234);
  config_free(&cfg);

  /* without this broker's value the cluster default shows */
  layer(&cfg, &base, dd, 2, NULL, 0);
  ck_assert_int_eq(topic_config_describe(&cfg, NULL, 0, &all, &arena, &e, &n), 0);
  r = find_entry(e, n, "retention.ms");
  ck_assert_str_eq(r->value, "7000");
  ck_assert_int_eq(r->source, CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER);
  config_free(&cfg);
  config_free(&base);
  wire_arena_free(&arena);
}
END_TEST

static int16_t balter(const struct config *cfg, const char *resource,
                      const struct config_override *cur, int cur_n,
                      const struct config_alter_op *ops, int n, struct wire_arena *arena,
                      struct config_override **out, int *out_n, char *msg) {
  return config_broker_alter_incremental(cfg, resource, cur, cur_n, ops, n, arena, out, out_n, msg,
                                         512);
}

static const char *out_value(const struct config_override *out, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(out[i].name, name) == 0) return out[i].value;
  return NULL;
}

START_TEST(broker_alters_are_validated_as_kafka) {
  struct config cfg;
  struct wire_arena arena;
  struct config_override *out;
  int n;
  char msg[512];
  const int16_t req = ERR_INVALID_REQUEST;
  wire_arena_init(&arena, 1 << 20);
  load(&cfg, 0);

  struct config_alter_op ro[] = {{"log.retention.ms", CONFIG_OP_SET, "1000"},
                                 {"log.dirs", CONFIG_OP_SET, "/x"},
                                 {"num.partitions", CONFIG_OP_SET, "2"}};
  ck_assert_int_eq(balter(&cfg, "1", NULL, 0, ro, 3, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "Cannot update these configs dynamically: [log.dirs, num.partitions]");
  struct config_alter_op lis[] = {{"listeners", CONFIG_OP_SET, "PLAINTEXT://:9093"}};
  ck_assert_int_eq(balter(&cfg, "", NULL, 0, lis, 1, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "Cannot update these configs at default cluster level, broker id must be "
                        "specified: [listeners]");
  ck_assert_int_eq(balter(&cfg, "1", NULL, 0, lis, 1, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "Quire cannot apply these configs at run time, set them in the properties "
                        "file: [listeners]");
  struct config_alter_op ssl[] = {{"ssl.keystore.location", CONFIG_OP_SET, "/k.pem"}};
  ck_assert_int_eq(balter(&cfg, "1", NULL, 0, ssl, 1, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "These security configs can be dynamically updated only per-listener "
                        "using the listener prefix: [ssl.keystore.location]");

  /* values: ConfigDef's messages, INVALID_REQUEST (KAFKA-13609) */
  struct {
    const char *name, *value, *msg;
  } bad[] = {
      {"log.retention.ms", "abc",
       "Invalid value abc for configuration log.retention.ms: Not a number of type LONG"},
      {"log.cleaner.threads", "-1",
       "Invalid value -1 for configuration log.cleaner.threads: Value must be at least 0"},
      {"log.segment.bytes", "1000",
       "Invalid value 1000 for configuration log.segment.bytes: Value must be at least 1048576"},
      {"message.max.bytes", "99999999999",
       "Invalid value 99999999999 for configuration message.max.bytes: Not a number of type INT"},
      {"log.preallocate", "maybe",
       "Invalid value maybe for configuration log.preallocate: "
       "Expected value to be either true or false"},
      {"log.message.timestamp.type", "Now",
       "Invalid value Now for configuration log.message.timestamp.type: String must be one of: "
       "CreateTime, LogAppendTime"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct config_alter_op op[] = {{bad[i].name, CONFIG_OP_SET, bad[i].value}};
    ck_assert_int_eq(balter(&cfg, "1", NULL, 0, op, 1, &arena, &out, &n, msg), req);
    ck_assert_str_eq(msg, bad[i].msg);
  }

  /* the resource name, as ConfigAdminManager says it for alters */
  struct config_alter_op ok[] = {{"log.retention.ms", CONFIG_OP_SET, "1000"}};
  ck_assert_int_eq(balter(&cfg, "x", NULL, 0, ok, 1, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "Node id must be an integer, but it is: x");
  ck_assert_int_eq(balter(&cfg, "2", NULL, 0, ok, 1, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "Unexpected broker id, expected 1, but received 2");
  struct config_alter_op dup[] = {{"log.retention.ms", CONFIG_OP_SET, "1"},
                                  {"log.retention.ms", CONFIG_OP_DELETE, NULL}};
  ck_assert_int_eq(balter(&cfg, "x", NULL, 0, dup, 2, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "Error due to duplicate config keys");
  struct config_alter_op nul[] = {{"log.retention.ms", CONFIG_OP_SET, NULL}};
  ck_assert_int_eq(balter(&cfg, "1", NULL, 0, nul, 1, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "Null value not supported for : log.retention.ms");
  struct config_alter_op unk_op[] = {{"log.retention.ms", 7, "1"}};
  ck_assert_int_eq(balter(&cfg, "1", NULL, 0, unk_op, 1, &arena, &out, &n, msg), req);
  ck_assert_str_eq(msg, "Unknown operations type 7");

  /* APPEND / SUBTRACT only on lists; an unknown key fails Kafka's lookup */
  struct config_alter_op app_long[] = {{"log.retention.ms", CONFIG_OP_APPEND, "1"}};
  ck_assert_int_eq(balter(&cfg, "1", NULL, 0, app_long, 1, &arena, &out, &n, msg),
                   ERR_INVALID_CONFIG);
  ck_assert_str_eq(msg, "Config value append is not allowed for config key: log.retention.ms");
  struct config_alter_op app_unknown[] = {{"no.such.key", CONFIG_OP_SUBTRACT, "1"}};
  ck_assert_int_eq(balter(&cfg, "1", NULL, 0, app_unknown, 1, &arena, &out, &n, msg),
                   ERR_UNKNOWN_SERVER_ERROR);
  struct config_alter_op app[] = {{"log.cleanup.policy", CONFIG_OP_APPEND, "compact,delete"}};
  ck_assert_int_eq(balter(&cfg, "", NULL, 0, app, 1, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_str_eq(out_value(out, n, "log.cleanup.policy"), "delete,compact");
  struct config_override policy[] = {{"log.cleanup.policy", "delete,compact"}};
  struct config_alter_op sub[] = {{"log.cleanup.policy", CONFIG_OP_SUBTRACT, "delete"}};
  ck_assert_int_eq(balter(&cfg, "", policy, 1, sub, 1, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_str_eq(out_value(out, n, "log.cleanup.policy"), "compact");

  /* SET keeps the other stored values, DELETE reverts one, unknown keys are kept */
  struct config_override stored[] = {{"log.retention.ms", "5000"}, {"log.cleaner.threads", "2"}};
  struct config_alter_op set_del[] = {{"log.cleaner.threads", CONFIG_OP_DELETE, NULL},
                                      {"my.custom", CONFIG_OP_SET, "x"},
                                      {"message.max.bytes", CONFIG_OP_SET, "2000"}};
  ck_assert_int_eq(balter(&cfg, "1", stored, 2, set_del, 3, &arena, &out, &n, msg), ERR_NONE);
  ck_assert_int_eq(n, 3);
  ck_assert_str_eq(out_value(out, n, "log.retention.ms"), "5000");
  ck_assert_ptr_null(out_value(out, n, "log.cleaner.threads"));
  ck_assert_str_eq(out_value(out, n, "my.custom"), "x");

  /* legacy AlterConfigs: the entries are the whole new set */
  struct config_override legacy[] = {{"log.retention.ms", "1000"}, {"log.dirs", "/x"}};
  ck_assert_int_eq(config_broker_alter_legacy(&cfg, "1", legacy, 2, msg, sizeof(msg)), req);
  ck_assert_str_eq(msg, "Cannot update these configs dynamically: [log.dirs]");
  ck_assert_int_eq(config_broker_alter_legacy(&cfg, "", legacy, 1, msg, sizeof(msg)), ERR_NONE);
  struct config_override legacy_null[] = {{"log.retention.ms", NULL}};
  ck_assert_int_eq(config_broker_alter_legacy(&cfg, "1", legacy_null, 1, msg, sizeof(msg)), req);
  ck_assert_str_eq(msg, "Null value not supported for : log.retention.ms");

  /* BROKER_LOGGER (KIP-412): root only, log4j's levels, never deleted */
  struct config_alter_op lg[] = {{"root", CONFIG_OP_SET, "DEBUG"}};
  ck_assert_int_eq(config_broker_logger_alter_check(&cfg, "1", lg, 1, msg, sizeof(msg)), ERR_NONE);
  ck_assert_int_eq(config_broker_logger_alter_check(&cfg, "", lg, 1, msg, sizeof(msg)), req);
  ck_assert_str_eq(msg, "Node id must be an integer, but it is: ");
  struct config_alter_op lg_bad[] = {{"root", CONFIG_OP_SET, "LOUD"}};
  ck_assert_int_eq(config_broker_logger_alter_check(&cfg, "1", lg_bad, 1, msg, sizeof(msg)),
                   ERR_INVALID_CONFIG);
  ck_assert_str_eq(msg, "Cannot set the log level of root to LOUD as it is not a supported log "
                        "level. Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN");
  struct config_alter_op lg_del[] = {{"root", CONFIG_OP_DELETE, NULL}};
  ck_assert_int_eq(config_broker_logger_alter_check(&cfg, "1", lg_del, 1, msg, sizeof(msg)), req);
  ck_assert_str_eq(msg, "Removing the log level of the root logger is not allowed");
  struct config_alter_op lg_other[] = {{"kafka.server", CONFIG_OP_SET, "DEBUG"}};
  ck_assert_int_eq(config_broker_logger_alter_check(&cfg, "1", lg_other, 1, msg, sizeof(msg)),
                   ERR_INVALID_CONFIG);
  ck_assert_str_eq(msg, "Logger kafka.server does not exist!");
  config_free(&cfg);
  wire_arena_free(&arena);
}
END_TEST

int main(void) {
  Suite *s = suite_create("topic_config");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, every_topic_key_defaults_to_kafkas_value);
  tcase_add_test(tc, types_are_kafkas_config_types);
  tcase_add_test(tc, bad_topic_configs_get_kafkas_messages);
  tcase_add_test(tc, topic_synonyms_follow_kafkas_order_and_sources);
  tcase_add_test(tc, broker_entries_have_sources_synonyms_and_read_only_flags);
  tcase_add_test(tc, incremental_alter_applies_set_delete_append_subtract);
  tcase_add_test(tc, partition_settings_come_from_broker_defaults_and_overrides);
  tcase_add_test(tc, doubles_print_as_java_does);
  tcase_add_test(tc, dynamic_broker_configs_show_kafkas_sources_and_synonym_order);
  tcase_add_test(tc, broker_alters_are_validated_as_kafka);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
