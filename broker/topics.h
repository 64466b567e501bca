/* Creating topics as the controller does it (Kafka's ReplicationControlManager), shared by
 * CreateTopics and Metadata's auto-creation: validation against the committed image and the
 * records of a new topic. */
#ifndef QUIRE_BROKER_TOPICS_H
#define QUIRE_BROKER_TOPICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "batch_builder.h"
#include "broker.h"
#include "topic_config.h"
#include "wire.h"

/* Replicas given by the client for partition i: replicas[i] (replica_counts[i] brokers). */
struct topic_spec {
  struct wire_str name;
  int32_t partitions;         /* -1: num.partitions */
  int16_t replication_factor; /* -1: default.replication.factor */
  int32_t assignment_count;   /* 0: the controller places the replicas */
  const int32_t *const *replicas;
  const int32_t *replica_counts;
  const int32_t *assignment_partitions; /* PartitionIndex of each assignment */
  const struct config_override *configs;
  int config_count;
};

/* What was (or would be) created. */
struct topic_created {
  struct wire_uuid id;
  int32_t partitions;
  int16_t replication_factor;
};

/* Kafka's topic name rules (Topic.validate): ERR_NONE or ERR_INVALID_TOPIC_EXCEPTION, msg set. */
int16_t topic_name_check(struct wire_str name, char *msg, size_t msg_size);

/* Validates spec against the image and, unless validate_only, adds the topic's records (topic,
 * configs, partitions) to records. Returns a Kafka error code with msg set on an error; -1 for
 * out of memory in the records. pending: names created earlier in the same batch (collision
 * checks), pending_count of them. */
int topic_create(struct broker *b, const struct topic_spec *spec, bool validate_only,
                 const struct wire_str *pending, size_t pending_count,
                 struct batch_builder *records, int64_t now_ms, struct topic_created *out,
                 char *msg, size_t msg_size);

/* Whether a topic is one of Kafka's internal topics (__consumer_offsets, __transaction_state,
 * __share_group_state). */
bool topic_is_internal(struct wire_str name);

#endif
