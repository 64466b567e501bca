/* Drives librdkafka through every API it can send, against the capture broker, to record golden
 * request frames. Not part of the build: capture.sh compiles it with `cc ... -lrdkafka`.
 *
 *   rdkafka_driver BOOTSTRAP
 *
 * Values the golden expectations check: client.id golden-rdkafka, topic golden-topic, group
 * golden-group, transactional id golden-txn, created topic golden-created (3 partitions,
 * retention.ms=3600000), ACL principal User:golden. Every step is bounded in time; failures are
 * reported and the driver goes on (the broker is a recorder, not a real Kafka). */
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *bootstrap;

static void die(const char *what, const char *err) {
  fprintf(stderr, "rdkafka_driver: %s: %s\n", what, err);
  exit(1);
}

static rd_kafka_conf_t *conf_new(const char *first, ...) {
  char err[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  const char *pairs[][2] = {{"bootstrap.servers", bootstrap},
                            {"client.id", "golden-rdkafka"},
                            {"api.version.request", "true"},
                            {"topic.metadata.refresh.interval.ms", "60000"}};
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
    if (rd_kafka_conf_set(conf, pairs[i][0], pairs[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK)
      die(pairs[i][0], err);
  va_list ap;
  va_start(ap, first);
  for (const char *k = first; k != NULL; k = va_arg(ap, const char *)) {
    const char *v = va_arg(ap, const char *);
    if (rd_kafka_conf_set(conf, k, v, err, sizeof(err)) != RD_KAFKA_CONF_OK) die(k, err);
  }
  va_end(ap);
  return conf;
}

static rd_kafka_t *client_new(rd_kafka_type_t type, rd_kafka_conf_t *conf) {
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == NULL) die("rd_kafka_new", err);
  return rk;
}

static void check(const char *what, rd_kafka_error_t *e) {
  if (e != NULL) {
    fprintf(stderr, "rdkafka_driver: %s: %s\n", what, rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
  } else {
    fprintf(stderr, "rdkafka_driver: %s: ok\n", what);
  }
}

static void produce_one(rd_kafka_t *rk, const char *value) {
  rd_kafka_resp_err_t err =
      rd_kafka_producev(rk, RD_KAFKA_V_TOPIC("golden-topic"), RD_KAFKA_V_PARTITION(0),
                        RD_KAFKA_V_KEY("golden-key", 10), RD_KAFKA_V_VALUE((void *)value, strlen(value)),
                        RD_KAFKA_V_HEADER("golden-header", "h", 1), RD_KAFKA_V_END);
  if (err) fprintf(stderr, "rdkafka_driver: produce: %s\n", rd_kafka_err2str(err));
}

static void step_idempotent_producer(void) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER,
                              conf_new("enable.idempotence", "true", "linger.ms", "0",
                                       "compression.codec", "none", NULL));
  produce_one(rk, "golden-idempotent");
  fprintf(stderr, "rdkafka_driver: idempotent flush: %s\n", rd_kafka_err2str(rd_kafka_flush(rk, 10000)));
  rd_kafka_destroy(rk);
}

static void step_transactions(void) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER,
                              conf_new("transactional.id", "golden-txn", "linger.ms", "0",
                                       "transaction.timeout.ms", "60000", NULL));
  check("init_transactions", rd_kafka_init_transactions(rk, 10000));
  check("begin_transaction", rd_kafka_begin_transaction(rk));
  produce_one(rk, "golden-transactional");
  rd_kafka_topic_partition_list_t *offsets = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offsets, "golden-topic", 0)->offset = 1;
  rd_kafka_consumer_group_metadata_t *cgmd = rd_kafka_consumer_group_metadata_new("golden-group");
  check("send_offsets_to_transaction",
        rd_kafka_send_offsets_to_transaction(rk, offsets, cgmd, 10000));
  rd_kafka_consumer_group_metadata_destroy(cgmd);
  rd_kafka_topic_partition_list_destroy(offsets);
  check("commit_transaction", rd_kafka_commit_transaction(rk, 10000));
  rd_kafka_destroy(rk);
}

/* With an instance id the member is static (JoinGroup carries it) and close sends no LeaveGroup;
 * without one, close leaves the group. */
static void step_consumer_group(const char *instance_id) {
  char err[512];
  rd_kafka_conf_t *conf = conf_new("group.id", "golden-group", "auto.offset.reset", "earliest",
                                       "enable.auto.commit", "false", "heartbeat.interval.ms", "100",
                                       "session.timeout.ms", "6000", "client.rack", "golden-rack",
                                       "isolation.level", "read_committed", NULL);
  if (instance_id != NULL &&
      rd_kafka_conf_set(conf, "group.instance.id", instance_id, err, sizeof(err)) != RD_KAFKA_CONF_OK)
    die("group.instance.id", err);
  rd_kafka_t *rk = client_new(RD_KAFKA_CONSUMER, conf);
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "golden-topic", RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  int got = 0;
  for (int i = 0; i < 100 && got < 1; i++) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (m == NULL) continue;
    if (!m->err) {
      got++;
      rd_kafka_commit_message(rk, m, 0);
    }
    rd_kafka_message_destroy(m);
  }
  fprintf(stderr, "rdkafka_driver: consumed %d\n", got);
  /* A few heartbeats. */
  for (int i = 0; i < 5; i++) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (m) rd_kafka_message_destroy(m);
  }
  rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, "golden-topic", 0);
  rd_kafka_committed(rk, parts, 5000);
  rd_kafka_topic_partition_list_destroy(parts);
  int64_t lo, hi;
  rd_kafka_query_watermark_offsets(rk, "golden-topic", 0, &lo, &hi, 5000);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
}

/* Waits for one admin result event. */
static void admin_wait(rd_kafka_queue_t *q, const char *what) {
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
  if (ev == NULL) {
    fprintf(stderr, "rdkafka_driver: %s: timed out\n", what);
    return;
  }
  fprintf(stderr, "rdkafka_driver: %s: %s\n", what,
          rd_kafka_event_error(ev) ? rd_kafka_event_error_string(ev) : "ok");
  rd_kafka_event_destroy(ev);
}

static void step_admin(void) {
  char err[512];
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER, conf_new(NULL));
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);

  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new("golden-created", 3, 1, err, sizeof(err));
  rd_kafka_NewTopic_set_config(nt, "retention.ms", "3600000");
  rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
  admin_wait(q, "CreateTopics");
  rd_kafka_NewTopic_destroy(nt);

  rd_kafka_NewPartitions_t *np = rd_kafka_NewPartitions_new("golden-created", 5, err, sizeof(err));
  rd_kafka_CreatePartitions(rk, &np, 1, NULL, q);
  admin_wait(q, "CreatePartitions");
  rd_kafka_NewPartitions_destroy(np);

  rd_kafka_ConfigResource_t *cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, "golden-topic");
  rd_kafka_ConfigResource_set_config(cr, "cleanup.policy", "compact");
  rd_kafka_AlterConfigs(rk, &cr, 1, NULL, q);
  admin_wait(q, "AlterConfigs");
  rd_kafka_ConfigResource_destroy(cr);

  cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, "golden-topic");
  rd_kafka_ConfigResource_set_config(cr, "cleanup.policy", NULL);
  rd_kafka_DescribeConfigs(rk, &cr, 1, NULL, q);
  admin_wait(q, "DescribeConfigs");
  rd_kafka_ConfigResource_destroy(cr);

  rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tp, "golden-topic", 0)->offset = 1;
  rd_kafka_DeleteRecords_t *dr = rd_kafka_DeleteRecords_new(tp);
  rd_kafka_DeleteRecords(rk, &dr, 1, NULL, q);
  admin_wait(q, "DeleteRecords");
  rd_kafka_DeleteRecords_destroy(dr);
  rd_kafka_topic_partition_list_destroy(tp);

  rd_kafka_AclBinding_t *acl = rd_kafka_AclBinding_new(
      RD_KAFKA_RESOURCE_TOPIC, "golden-topic", RD_KAFKA_RESOURCE_PATTERN_LITERAL, "User:golden",
      "*", RD_KAFKA_ACL_OPERATION_READ, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, err, sizeof(err));
  rd_kafka_CreateAcls(rk, &acl, 1, NULL, q);
  admin_wait(q, "CreateAcls");
  rd_kafka_AclBinding_destroy(acl);

  rd_kafka_AclBindingFilter_t *f = rd_kafka_AclBindingFilter_new(
      RD_KAFKA_RESOURCE_TOPIC, "golden-topic", RD_KAFKA_RESOURCE_PATTERN_MATCH, "User:golden",
      NULL, RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof(err));
  rd_kafka_DescribeAcls(rk, f, NULL, q);
  admin_wait(q, "DescribeAcls");
  rd_kafka_DeleteAcls(rk, &f, 1, NULL, q);
  admin_wait(q, "DeleteAcls");
  rd_kafka_AclBinding_destroy(f);

  rd_kafka_ListConsumerGroups(rk, NULL, q);
  admin_wait(q, "ListConsumerGroups");

  const char *groups[] = {"golden-group"};
  rd_kafka_DescribeConsumerGroups(rk, groups, 1, NULL, q);
  admin_wait(q, "DescribeConsumerGroups");

  tp = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(tp, "golden-topic", 0)->offset = 7;
  rd_kafka_AlterConsumerGroupOffsets_t *ao = rd_kafka_AlterConsumerGroupOffsets_new("golden-group", tp);
  rd_kafka_AlterConsumerGroupOffsets(rk, &ao, 1, NULL, q);
  admin_wait(q, "AlterConsumerGroupOffsets");
  rd_kafka_AlterConsumerGroupOffsets_destroy(ao);

  rd_kafka_ListConsumerGroupOffsets_t *lo = rd_kafka_ListConsumerGroupOffsets_new("golden-group", tp);
  rd_kafka_ListConsumerGroupOffsets(rk, &lo, 1, NULL, q);
  admin_wait(q, "ListConsumerGroupOffsets");
  rd_kafka_ListConsumerGroupOffsets_destroy(lo);

  rd_kafka_DeleteConsumerGroupOffsets_t *dgo = rd_kafka_DeleteConsumerGroupOffsets_new("golden-group", tp);
  rd_kafka_DeleteConsumerGroupOffsets(rk, &dgo, 1, NULL, q);
  admin_wait(q, "DeleteConsumerGroupOffsets");
  rd_kafka_DeleteConsumerGroupOffsets_destroy(dgo);
  rd_kafka_topic_partition_list_destroy(tp);

  rd_kafka_DeleteGroup_t *dg = rd_kafka_DeleteGroup_new("golden-group");
  rd_kafka_DeleteGroups(rk, &dg, 1, NULL, q);
  admin_wait(q, "DeleteGroups");
  rd_kafka_DeleteGroup_destroy(dg);

  rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new("golden-created");
  rd_kafka_DeleteTopics(rk, &dt, 1, NULL, q);
  admin_wait(q, "DeleteTopics");
  rd_kafka_DeleteTopic_destroy(dt);

  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
}

static void step_sasl(void) {
  rd_kafka_t *rk = client_new(RD_KAFKA_PRODUCER,
                              conf_new("security.protocol", "SASL_PLAINTEXT", "sasl.mechanisms",
                                       "PLAIN", "sasl.username", "golden", "sasl.password",
                                       "golden-secret", NULL));
  const struct rd_kafka_metadata *md;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
  fprintf(stderr, "rdkafka_driver: SASL metadata: %s\n", rd_kafka_err2str(err));
  if (!err) rd_kafka_metadata_destroy(md);
  rd_kafka_destroy(rk);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: rdkafka_driver BOOTSTRAP\n");
    return 2;
  }
  bootstrap = argv[1];
  step_idempotent_producer();
  step_transactions();
  step_consumer_group("golden-instance");
  step_consumer_group(NULL);
  step_admin();
  step_sasl();
  return 0;
}
