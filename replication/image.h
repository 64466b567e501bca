/* The metadata image: the cluster state handlers read (brokers, their endpoints, the controller,
 * topics with their partitions and config overrides, broker config overrides, feature levels, the
 * next producer id block). The metadata log (mlog.h) fills it by applying records in log order
 * (image_apply.c); brokers still come from the local configuration.
 *
 * Topics are kept in an array sorted by name (Metadata and DescribeTopicPartitions list them in
 * name order; lookups by name are a binary search) and in a hash table by topic id (Fetch and
 * Produce v13+ name topics by id). Every string and array of the image is owned by it. */
#ifndef QUIRE_REPLICATION_IMAGE_H
#define QUIRE_REPLICATION_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define IMAGE_BROKERS_MAX 64
#define IMAGE_ENDPOINTS_MAX 8

struct image_endpoint {
  char listener[64]; /* listener name, e.g. PLAINTEXT */
  char host[256];
  int32_t port;
};

struct image_broker {
  int32_t node_id;
  char rack[64]; /* "" when none */
  struct image_endpoint endpoints[IMAGE_ENDPOINTS_MAX];
  int endpoint_count;
};

struct image_partition {
  int32_t leader;          /* -1: none */
  int32_t leader_epoch;    /* -1 before the first leader */
  int32_t partition_epoch; /* bumped by every change */
  int32_t *replicas, *isr;
  int32_t replica_count, isr_count;
};

/* A config override: of a topic, or of the brokers (node id as text, "" for the cluster default).
 */
struct image_config {
  char *name, *value;
};

struct image_configs {
  struct image_config *items;
  size_t count;
};

struct image_topic {
  char *name;
  struct wire_uuid id;
  struct image_partition *partitions; /* partition i at index i */
  int32_t partition_count;
  struct image_configs configs;
};

struct image_broker_configs {
  char *resource; /* node id as text, or "" (cluster-wide default) */
  struct image_configs configs;
};

struct image {
  char cluster_id[64];
  int32_t controller_id; /* -1 when unknown */
  struct image_broker brokers[IMAGE_BROKERS_MAX];
  int broker_count;
  /* from the metadata log */
  struct image_topic **topics; /* sorted by name */
  size_t topic_count, topic_capacity;
  struct image_topic **by_id; /* open addressing on the id, capacity a power of two */
  size_t by_id_capacity;
  struct image_broker_configs *broker_configs;
  size_t broker_config_count;
  int16_t metadata_version; /* FeatureLevelRecord metadata.version; 0 when never set */
  int64_t next_producer_id; /* ProducerIdsRecord: the first id not yet handed out */
  int64_t last_offset;      /* of the last record applied, -1 when none */
};

void image_init(struct image *img, const char *cluster_id, int32_t controller_id);
/* Frees what the metadata log put in the image. */
void image_free(struct image *img);
/* Adds a broker or replaces the one with the same node id. Returns 0, or -1 when full. */
int image_broker_put(struct image *img, const struct image_broker *broker);
const struct image_broker *image_broker_find(const struct image *img, int32_t node_id);
/* The endpoint of a broker on a listener, or NULL when the broker has none there. */
const struct image_endpoint *image_broker_endpoint(const struct image_broker *broker,
                                                   const char *listener);

/* ---- topics ---- */
const struct image_topic *image_topic_find(const struct image *img, const char *name, size_t len);
const struct image_topic *image_topic_by_id(const struct image *img, const struct wire_uuid *id);
/* The index of the first topic whose name is >= name (for cursors), <= topic_count. */
size_t image_topic_lower_bound(const struct image *img, const char *name, size_t len);
/* The value of a topic's override, or NULL. */
const char *image_configs_get(const struct image_configs *c, const char *name);
const char *image_broker_config_get(const struct image *img, const char *resource,
                                    const char *name);

/* Changes, as the records say (image_apply.c calls them). Each returns 0, -EEXIST / -ENOENT /
 * -EINVAL when the change does not fit the image (a record log that is inconsistent), or
 * -ENOMEM. */
int image_topic_add(struct image *img, const char *name, const struct wire_uuid *id);
int image_topic_remove(struct image *img, const struct wire_uuid *id);
/* Sets partition index (== the current count, or an existing one) of a topic. */
int image_partition_put(struct image *img, const struct wire_uuid *id, int32_t index,
                        const struct image_partition *p);
/* ConfigRecord's resource types (DescribeConfigs' ResourceType). */
enum { IMAGE_RESOURCE_TOPIC = 2, IMAGE_RESOURCE_BROKER = 4 };
/* NULL value deletes. Other resource types are ignored for now. */
int image_config_put(struct image *img, int8_t resource_type, const char *resource,
                     const char *name, const char *value);

#endif
