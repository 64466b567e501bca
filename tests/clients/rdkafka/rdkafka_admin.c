/* Drives librdkafka's C admin API (Debian's librdkafka 2.0.2) against a broker and prints, as one
 * JSON object on stdout, what librdkafka decoded, for tests/integration/test_rdkafka_admin.py.
 *
 *   rdkafka_admin BOOTSTRAP COMMAND...
 *
 * Each COMMAND is one argument of space-separated words, run in order:
 *   create [validate] NAME PARTITIONS RF [KEY=VALUE...]     CreateTopics
 *   create-assign [validate] NAME REPLICAS[|REPLICAS...]    CreateTopics with an explicit
 *                                                          assignment; REPLICAS is 1,2,3
 *   partitions [validate] NAME COUNT                       CreatePartitions
 *   delete NAME...                                         DeleteTopics
 *   describe topic|broker NAME                             DescribeConfigs
 *   alter [validate] topic|broker NAME [KEY=VALUE...]      AlterConfigs
 *   list                                                   Metadata (all topics)
 *
 * Output: {"librdkafka": VERSION, "results": [ one object per command ]}. Per-topic and
 * per-resource errors are reported as {"error": CODE, "error_name": NAME, "message": TEXT} with
 * CODE librdkafka's rd_kafka_resp_err_t (Kafka's error code; 0 on success). A request-level
 * failure (timeout, transport) makes the command's object carry "request_error" instead.
 *
 * librdkafka 2.0.2 has no IncrementalAlterConfigs, DescribeCluster or DescribeTopics (they came
 * in 2.2 and 2.3), so those are not here. */
#include <librdkafka/rdkafka.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMEOUT_MS 15000
#define WORDS_MAX 64

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("rdkafka_admin: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

/* ---- JSON output ------------------------------------------------------------------------- */

static int need_comma;

static void json_sep(void) {
  if (need_comma) putchar(',');
  need_comma = 1;
}

static void json_raw(const char *s) {
  fputs(s, stdout);
  need_comma = 0;
}

static void json_str_value(const char *s) {
  if (!s) {
    fputs("null", stdout);
    return;
  }
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  putchar('"');
}

static void json_key(const char *key) {
  json_sep();
  json_str_value(key);
  putchar(':');
  need_comma = 0;
}

static void json_kstr(const char *key, const char *value) {
  json_key(key);
  json_str_value(value);
  need_comma = 1;
}

static void json_kint(const char *key, long long value) {
  json_key(key);
  printf("%lld", value);
  need_comma = 1;
}

static void json_kbool(const char *key, int value) {
  json_key(key);
  fputs(value ? "true" : "false", stdout);
  need_comma = 1;
}

static void json_open(const char *key, const char *bracket) {
  if (key)
    json_key(key);
  else
    json_sep();
  json_raw(bracket);
}

static void json_close(const char *bracket) {
  fputs(bracket, stdout);
  need_comma = 1;
}

static void json_error_fields(rd_kafka_resp_err_t err, const char *message) {
  json_kint("error", err);
  json_kstr("error_name", err ? rd_kafka_err2name(err) : NULL);
  json_kstr("message", err ? message : NULL);
}

/* ---- running one admin call -------------------------------------------------------------- */

struct admin {
  rd_kafka_t *rk;
  rd_kafka_queue_t *queue;
};

static rd_kafka_AdminOptions_t *options_new(struct admin *a, rd_kafka_admin_op_t op,
                                            int validate_only) {
  char errstr[512];
  rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(a->rk, op);
  if (rd_kafka_AdminOptions_set_request_timeout(opts, TIMEOUT_MS, errstr, sizeof(errstr)))
    die("request timeout: %s", errstr);
  /* Only the topic operations wait for the controller (operation_timeout). */
  if ((op == RD_KAFKA_ADMIN_OP_CREATETOPICS || op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
       op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS) &&
      rd_kafka_AdminOptions_set_operation_timeout(opts, TIMEOUT_MS, errstr, sizeof(errstr)))
    die("operation timeout: %s", errstr);
  if (validate_only && rd_kafka_AdminOptions_set_validate_only(opts, 1, errstr, sizeof(errstr)))
    die("validate_only: %s", errstr);
  return opts;
}

/* Waits for the result event of the call just made; NULL (after printing request_error) when the
 * request as a whole failed. */
static rd_kafka_event_t *wait_result(struct admin *a) {
  rd_kafka_event_t *ev = rd_kafka_queue_poll(a->queue, TIMEOUT_MS + 5000);
  if (!ev) {
    json_kstr("request_error", "no result event");
    return NULL;
  }
  if (rd_kafka_event_error(ev)) {
    json_kint("request_error", rd_kafka_event_error(ev));
    json_kstr("request_error_name", rd_kafka_err2name(rd_kafka_event_error(ev)));
    json_kstr("request_error_message", rd_kafka_event_error_string(ev));
    rd_kafka_event_destroy(ev);
    return NULL;
  }
  return ev;
}

static void print_topic_results(const rd_kafka_topic_result_t **res, size_t count) {
  json_open("topics", "{");
  for (size_t i = 0; i < count; i++) {
    json_open(rd_kafka_topic_result_name(res[i]), "{");
    json_error_fields(rd_kafka_topic_result_error(res[i]),
                      rd_kafka_topic_result_error_string(res[i]));
    json_close("}");
  }
  json_close("}");
}

/* ---- the commands ------------------------------------------------------------------------ */

static int take_validate(char **words, int *at, int count) {
  if (*at < count && strcmp(words[*at], "validate") == 0) {
    (*at)++;
    return 1;
  }
  return 0;
}

static char *word(char **words, int at, int count, const char *what) {
  if (at >= count) die("missing %s", what);
  return words[at];
}

static void split_kv(char *kv, const char **key, const char **value) {
  char *eq = strchr(kv, '=');
  if (!eq) die("expected KEY=VALUE, got %s", kv);
  *eq = '\0';
  *key = kv;
  *value = eq + 1;
}

static void cmd_create(struct admin *a, char **words, int count, int assign) {
  char errstr[512];
  int at = 1;
  int validate = take_validate(words, &at, count);
  const char *name = word(words, at++, count, "topic name");
  rd_kafka_NewTopic_t *nt;
  if (assign) {
    char *spec = word(words, at++, count, "assignment");
    int partitions = 1;
    for (const char *p = spec; *p; p++) partitions += *p == '|';
    nt = rd_kafka_NewTopic_new(name, partitions, -1, errstr, sizeof(errstr));
    if (!nt) die("NewTopic %s: %s", name, errstr);
    char *save = NULL;
    int32_t partition = 0;
    for (char *part = strtok_r(spec, "|", &save); part; part = strtok_r(NULL, "|", &save)) {
      int32_t brokers[16];
      size_t n = 0;
      char *save2 = NULL;
      for (char *b = strtok_r(part, ",", &save2); b && n < 16; b = strtok_r(NULL, ",", &save2))
        brokers[n++] = (int32_t)atoi(b);
      if (rd_kafka_NewTopic_set_replica_assignment(nt, partition++, brokers, n, errstr,
                                                   sizeof(errstr)))
        die("replica assignment: %s", errstr);
    }
  } else {
    int partitions = atoi(word(words, at++, count, "partitions"));
    int rf = atoi(word(words, at++, count, "replication factor"));
    nt = rd_kafka_NewTopic_new(name, partitions, rf, errstr, sizeof(errstr));
    if (!nt) die("NewTopic %s: %s", name, errstr);
  }
  for (; at < count; at++) {
    const char *key, *value;
    split_kv(words[at], &key, &value);
    if (rd_kafka_NewTopic_set_config(nt, key, value)) die("config %s", key);
  }
  rd_kafka_AdminOptions_t *opts = options_new(a, RD_KAFKA_ADMIN_OP_CREATETOPICS, validate);
  rd_kafka_CreateTopics(a->rk, &nt, 1, opts, a->queue);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_event_t *ev = wait_result(a);
  if (!ev) return;
  size_t n;
  const rd_kafka_topic_result_t **res =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
  print_topic_results(res, n);
  rd_kafka_event_destroy(ev);
}

static void cmd_partitions(struct admin *a, char **words, int count) {
  char errstr[512];
  int at = 1;
  int validate = take_validate(words, &at, count);
  const char *name = word(words, at++, count, "topic name");
  int total = atoi(word(words, at++, count, "partition count"));
  rd_kafka_NewPartitions_t *np =
      rd_kafka_NewPartitions_new(name, (size_t)total, errstr, sizeof(errstr));
  if (!np) die("NewPartitions %s: %s", name, errstr);
  rd_kafka_AdminOptions_t *opts = options_new(a, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, validate);
  rd_kafka_CreatePartitions(a->rk, &np, 1, opts, a->queue);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewPartitions_destroy(np);
  rd_kafka_event_t *ev = wait_result(a);
  if (!ev) return;
  size_t n;
  const rd_kafka_topic_result_t **res =
      rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev), &n);
  print_topic_results(res, n);
  rd_kafka_event_destroy(ev);
}

static void cmd_delete(struct admin *a, char **words, int count) {
  rd_kafka_DeleteTopic_t *dts[WORDS_MAX];
  int n_topics = 0;
  for (int at = 1; at < count; at++) dts[n_topics++] = rd_kafka_DeleteTopic_new(words[at]);
  rd_kafka_AdminOptions_t *opts = options_new(a, RD_KAFKA_ADMIN_OP_DELETETOPICS, 0);
  rd_kafka_DeleteTopics(a->rk, dts, (size_t)n_topics, opts, a->queue);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_DeleteTopic_destroy_array(dts, (size_t)n_topics);
  rd_kafka_event_t *ev = wait_result(a);
  if (!ev) return;
  size_t n;
  const rd_kafka_topic_result_t **res =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
  print_topic_results(res, n);
  rd_kafka_event_destroy(ev);
}

static rd_kafka_ResourceType_t resource_type(const char *s) {
  if (strcmp(s, "topic") == 0) return RD_KAFKA_RESOURCE_TOPIC;
  if (strcmp(s, "broker") == 0) return RD_KAFKA_RESOURCE_BROKER;
  die("unknown resource type %s", s);
  return RD_KAFKA_RESOURCE_UNKNOWN;
}

static void print_entry(const rd_kafka_ConfigEntry_t *e) {
  json_open(rd_kafka_ConfigEntry_name(e), "{");
  json_kstr("value", rd_kafka_ConfigEntry_value(e));
  json_kstr("source", rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(e)));
  json_kbool("read_only", rd_kafka_ConfigEntry_is_read_only(e));
  json_kbool("is_default", rd_kafka_ConfigEntry_is_default(e));
  json_kbool("sensitive", rd_kafka_ConfigEntry_is_sensitive(e));
  size_t n;
  const rd_kafka_ConfigEntry_t **syn = rd_kafka_ConfigEntry_synonyms(e, &n);
  json_open("synonyms", "[");
  for (size_t i = 0; i < n; i++) {
    json_open(NULL, "[");
    json_sep();
    json_str_value(rd_kafka_ConfigEntry_name(syn[i]));
    json_sep();
    json_str_value(rd_kafka_ConfigEntry_value(syn[i]));
    json_sep();
    json_str_value(rd_kafka_ConfigSource_name(rd_kafka_ConfigEntry_source(syn[i])));
    json_close("]");
  }
  json_close("]");
  json_close("}");
}

static void print_resources(const rd_kafka_ConfigResource_t **res, size_t count, int with_configs) {
  json_open("resources", "[");
  for (size_t i = 0; i < count; i++) {
    json_open(NULL, "{");
    json_kstr("type", rd_kafka_ResourceType_name(rd_kafka_ConfigResource_type(res[i])));
    json_kstr("name", rd_kafka_ConfigResource_name(res[i]));
    json_error_fields(rd_kafka_ConfigResource_error(res[i]),
                      rd_kafka_ConfigResource_error_string(res[i]));
    if (with_configs) {
      size_t n;
      const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(res[i], &n);
      json_open("configs", "{");
      for (size_t j = 0; j < n; j++) print_entry(entries[j]);
      json_close("}");
    }
    json_close("}");
  }
  json_close("]");
}

static void cmd_describe(struct admin *a, char **words, int count) {
  rd_kafka_ConfigResource_t *cr =
      rd_kafka_ConfigResource_new(resource_type(word(words, 1, count, "resource type")),
                                  word(words, 2, count, "resource name"));
  rd_kafka_AdminOptions_t *opts = options_new(a, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, 0);
  rd_kafka_DescribeConfigs(a->rk, &cr, 1, opts, a->queue);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_ConfigResource_destroy(cr);
  rd_kafka_event_t *ev = wait_result(a);
  if (!ev) return;
  size_t n;
  const rd_kafka_ConfigResource_t **res =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev), &n);
  print_resources(res, n, 1);
  rd_kafka_event_destroy(ev);
}

static void cmd_alter(struct admin *a, char **words, int count) {
  int at = 1;
  int validate = take_validate(words, &at, count);
  rd_kafka_ResourceType_t type = resource_type(word(words, at++, count, "resource type"));
  rd_kafka_ConfigResource_t *cr =
      rd_kafka_ConfigResource_new(type, word(words, at++, count, "resource name"));
  for (; at < count; at++) {
    const char *key, *value;
    split_kv(words[at], &key, &value);
    if (rd_kafka_ConfigResource_set_config(cr, key, value)) die("config %s", key);
  }
  rd_kafka_AdminOptions_t *opts = options_new(a, RD_KAFKA_ADMIN_OP_ALTERCONFIGS, validate);
  rd_kafka_AlterConfigs(a->rk, &cr, 1, opts, a->queue);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_ConfigResource_destroy(cr);
  rd_kafka_event_t *ev = wait_result(a);
  if (!ev) return;
  size_t n;
  const rd_kafka_ConfigResource_t **res =
      rd_kafka_AlterConfigs_result_resources(rd_kafka_event_AlterConfigs_result(ev), &n);
  print_resources(res, n, 0);
  rd_kafka_event_destroy(ev);
}

static void cmd_list(struct admin *a) {
  const struct rd_kafka_metadata *md;
  rd_kafka_resp_err_t err = rd_kafka_metadata(a->rk, 1, NULL, &md, TIMEOUT_MS);
  if (err) {
    json_kint("request_error", err);
    json_kstr("request_error_name", rd_kafka_err2name(err));
    return;
  }
  json_open("topics", "{");
  for (int i = 0; i < md->topic_cnt; i++) {
    const rd_kafka_metadata_topic_t *t = &md->topics[i];
    json_open(t->topic, "{");
    json_kint("error", t->err);
    json_open("partitions", "[");
    for (int j = 0; j < t->partition_cnt; j++) {
      const rd_kafka_metadata_partition_t *p = &t->partitions[j];
      json_open(NULL, "{");
      json_kint("id", p->id);
      json_kint("error", p->err);
      json_kint("leader", p->leader);
      json_open("replicas", "[");
      for (int k = 0; k < p->replica_cnt; k++) {
        json_sep();
        printf("%d", p->replicas[k]);
      }
      json_close("]");
      json_open("isrs", "[");
      for (int k = 0; k < p->isr_cnt; k++) {
        json_sep();
        printf("%d", p->isrs[k]);
      }
      json_close("]");
      json_close("}");
    }
    json_close("]");
    json_close("}");
  }
  json_close("}");
  rd_kafka_metadata_destroy(md);
}

static void run(struct admin *a, char *command) {
  char *words[WORDS_MAX];
  int count = 0;
  char *save = NULL;
  for (char *w = strtok_r(command, " ", &save); w && count < WORDS_MAX;
       w = strtok_r(NULL, " ", &save))
    words[count++] = w;
  if (count == 0) die("empty command");
  json_open(NULL, "{");
  json_kstr("op", words[0]);
  if (strcmp(words[0], "create") == 0)
    cmd_create(a, words, count, 0);
  else if (strcmp(words[0], "create-assign") == 0)
    cmd_create(a, words, count, 1);
  else if (strcmp(words[0], "partitions") == 0)
    cmd_partitions(a, words, count);
  else if (strcmp(words[0], "delete") == 0)
    cmd_delete(a, words, count);
  else if (strcmp(words[0], "describe") == 0)
    cmd_describe(a, words, count);
  else if (strcmp(words[0], "alter") == 0)
    cmd_alter(a, words, count);
  else if (strcmp(words[0], "list") == 0)
    cmd_list(a);
  else
    die("unknown command %s", words[0]);
  json_close("}");
  fflush(stdout);
}

int main(int argc, char **argv) {
  char errstr[512];
  if (argc < 2) die("usage: rdkafka_admin BOOTSTRAP COMMAND...");
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], errstr, sizeof(errstr)) ||
      rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)))
    die("%s", errstr);
  struct admin a;
  a.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!a.rk) die("rd_kafka_new: %s", errstr);
  a.queue = rd_kafka_queue_new(a.rk);

  json_open(NULL, "{");
  json_kstr("librdkafka", rd_kafka_version_str());
  json_open("results", "[");
  for (int i = 2; i < argc; i++) run(&a, argv[i]);
  json_close("]");
  json_close("}");
  putchar('\n');

  rd_kafka_queue_destroy(a.queue);
  rd_kafka_destroy(a.rk);
  return 0;
}
