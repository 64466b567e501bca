/* See image_records.h. Records are written at the lowest version that carries what Quire sets
 * (every Kafka reader accepts them); any valid version is read. */
#include "image_records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metadata_record.h"

enum { DECODE_ARENA_LIMIT = 16 << 20 };

static void str_copy(char *dst, size_t size, struct wire_str s) {
  size_t n = s.len > 0 ? (size_t)s.len : 0;
  if (n >= size) n = size - 1;
  memcpy(dst, s.ptr, n);
  dst[n] = '\0';
}

static int apply_partition(struct image *img, const struct msg_partition_record *r,
                           struct image_change *change) {
  const struct image_topic *t = image_topic_by_id(img, &r->topic_id);
  if (t == NULL || r->replicas.count < 0 || r->isr.count < 0) return -EBADMSG;
  struct image_partition p = {r->leader,         r->leader_epoch, r->partition_epoch,
                              r->replicas.items, r->isr.items,    r->replicas.count,
                              r->isr.count};
  int rc = image_partition_put(img, &r->topic_id, r->partition_id, &p);
  change->kind = IMAGE_CHANGE_PARTITION;
  snprintf(change->topic, sizeof(change->topic), "%s", t->name);
  change->topic_id = r->topic_id;
  change->partition = r->partition_id;
  return rc == -ENOMEM ? rc : rc != 0 ? -EBADMSG : 0;
}

/* PartitionChangeRecord: only the fields it carries change; the partition epoch always bumps. */
static int apply_partition_change(struct image *img, const struct msg_partition_change_record *r,
                                  struct image_change *change) {
  const struct image_topic *t = image_topic_by_id(img, &r->topic_id);
  if (t == NULL || r->partition_id < 0 || r->partition_id >= t->partition_count) return -EBADMSG;
  struct image_partition p = t->partitions[r->partition_id];
  if (r->isr.count >= 0) {
    p.isr = r->isr.items;
    p.isr_count = r->isr.count;
  }
  if (r->replicas.count >= 0) {
    p.replicas = r->replicas.items;
    p.replica_count = r->replicas.count;
  }
  if (r->leader != -2) { /* -2: no change */
    p.leader = r->leader;
    p.leader_epoch++;
  }
  p.partition_epoch++;
  int rc = image_partition_put(img, &r->topic_id, r->partition_id, &p);
  change->kind = IMAGE_CHANGE_PARTITION;
  snprintf(change->topic, sizeof(change->topic), "%s", t->name);
  change->topic_id = r->topic_id;
  change->partition = r->partition_id;
  return rc;
}

static int apply(struct image *img, struct wire_arena *arena, const struct metadata_record *rec,
                 struct image_change *change) {
  switch (rec->type->key) {
  case MSG_METADATA_TOPIC_RECORD: {
    const struct msg_topic_record *r = rec->message;
    char *name = wire_arena_cstr(arena, r->name);
    if (name == NULL) return -EBADMSG;
    int rc = image_topic_add(img, name, &r->topic_id);
    if (rc != 0) return rc == -ENOMEM ? rc : -EBADMSG;
    change->kind = IMAGE_CHANGE_TOPIC_ADDED;
    str_copy(change->topic, sizeof(change->topic), r->name);
    change->topic_id = r->topic_id;
    return 0;
  }
  case MSG_METADATA_PARTITION_RECORD: return apply_partition(img, rec->message, change);
  case MSG_METADATA_PARTITION_CHANGE_RECORD:
    return apply_partition_change(img, rec->message, change);
  case MSG_METADATA_REMOVE_TOPIC_RECORD: {
    const struct msg_remove_topic_record *r = rec->message;
    const struct image_topic *t = image_topic_by_id(img, &r->topic_id);
    if (t == NULL) return -EBADMSG;
    change->kind = IMAGE_CHANGE_TOPIC_REMOVED;
    snprintf(change->topic, sizeof(change->topic), "%s", t->name);
    change->topic_id = r->topic_id;
    return image_topic_remove(img, &r->topic_id);
  }
  case MSG_METADATA_CONFIG_RECORD: {
    const struct msg_config_record *r = rec->message;
    char *resource = wire_arena_cstr(arena, r->resource_name),
         *name = wire_arena_cstr(arena, r->name);
    char *value = wire_arena_cstr(arena, r->value);
    if (resource == NULL || name == NULL || (r->value.len >= 0 && value == NULL)) return -EBADMSG;
    change->kind = IMAGE_CHANGE_CONFIG;
    snprintf(change->topic, sizeof(change->topic), "%s",
             r->resource_type == IMAGE_RESOURCE_TOPIC ? resource : "");
    return image_config_put(img, r->resource_type, resource, name, value);
  }
  case MSG_METADATA_FEATURE_LEVEL_RECORD: {
    const struct msg_feature_level_record *r = rec->message;
    if (wire_str_eq(r->name, "metadata.version")) img->metadata_version = r->feature_level;
    return 0;
  }
  case MSG_METADATA_PRODUCER_IDS_RECORD: {
    const struct msg_producer_ids_record *r = rec->message;
    if (r->next_producer_id < img->next_producer_id) return -EBADMSG; /* never backwards */
    img->next_producer_id = r->next_producer_id;
    return 0;
  }
  default: return 0;
  }
}

int image_apply_record(struct image *img, const uint8_t *value, size_t size, int64_t offset,
                       struct image_change *change) {
  struct wire_arena arena;
  wire_arena_init(&arena, DECODE_ARENA_LIMIT);
  struct wire_reader r = {value, value + size, &arena};
  struct metadata_record rec;
  memset(change, 0, sizeof(*change));
  int rc =
      metadata_record_decode(&r, &rec) == WIRE_OK ? apply(img, &arena, &rec, change) : -EBADMSG;
  wire_arena_free(&arena);
  if (rc == 0) img->last_offset = offset;
  return rc;
}

/* ---- writing ---- */

static int add(struct batch_builder *b, int16_t key, int16_t version, const void *m,
               int64_t now_ms) {
  size_t size = metadata_record_size(key, version, m);
  if (size == 0 || size > INT32_MAX) return -E2BIG;
  uint8_t *at;
  int rc = batch_builder_add_in_place(b, (int32_t)size, now_ms, &at);
  if (rc != 0) return rc;
  struct wire_writer w = {at, at + size, WIRE_OK, NULL};
  return metadata_record_encode(&w, key, version, m) == WIRE_OK ? 0 : -EINVAL;
}

static struct wire_str str_n(const char *s, size_t n) {
  struct wire_str v = {s, (int32_t)n};
  return v;
}

int image_record_topic(struct batch_builder *b, const char *name, size_t name_len,
                       const struct wire_uuid *id, int64_t now_ms) {
  struct msg_topic_record r;
  msg_topic_record_init(&r);
  r.name = str_n(name, name_len);
  r.topic_id = *id;
  return add(b, MSG_METADATA_TOPIC_RECORD, 0, &r, now_ms);
}

int image_record_partition(struct batch_builder *b, const struct wire_uuid *topic_id, int32_t index,
                           const struct image_partition *p, int64_t now_ms) {
  struct msg_partition_record r;
  msg_partition_record_init(&r);
  r.partition_id = index;
  r.topic_id = *topic_id;
  r.replicas.count = p->replica_count;
  r.replicas.items = p->replicas;
  r.isr.count = p->isr_count;
  r.isr.items = p->isr;
  r.removing_replicas.count = 0;
  r.adding_replicas.count = 0;
  r.leader = p->leader;
  r.leader_epoch = p->leader_epoch;
  r.partition_epoch = p->partition_epoch;
  return add(b, MSG_METADATA_PARTITION_RECORD, 0, &r, now_ms);
}

int image_record_remove_topic(struct batch_builder *b, const struct wire_uuid *id, int64_t now_ms) {
  struct msg_remove_topic_record r;
  msg_remove_topic_record_init(&r);
  r.topic_id = *id;
  return add(b, MSG_METADATA_REMOVE_TOPIC_RECORD, 0, &r, now_ms);
}

int image_record_config(struct batch_builder *b, int8_t resource_type, const char *resource,
                        size_t resource_len, const char *name, size_t name_len, const char *value,
                        int32_t value_len, int64_t now_ms) {
  struct msg_config_record r;
  msg_config_record_init(&r);
  r.resource_type = resource_type;
  r.resource_name = str_n(resource, resource_len);
  r.name = str_n(name, name_len);
  r.value.ptr = value;
  r.value.len = value == NULL ? -1 : value_len;
  return add(b, MSG_METADATA_CONFIG_RECORD, 0, &r, now_ms);
}

int image_record_producer_ids(struct batch_builder *b, int32_t broker_id, int64_t broker_epoch,
                              int64_t next_producer_id, int64_t now_ms) {
  struct msg_producer_ids_record r;
  msg_producer_ids_record_init(&r);
  r.broker_id = broker_id;
  r.broker_epoch = broker_epoch;
  r.next_producer_id = next_producer_id;
  return add(b, MSG_METADATA_PRODUCER_IDS_RECORD, 0, &r, now_ms);
}

static int configs_all(struct batch_builder *b, int8_t type, const char *resource,
                       const struct image_configs *c, int64_t now_ms) {
  for (size_t i = 0; i < c->count; i++) {
    int rc = image_record_config(b, type, resource, strlen(resource), c->items[i].name,
                                 strlen(c->items[i].name), c->items[i].value,
                                 (int32_t)strlen(c->items[i].value), now_ms);
    if (rc != 0) return rc;
  }
  return 0;
}

int image_records_all(const struct image *img, struct batch_builder *b, int64_t now_ms) {
  int rc = 0;
  if (img->next_producer_id > 0)
    rc = image_record_producer_ids(b, -1, -1, img->next_producer_id, now_ms);
  for (size_t i = 0; rc == 0 && i < img->broker_config_count; i++)
    rc = configs_all(b, IMAGE_RESOURCE_BROKER, img->broker_configs[i].resource,
                     &img->broker_configs[i].configs, now_ms);
  for (size_t i = 0; rc == 0 && i < img->topic_count; i++) {
    const struct image_topic *t = img->topics[i];
    rc = image_record_topic(b, t->name, strlen(t->name), &t->id, now_ms);
    for (int32_t p = 0; rc == 0 && p < t->partition_count; p++)
      rc = image_record_partition(b, &t->id, p, &t->partitions[p], now_ms);
    if (rc == 0) rc = configs_all(b, IMAGE_RESOURCE_TOPIC, t->name, &t->configs, now_ms);
  }
  return rc;
}
