/* See topics.h. Error messages are Kafka's, so tools that match on them keep working. */
#include "topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "errors.h"
#include "image_records.h"

enum { TOPIC_NAME_MAX = 249 };

int16_t topic_name_check(struct wire_str name, char *msg, size_t msg_size) {
  if (name.len <= 0) {
    snprintf(msg, msg_size, "Topic name is illegal, it can't be empty");
    return ERR_INVALID_TOPIC_EXCEPTION;
  }
  if ((name.len == 1 && name.ptr[0] == '.') ||
      (name.len == 2 && name.ptr[0] == '.' && name.ptr[1] == '.')) {
    snprintf(msg, msg_size, "Topic name cannot be \".\" or \"..\"");
    return ERR_INVALID_TOPIC_EXCEPTION;
  }
  if (name.len > TOPIC_NAME_MAX) {
    snprintf(msg, msg_size,
             "Topic name is illegal, it can't be longer than %d characters, topic name: %.*s",
             TOPIC_NAME_MAX, (int)name.len, name.ptr);
    return ERR_INVALID_TOPIC_EXCEPTION;
  }
  for (int32_t i = 0; i < name.len; i++) {
    char c = name.ptr[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '_' || c == '-')
      continue;
    snprintf(msg, msg_size,
             "Topic name \"%.*s\" is illegal, it contains a character other than ASCII "
             "alphanumerics, '.', '_' and '-'",
             (int)name.len, name.ptr);
    return ERR_INVALID_TOPIC_EXCEPTION;
  }
  return ERR_NONE;
}

bool topic_is_internal(struct wire_str name) {
  return wire_str_eq(name, "__consumer_offsets") || wire_str_eq(name, "__transaction_state") ||
         wire_str_eq(name, "__share_group_state");
}

/* Kafka refuses names that differ from another only by '.' versus '_' (metric names merge). */
static bool collides(struct wire_str a, const char *b, size_t b_len) {
  if ((size_t)a.len != b_len) return false;
  for (size_t i = 0; i < b_len; i++) {
    char x = a.ptr[i] == '.' ? '_' : a.ptr[i], y = b[i] == '.' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

static const char *collision(const struct image *img, struct wire_str name,
                             const struct wire_str *pending, size_t pending_count) {
  if (memchr(name.ptr, '.', (size_t)name.len) == NULL &&
      memchr(name.ptr, '_', (size_t)name.len) == NULL)
    return NULL;
  for (size_t i = 0; i < img->topic_count; i++)
    if (collides(name, img->topics[i]->name, strlen(img->topics[i]->name)))
      return img->topics[i]->name;
  for (size_t i = 0; i < pending_count; i++)
    if (collides(name, pending[i].ptr, (size_t)pending[i].len)) return "(created in this batch)";
  return NULL;
}

static bool broker_known(const struct image *img, int32_t id) {
  return image_broker_find(img, id) != NULL;
}

/* The replicas of each partition: from the request, or placed round-robin over the brokers
 * (starting at a per-topic offset, as Kafka's striped placer spreads leaders). */
static int16_t check_assignments(const struct broker *b, const struct topic_spec *s, char *msg,
                                 size_t msg_size) {
  for (int32_t i = 0; i < s->assignment_count; i++) {
    if (s->assignment_partitions[i] != i) {
      snprintf(msg, msg_size,
               "Partitions should be a consecutive 0-based integer sequence, but the partition "
               "ids were not in order.");
      return ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    if (s->replica_counts[i] <= 0) {
      snprintf(msg, msg_size, "The manual partition assignment includes an empty replica list.");
      return ERR_INVALID_REPLICA_ASSIGNMENT;
    }
    for (int32_t r = 0; r < s->replica_counts[i]; r++) {
      int32_t id = s->replicas[i][r];
      if (!broker_known(&b->image, id)) {
        snprintf(msg, msg_size,
                 "The manual partition assignment includes broker %d, but no "
                 "such broker is registered.",
                 id);
        return ERR_INVALID_REPLICA_ASSIGNMENT;
      }
      for (int32_t q = 0; q < r; q++)
        if (s->replicas[i][q] == id) {
          snprintf(msg, msg_size,
                   "The manual partition assignment includes the broker %d more than once.", id);
          return ERR_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    if (i > 0 && s->replica_counts[i] != s->replica_counts[0]) {
      snprintf(msg, msg_size,
               "The manual partition assignment includes a partition with %d "
               "replica(s), but this is not consistent with previous partitions, which have %d "
               "replica(s).",
               s->replica_counts[i], s->replica_counts[0]);
      return ERR_INVALID_REPLICA_ASSIGNMENT;
    }
  }
  return ERR_NONE;
}

int topic_create(struct broker *b, const struct topic_spec *s, bool validate_only,
                 const struct wire_str *pending, size_t pending_count,
                 struct batch_builder *records, int64_t now_ms, struct topic_created *out,
                 char *msg, size_t msg_size) {
  const struct image *img = &b->image;
  const struct config *cfg = b->cfg;
  msg[0] = '\0';
  int16_t err = topic_name_check(s->name, msg, msg_size);
  if (err != ERR_NONE) return err;
  if (wire_str_eq(s->name, "__cluster_metadata")) {
    snprintf(msg, msg_size, "Creation of internal topic __cluster_metadata is prohibited.");
    return ERR_INVALID_REQUEST;
  }
  if (image_topic_find(img, s->name.ptr, (size_t)s->name.len) != NULL) {
    snprintf(msg, msg_size, "Topic '%.*s' already exists.", (int)s->name.len, s->name.ptr);
    return ERR_TOPIC_ALREADY_EXISTS;
  }
  for (size_t i = 0; i < pending_count; i++)
    if (wire_str_same(pending[i], s->name)) {
      snprintf(msg, msg_size, "Topic '%.*s' already exists.", (int)s->name.len, s->name.ptr);
      return ERR_TOPIC_ALREADY_EXISTS;
    }
  const char *other = collision(img, s->name, pending, pending_count);
  if (other != NULL) {
    snprintf(msg, msg_size, "Topic '%.*s' collides with existing topic: %s", (int)s->name.len,
             s->name.ptr, other);
    return ERR_INVALID_TOPIC_EXCEPTION;
  }
  int32_t partitions = s->partitions;
  int16_t rf = s->replication_factor;
  if (s->assignment_count > 0) {
    if (partitions != -1 || rf != -1) {
      snprintf(msg, msg_size,
               partitions != -1 ? "A manual partition assignment was specified, but "
                                  "numPartitions was not set to -1."
                                : "A manual partition assignment was specified, but "
                                  "replicationFactor was not set to -1.");
      return ERR_INVALID_REQUEST;
    }
    err = check_assignments(b, s, msg, msg_size);
    if (err != ERR_NONE) return err;
    partitions = s->assignment_count;
    rf = (int16_t)s->replica_counts[0];
  } else {
    if (partitions == -1) partitions = cfg->num_partitions;
    if (rf == -1) rf = cfg->default_replication_factor;
    if (partitions <= 0) {
      snprintf(msg, msg_size, "Number of partitions was set to an invalid non-positive value.");
      return ERR_INVALID_PARTITIONS;
    }
    if (rf <= 0) {
      snprintf(msg, msg_size,
               "Replication factor must be larger than 0, or -1 to use the default value.");
      return ERR_INVALID_REPLICATION_FACTOR;
    }
    if (rf > img->broker_count) {
      snprintf(msg, msg_size,
               "Unable to replicate the partition %d time(s): The target replication factor of "
               "%d cannot be reached because only %d broker(s) are registered.",
               rf, rf, img->broker_count);
      return ERR_INVALID_REPLICATION_FACTOR;
    }
  }
  err = topic_config_validate(cfg, s->configs, s->config_count, msg, msg_size);
  if (err != ERR_NONE) return err;

  out->partitions = partitions;
  out->replication_factor = rf;
  memset(&out->id, 0, sizeof(out->id));
  if (validate_only) return ERR_NONE;

  controller_new_topic_id(b, &out->id);
  int rc = image_record_topic(records, s->name.ptr, (size_t)s->name.len, &out->id, now_ms);
  for (int i = 0; rc == 0 && i < s->config_count; i++) {
    const struct config_override *c = &s->configs[i];
    rc = image_record_config(records, IMAGE_RESOURCE_TOPIC, s->name.ptr, (size_t)s->name.len,
                             c->name, strlen(c->name), c->value, (int32_t)strlen(c->value), now_ms);
  }
  int32_t placed[IMAGE_BROKERS_MAX];
  uint32_t start =
      (uint32_t)out->id.b[0] % (uint32_t)(img->broker_count > 0 ? img->broker_count : 1);
  for (int32_t p = 0; rc == 0 && p < partitions; p++) {
    struct image_partition part = {0};
    if (s->assignment_count > 0) {
      part.replicas = (int32_t *)(uintptr_t)s->replicas[p];
      part.replica_count = s->replica_counts[p];
    } else {
      for (int16_t r = 0; r < rf; r++)
        placed[r] =
            img->brokers[(start + (uint32_t)p + (uint32_t)r) % (uint32_t)img->broker_count].node_id;
      part.replicas = placed;
      part.replica_count = rf;
    }
    part.isr = part.replicas;
    part.isr_count = part.replica_count;
    part.leader = part.replicas[0];
    part.leader_epoch = 0;
    part.partition_epoch = 0;
    rc = image_record_partition(records, &out->id, p, &part, now_ms);
  }
  return rc == 0 ? ERR_NONE : -1;
}
