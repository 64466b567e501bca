/* Configuration: defaults (Kafka's, with DESIGN.md's Quire table), properties parsing,
 * precedence of overrides, and validation messages that name the key and the value. */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static char tmp_dir[64];
static char props_path[128];

static void tmp_setup(void) {
  snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/quire-config.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
  snprintf(props_path, sizeof(props_path), "%s/server.properties", tmp_dir);
}

static void tmp_teardown(void) {
  unlink(props_path);
  rmdir(tmp_dir);
}

static void props_write(const char *text) {
  FILE *f = fopen(props_path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

/* Loads with overrides only; returns config_load's status, message in err. */
static int load_overrides(struct config *cfg, char *err, int err_size, int count, ...) {
  char buf[16][256];
  char *ov[16];
  va_list ap;
  va_start(ap, count);
  for (int i = 0; i < count; i++) {
    snprintf(buf[i], sizeof(buf[i]), "%s", va_arg(ap, const char *));
    ov[i] = buf[i];
  }
  va_end(ap);
  return config_load(cfg, NULL, ov, count, err, err_size);
}

static void expect_failure(const char *override, const char *needle1, const char *needle2) {
  struct config cfg;
  char err[512];
  int rc = load_overrides(&cfg, err, sizeof(err), 1, override);
  ck_assert_msg(rc != 0, "%s was accepted", override);
  ck_assert_msg(strstr(err, needle1) != NULL, "'%s' not in '%s'", needle1, err);
  if (needle2 != NULL)
    ck_assert_msg(strstr(err, needle2) != NULL, "'%s' not in '%s'", needle2, err);
}

START_TEST(defaults_make_a_single_node_on_localhost) {
  struct config cfg;
  char err[256];
  ck_assert_int_eq(config_load(&cfg, NULL, NULL, 0, err, sizeof(err)), 0);
  ck_assert_int_eq(cfg.node_id, 1);
  ck_assert(cfg.role_broker && cfg.role_controller);
  ck_assert_int_eq(cfg.listener_count, 1);
  ck_assert_str_eq(cfg.listeners[0].name, "PLAINTEXT");
  ck_assert_str_eq(cfg.listeners[0].host, "127.0.0.1");
  ck_assert_int_eq(cfg.listeners[0].port, 9092);
  ck_assert_int_eq(cfg.listeners[0].protocol, SECPROTO_PLAINTEXT);
  ck_assert_int_eq(cfg.advertised_count, 1);
  ck_assert_str_eq(cfg.advertised[0].host, "127.0.0.1");
  ck_assert_int_eq(cfg.log_dir_count, 1);
  ck_assert_str_eq(cfg.log_dirs[0], "./quire-data");
  ck_assert_str_eq(cfg.cluster_id, "");
  ck_assert_str_eq(cfg.log_level, "INFO");
  ck_assert_str_eq(cfg.inter_broker_listener, "PLAINTEXT");
  ck_assert_int_eq(cfg.socket_request_max_bytes, 104857600);
  ck_assert_int_eq(cfg.message_max_bytes, 1048588);
  ck_assert_int_eq(cfg.num_partitions, 1);
  ck_assert_int_eq(cfg.default_replication_factor, 1);
  ck_assert(cfg.auto_create_topics_enable);
  ck_assert_int_eq(cfg.queued_max_requests, 500);
  ck_assert_int_eq(cfg.sasl_server_max_receive_size, 524288);
  ck_assert_int_eq(cfg.connections_max_idle_ms, 600000);
  ck_assert_int_eq(cfg.log_segment_bytes, 1073741824);
  ck_assert_int_eq(cfg.log_retention_ms, 168LL * 3600000);
  ck_assert_int_eq(cfg.log_retention_bytes, -1);
  ck_assert_int_eq(cfg.log_roll_ms, 168LL * 3600000);
  ck_assert_int_eq(cfg.log_flush_interval_messages, 1);
  ck_assert_int_eq(cfg.entry_count, 0);
  config_free(&cfg);
}
END_TEST

START_TEST(defaults_follow_the_design_table) {
  struct config cfg;
  char err[256];
  static const char *const expected[][2] = {
      {"listeners", "PLAINTEXT://127.0.0.1:9092"},
      {"log.dir", "./quire-data"},
      {"node.id", "1"},
      {"process.roles", "broker,controller"},
      {"offsets.topic.replication.factor", "1"},
      {"transaction.state.log.replication.factor", "1"},
      {"transaction.state.log.min.isr", "1"},
      {"group.initial.rebalance.delay.ms", "0"},
      {"log.flush.interval.messages", "1"},
      {"ssl.keystore.type", "PEM"},
      {"ssl.truststore.type", "PEM"},
      /* a few of Kafka's own */
      {"socket.request.max.bytes", "104857600"},
      {"num.partitions", "1"},
      {"auto.create.topics.enable", "true"},
      {"connections.max.idle.ms", "600000"},
      {"message.max.bytes", "1048588"},
      {"log.level", "INFO"},
  };
  ck_assert_int_eq(config_load(&cfg, NULL, NULL, 0, err, sizeof(err)), 0);
  for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
    const char *v = config_get(&cfg, expected[i][0]);
    ck_assert_msg(v != NULL && strcmp(v, expected[i][1]) == 0, "%s=%s, expected %s", expected[i][0],
                  v ? v : "(null)", expected[i][1]);
  }
  ck_assert_ptr_null(config_get(&cfg, "log.retention.ms")); /* Kafka's null */
  ck_assert_ptr_null(config_get(&cfg, "no.such.key"));
  ck_assert(!config_is_set(&cfg, "node.id"));
  config_free(&cfg);
}
END_TEST

START_TEST(every_default_passes_its_own_check) {
  char err[512];
  for (int i = 0; i < config_key_count(); i++) {
    const struct config_key *k = config_key_at(i);
    ck_assert_ptr_eq(config_key_find(k->name), k); /* names are unique */
    if (k->default_value == NULL) continue;
    ck_assert_msg(config_value_check(k, k->default_value, err, sizeof(err)) == 0, "%s: %s", k->name,
                  err);
  }
}
END_TEST

START_TEST(file_is_parsed_as_java_properties) {
  struct config cfg;
  char err[256];
  props_write("# a comment\n"
              "! another comment\n"
              "\n"
              "   node.id = 3  \n"
              "num.partitions: 4\n"
              "log.dirs /a,\\\n"
              "         /b\n"
              "listeners=PLAINTEXT://:9093,CONTROLLER://[::1]:0\r\n"
              "controller.listener.names=CONTROLLER\n"
              "broker.rack=r\\u00e9\\tx\n"
              "cluster.id=MkU3OEVBNTcwNTJENDM2Qg\n"
              "num.partitions=5\n");
  ck_assert_msg(config_load(&cfg, props_path, NULL, 0, err, sizeof(err)) == 0, "%s", err);
  ck_assert_int_eq(cfg.node_id, 3);
  ck_assert_int_eq(cfg.num_partitions, 5); /* a later line wins */
  ck_assert_int_eq(cfg.log_dir_count, 2);
  ck_assert_str_eq(cfg.log_dirs[0], "/a");
  ck_assert_str_eq(cfg.log_dirs[1], "/b");
  ck_assert_str_eq(cfg.cluster_id, "MkU3OEVBNTcwNTJENDM2Qg");
  ck_assert_str_eq(config_get(&cfg, "broker.rack"), "r\xc3\xa9\tx");
  ck_assert_int_eq(cfg.listener_count, 2);
  ck_assert_str_eq(cfg.listeners[0].host, "");
  ck_assert_int_eq(cfg.listeners[0].port, 9093);
  ck_assert_str_eq(cfg.listeners[1].name, "CONTROLLER");
  ck_assert_str_eq(cfg.listeners[1].host, "::1");
  ck_assert_int_eq(cfg.listeners[1].port, 0);
  /* the default map gives controller listeners PLAINTEXT, and clients never see them */
  ck_assert_int_eq(cfg.listeners[1].protocol, SECPROTO_PLAINTEXT);
  ck_assert_int_eq(cfg.advertised_count, 1);
  ck_assert_str_eq(cfg.advertised[0].name, "PLAINTEXT");
  config_free(&cfg);
}
END_TEST

START_TEST(overrides_take_precedence_over_the_file) {
  struct config cfg;
  char err[256];
  char ov1[] = "node.id=9", ov2[] = " num.partitions = 7 ";
  char *ov[] = {ov1, ov2};
  props_write("node.id=3\nnum.partitions=2\nmessage.max.bytes=2000000\n");
  ck_assert_msg(config_load(&cfg, props_path, ov, 2, err, sizeof(err)) == 0, "%s", err);
  ck_assert_int_eq(cfg.node_id, 9);
  ck_assert_int_eq(cfg.num_partitions, 7);
  ck_assert_int_eq(cfg.message_max_bytes, 2000000);
  ck_assert_str_eq(config_get(&cfg, "node.id"), "9");
  ck_assert(config_is_set(&cfg, "message.max.bytes"));
  config_free(&cfg);
}
END_TEST

START_TEST(bad_values_are_refused_naming_key_and_value) {
  expect_failure("node.id=abc", "node.id", "abc");
  expect_failure("node.id=-1", "node.id", "-1");
  expect_failure("num.partitions=99999999999", "num.partitions", "99999999999");
  expect_failure("socket.request.max.bytes=1.5", "socket.request.max.bytes", "1.5");
  expect_failure("auto.create.topics.enable=yes", "auto.create.topics.enable", "yes");
  expect_failure("log.segment.bytes=100", "log.segment.bytes", "100");
  expect_failure("process.roles=broker,zookeeper", "process.roles", "zookeeper");
  expect_failure("log.level=LOUD", "log.level", "LOUD");
  expect_failure("compression.type=brotli", "compression.type", "brotli");
  expect_failure("cluster.id=short", "cluster.id", "short");
  expect_failure("node.id", "node.id", NULL); /* not key=value */
}
END_TEST

START_TEST(bad_listeners_are_refused) {
  expect_failure("listeners=PLAINTEXT://localhost", "listeners", "PLAINTEXT://localhost");
  expect_failure("listeners=PLAINTEXT://localhost:70000", "listeners", "70000");
  expect_failure("listeners=localhost:9092", "listeners", "localhost:9092");
  expect_failure("listeners=PLAINTEXT://::1:9092", "listeners", "::1");
  expect_failure("listeners=PLAINTEXT://:9092,PLAINTEXT://:9093", "listeners", "PLAINTEXT");
  expect_failure("listeners=INTERNAL://:9092", "INTERNAL", "listener.security.protocol.map");
  expect_failure("listeners=PLAINTEXT://:9092,SSL://:9092", "listeners", "9092");
  expect_failure("listener.security.protocol.map=A:TLS", "listener.security.protocol.map", "A:TLS");
  expect_failure("advertised.listeners=SSL://h:1", "advertised.listeners", "SSL");
  expect_failure("advertised.listeners=PLAINTEXT://0.0.0.0:9092", "advertised.listeners",
                 "0.0.0.0");
  expect_failure("listeners=", "listeners", NULL);
}
END_TEST

START_TEST(listeners_use_the_protocol_map) {
  struct config cfg;
  char err[256];
  int rc = load_overrides(&cfg, err, sizeof(err), 3,
                          "listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SSL",
                          "listeners=INTERNAL://0.0.0.0:9092,EXTERNAL://:0",
                          "advertised.listeners=EXTERNAL://kafka.example.com:9093");
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_int_eq(cfg.listeners[0].protocol, SECPROTO_SASL_SSL);
  ck_assert_int_eq(cfg.listeners[1].protocol, SECPROTO_SSL);
  ck_assert_int_eq(cfg.advertised_count, 1);
  ck_assert_str_eq(cfg.advertised[0].host, "kafka.example.com");
  ck_assert_int_eq(cfg.advertised[0].port, 9093);
  ck_assert_int_eq(cfg.advertised[0].protocol, SECPROTO_SSL);
  ck_assert_str_eq(cfg.inter_broker_listener, ""); /* no PLAINTEXT listener */
  config_free(&cfg);
}
END_TEST

START_TEST(unknown_key_is_not_fatal) {
  struct config cfg;
  char err[256];
  int rc = load_overrides(&cfg, err, sizeof(err), 2, "no.such.setting=42",
                          "listener.name.plaintext.sasl.enabled.mechanisms=PLAIN");
  ck_assert_msg(rc == 0, "%s", err);
  ck_assert_str_eq(config_get(&cfg, "no.such.setting"), "42");
  config_free(&cfg);
}
END_TEST

START_TEST(jks_keystore_is_refused_with_a_hint) {
  expect_failure("ssl.keystore.type=JKS", "ssl.keystore.type", "PEM");
  expect_failure("ssl.truststore.type=jks", "ssl.truststore.type", "PEM");
  struct config cfg;
  char err[256];
  ck_assert_int_eq(load_overrides(&cfg, err, sizeof(err), 1, "ssl.keystore.type=pem"), 0);
  config_free(&cfg);
}
END_TEST

START_TEST(log_dirs_fall_back_to_log_dir) {
  struct config cfg;
  char err[256];
  ck_assert_int_eq(load_overrides(&cfg, err, sizeof(err), 1, "log.dir=/var/q"), 0);
  ck_assert_int_eq(cfg.log_dir_count, 1);
  ck_assert_str_eq(cfg.log_dirs[0], "/var/q");
  config_free(&cfg);
  ck_assert_int_eq(load_overrides(&cfg, err, sizeof(err), 2, "log.dir=/var/q", "log.dirs=/x,/y"),
                   0);
  ck_assert_int_eq(cfg.log_dir_count, 2);
  ck_assert_str_eq(cfg.log_dirs[1], "/y");
  config_free(&cfg);
  expect_failure("log.dirs=/x,/x", "log.dirs", "/x");
}
END_TEST

START_TEST(retention_prefers_ms_then_minutes_then_hours) {
  struct config cfg;
  char err[256];
  ck_assert_int_eq(
      load_overrides(&cfg, err, sizeof(err), 2, "log.retention.hours=1", "log.retention.minutes=2"),
      0);
  ck_assert_int_eq(cfg.log_retention_ms, 120000);
  config_free(&cfg);
  ck_assert_int_eq(
      load_overrides(&cfg, err, sizeof(err), 2, "log.retention.minutes=2", "log.retention.ms=5"),
      0);
  ck_assert_int_eq(cfg.log_retention_ms, 5);
  int64_t v;
  ck_assert_int_eq(config_get_int64(&cfg, "log.retention.ms", &v), 0);
  ck_assert_int_eq(v, 5);
  ck_assert_int_eq(config_get_int64(&cfg, "log.roll.ms", &v), -1); /* null */
  config_free(&cfg);
  ck_assert_int_eq(load_overrides(&cfg, err, sizeof(err), 1, "log.retention.ms=-5"), 0);
  ck_assert_int_eq(cfg.log_retention_ms, -1);
  config_free(&cfg);
}
END_TEST

START_TEST(broker_id_is_an_alias_of_node_id) {
  struct config cfg;
  char err[256];
  ck_assert_int_eq(load_overrides(&cfg, err, sizeof(err), 1, "broker.id=4"), 0);
  ck_assert_int_eq(cfg.node_id, 4);
  config_free(&cfg);
  ck_assert_int_ne(load_overrides(&cfg, err, sizeof(err), 2, "broker.id=4", "node.id=5"), 0);
  ck_assert_ptr_nonnull(strstr(err, "node.id=5"));
}
END_TEST

START_TEST(missing_file_is_an_error) {
  struct config cfg;
  char err[256];
  ck_assert_int_ne(config_load(&cfg, "/nonexistent/quire.properties", NULL, 0, err, sizeof(err)),
                   0);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/quire.properties"));
}
END_TEST

START_TEST(every_key_has_a_doc_and_kafkas_update_mode) {
  for (int i = 0; i < config_key_count(); i++) {
    const struct config_key *k = config_key_at(i);
    ck_assert_msg(k->doc != NULL && k->doc[0] != '\0', "%s has no doc", k->name);
  }
  /* Kafka 4.3's broker docs, "Update Mode" */
  static const struct {
    const char *name;
    enum config_dynamic mode;
  } modes[] = {
      {"log.retention.ms", CONFIG_CLUSTER_WIDE},
      {"log.retention.hours", CONFIG_READ_ONLY},
      {"log.retention.minutes", CONFIG_READ_ONLY},
      {"log.roll.ms", CONFIG_CLUSTER_WIDE},
      {"log.roll.hours", CONFIG_READ_ONLY},
      {"message.max.bytes", CONFIG_CLUSTER_WIDE},
      {"num.io.threads", CONFIG_CLUSTER_WIDE},
      {"listeners", CONFIG_PER_BROKER},
      {"advertised.listeners", CONFIG_READ_ONLY},
      {"ssl.keystore.location", CONFIG_PER_BROKER},
      {"ssl.principal.mapping.rules", CONFIG_READ_ONLY},
      {"num.partitions", CONFIG_READ_ONLY},
      {"node.id", CONFIG_READ_ONLY},
      {"log.flush.scheduler.interval.ms", CONFIG_READ_ONLY},
      {"log.cleaner.threads", CONFIG_CLUSTER_WIDE},
      {"log.cleaner.enable", CONFIG_READ_ONLY},
  };
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
    ck_assert_msg(config_key_find(modes[i].name)->dynamic == modes[i].mode, "%s", modes[i].name);
}
END_TEST

START_TEST(types_and_synonyms_are_kafkas) {
  ck_assert_int_eq(config_type_id(config_key_find("log.retention.ms")->type), 5);
  ck_assert_int_eq(config_type_id(config_key_find("log.retention.hours")->type), 3);
  ck_assert_int_eq(config_type_id(config_key_find("listeners")->type), 7);
  ck_assert_int_eq(config_type_id(config_key_find("listener.security.protocol.map")->type), 2);
  ck_assert_int_eq(config_type_id(config_key_find("ssl.key.password")->type), 9);
  ck_assert_int_eq(config_type_id(config_key_find("log.cleaner.min.cleanable.ratio")->type), 6);
  ck_assert_int_eq(config_type_id(config_key_find("auto.create.topics.enable")->type), 1);
  ck_assert_int_eq(config_type_id(config_key_find("offsets.topic.replication.factor")->type), 4);

  const char *syn[CONFIG_SYNONYMS_MAX];
  ck_assert_int_eq(config_synonym_names("log.retention.hours", syn), 3);
  ck_assert_str_eq(syn[0], "log.retention.ms");
  ck_assert_str_eq(syn[1], "log.retention.minutes");
  ck_assert_str_eq(syn[2], "log.retention.hours");
  ck_assert_int_eq(config_synonym_names("log.roll.ms", syn), 2);
  ck_assert_str_eq(syn[1], "log.roll.hours");
  ck_assert_int_eq(config_synonym_names("log.flush.interval.ms", syn), 2);
  ck_assert_str_eq(syn[1], "log.flush.scheduler.interval.ms");
  ck_assert_int_eq(config_synonym_names("log.flush.scheduler.interval.ms", syn), 1);
  ck_assert_int_eq(config_synonym_names("listener.name.ssl.ssl.keystore.location", syn), 2);
  ck_assert_str_eq(syn[1], "ssl.keystore.location");
  ck_assert_int_eq(config_synonym_names("num.partitions", syn), 1);
  ck_assert_str_eq(syn[0], "num.partitions");
}
END_TEST

/* KIP-226: this broker's dynamic values win over the cluster-wide dynamic defaults, which win
 * over the file and overrides, which win over the defaults; the typed fields follow. */
START_TEST(dynamic_configs_take_kafkas_precedence) {
  struct config base, cfg;
  char err[512];
  ck_assert_int_eq(load_overrides(&base, err, sizeof(err), 3, "log.retention.hours=24",
                                  "message.max.bytes=2000", "num.partitions=3"),
                   0);
  struct config_override dyn_default[] = {
      {"log.retention.ms", "7000"}, {"message.max.bytes", "3000"}, {"log.cleaner.threads", "2"}};
  struct config_override dyn_broker[] = {{"message.max.bytes", " 4000 "}};
  ck_assert_msg(config_load_dynamic(&cfg, &base, dyn_default, 3, dyn_broker, 1, err, sizeof(err)) ==
                    0,
                "%s", err);
  ck_assert_int_eq(cfg.message_max_bytes, 4000);
  ck_assert_int_eq(cfg.log_retention_ms, 7000); /* ms beats the file's hours */
  ck_assert_int_eq(cfg.num_partitions, 3);
  ck_assert_str_eq(config_get(&cfg, "log.cleaner.threads"), "2");
  ck_assert_str_eq(config_layer_get(&cfg, CONFIG_LAYER_DYNAMIC_BROKER, "message.max.bytes"),
                   "4000");
  ck_assert_str_eq(config_layer_get(&cfg, CONFIG_LAYER_DYNAMIC_DEFAULT, "message.max.bytes"),
                   "3000");
  ck_assert_str_eq(config_layer_get(&cfg, CONFIG_LAYER_STATIC, "message.max.bytes"), "2000");
  ck_assert_ptr_null(config_layer_get(&cfg, CONFIG_LAYER_STATIC, "log.retention.ms"));
  ck_assert(config_is_set(&cfg, "log.retention.ms"));
  ck_assert_int_eq(cfg.entry_count, base.entry_count); /* the static layer is base's */
  config_free(&cfg);

  /* only the defaults layer: it wins over the file */
  ck_assert_int_eq(config_load_dynamic(&cfg, &base, dyn_default, 3, NULL, 0, err, sizeof(err)), 0);
  ck_assert_int_eq(cfg.message_max_bytes, 3000);
  config_free(&cfg);

  /* what Kafka would not apply is left out: read-only keys, per-broker keys among the defaults,
   * bad values, keys Quire cannot apply at run time; unknown keys stay */
  struct config_override bad_default[] = {{"listeners", "PLAINTEXT://127.0.0.1:9999"},
                                          {"log.cleaner.threads", "many"}};
  struct config_override bad_broker[] = {{"log.dirs", "/elsewhere"},
                                         {"listeners", "PLAINTEXT://127.0.0.1:9999"},
                                         {"custom.key", "x"},
                                         {"log.segment.bytes", NULL}};
  ck_assert_int_eq(
      config_load_dynamic(&cfg, &base, bad_default, 2, bad_broker, 4, err, sizeof(err)), 0);
  ck_assert_int_eq(cfg.dynamic_default.count, 0);
  ck_assert_int_eq(cfg.dynamic_broker.count, 1);
  ck_assert_str_eq(config_get(&cfg, "custom.key"), "x");
  ck_assert_str_eq(cfg.log_dirs[0], "./quire-data");
  ck_assert_int_eq(cfg.listeners[0].port, 9092);
  config_free(&cfg);

  ck_assert(config_key_per_broker("listeners"));
  ck_assert(config_key_per_broker("listener.name.ssl.ssl.keystore.location"));
  ck_assert(!config_key_per_broker("listener.name.plaintext.max.connections"));
  ck_assert(!config_key_per_broker("log.retention.ms"));
  ck_assert(!config_key_runtime_ok("ssl.keystore.location"));
  ck_assert(!config_key_runtime_ok("max.connections.per.ip"));
  ck_assert(config_key_runtime_ok("log.retention.ms"));
  ck_assert(config_key_runtime_ok("some.custom.key"));
  config_free(&base);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("config");
  tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
  tcase_add_test(tc, defaults_make_a_single_node_on_localhost);
  tcase_add_test(tc, defaults_follow_the_design_table);
  tcase_add_test(tc, every_default_passes_its_own_check);
  tcase_add_test(tc, file_is_parsed_as_java_properties);
  tcase_add_test(tc, overrides_take_precedence_over_the_file);
  tcase_add_test(tc, bad_values_are_refused_naming_key_and_value);
  tcase_add_test(tc, bad_listeners_are_refused);
  tcase_add_test(tc, listeners_use_the_protocol_map);
  tcase_add_test(tc, unknown_key_is_not_fatal);
  tcase_add_test(tc, jks_keystore_is_refused_with_a_hint);
  tcase_add_test(tc, log_dirs_fall_back_to_log_dir);
  tcase_add_test(tc, retention_prefers_ms_then_minutes_then_hours);
  tcase_add_test(tc, broker_id_is_an_alias_of_node_id);
  tcase_add_test(tc, missing_file_is_an_error);
  tcase_add_test(tc, every_key_has_a_doc_and_kafkas_update_mode);
  tcase_add_test(tc, types_and_synonyms_are_kafkas);
  tcase_add_test(tc, dynamic_configs_take_kafkas_precedence);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(config_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
