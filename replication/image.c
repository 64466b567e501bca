/* The metadata image; see image.h. Brokers are kept sorted by node id so responses list them in a
 * stable order. */
#include "image.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void image_init(struct image *img, const char *cluster_id, int32_t controller_id) {
  memset(img, 0, sizeof(*img));
  snprintf(img->cluster_id, sizeof(img->cluster_id), "%s", cluster_id);
  img->controller_id = controller_id;
  img->last_offset = -1;
}

int image_broker_put(struct image *img, const struct image_broker *broker) {
  int i = 0;
  while (i < img->broker_count && img->brokers[i].node_id < broker->node_id) i++;
  if (i < img->broker_count && img->brokers[i].node_id == broker->node_id) {
    img->brokers[i] = *broker;
    return 0;
  }
  if (img->broker_count == IMAGE_BROKERS_MAX) return -1;
  memmove(&img->brokers[i + 1], &img->brokers[i],
          (size_t)(img->broker_count - i) * sizeof(img->brokers[0]));
  img->brokers[i] = *broker;
  img->broker_count++;
  return 0;
}

const struct image_broker *image_broker_find(const struct image *img, int32_t node_id) {
  for (int i = 0; i < img->broker_count; i++)
    if (img->brokers[i].node_id == node_id) return &img->brokers[i];
  return NULL;
}

const struct image_endpoint *image_broker_endpoint(const struct image_broker *broker,
                                                   const char *listener) {
  for (int i = 0; i < broker->endpoint_count; i++)
    if (strcmp(broker->endpoints[i].listener, listener) == 0) return &broker->endpoints[i];
  return NULL;
}

/* ---- topics ---- */

/* Both halves mixed: ids are random in practice, but tests and tools make sequential ones. */
static uint64_t id_hash(const struct wire_uuid *id) {
  uint64_t hi, lo;
  memcpy(&hi, id->b, sizeof(hi));
  memcpy(&lo, id->b + 8, sizeof(lo));
  uint64_t h = (hi ^ (lo * 0xC2B2AE3D27D4EB4FULL)) * 0x9E3779B97F4A7C15ULL;
  return h ^ (h >> 29);
}

static int name_cmp(const char *a, const char *b, size_t b_len) {
  size_t a_len = strlen(a);
  int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
  if (c != 0) return c;
  return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

size_t image_topic_lower_bound(const struct image *img, const char *name, size_t len) {
  size_t lo = 0, hi = img->topic_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (name_cmp(img->topics[mid]->name, name, len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

const struct image_topic *image_topic_find(const struct image *img, const char *name, size_t len) {
  size_t i = image_topic_lower_bound(img, name, len);
  if (i < img->topic_count && name_cmp(img->topics[i]->name, name, len) == 0) return img->topics[i];
  return NULL;
}

static size_t id_slot(const struct image *img, const struct wire_uuid *id) {
  size_t mask = img->by_id_capacity - 1;
  size_t i = (size_t)id_hash(id) & mask;
  while (img->by_id[i] != NULL && memcmp(img->by_id[i]->id.b, id->b, 16) != 0) i = (i + 1) & mask;
  return i;
}

const struct image_topic *image_topic_by_id(const struct image *img, const struct wire_uuid *id) {
  if (img->by_id_capacity == 0) return NULL;
  return img->by_id[id_slot(img, id)];
}

static struct image_topic *topic_by_id_mut(struct image *img, const struct wire_uuid *id) {
  return img->by_id_capacity == 0 ? NULL : img->by_id[id_slot(img, id)];
}

/* Keeps the id table at most half full. */
static int by_id_grow(struct image *img) {
  if ((img->topic_count + 1) * 2 <= img->by_id_capacity) return 0;
  size_t cap = img->by_id_capacity ? img->by_id_capacity * 2 : 64;
  struct image_topic **old = img->by_id;
  size_t old_cap = img->by_id_capacity;
  img->by_id = calloc(cap, sizeof(*img->by_id));
  if (img->by_id == NULL) {
    img->by_id = old;
    return -ENOMEM;
  }
  img->by_id_capacity = cap;
  for (size_t i = 0; i < old_cap; i++)
    if (old[i] != NULL) img->by_id[id_slot(img, &old[i]->id)] = old[i];
  free(old);
  return 0;
}

/* Removes slot i of the id table, moving later entries of its cluster back (linear probing). */
static void by_id_delete(struct image *img, size_t i) {
  size_t mask = img->by_id_capacity - 1;
  img->by_id[i] = NULL;
  for (size_t j = (i + 1) & mask; img->by_id[j] != NULL; j = (j + 1) & mask) {
    struct image_topic *t = img->by_id[j];
    img->by_id[j] = NULL;
    img->by_id[id_slot(img, &t->id)] = t;
  }
}

static void configs_free(struct image_configs *c) {
  for (size_t i = 0; i < c->count; i++) {
    free(c->items[i].name);
    free(c->items[i].value);
  }
  free(c->items);
  c->items = NULL;
  c->count = 0;
}

static void partition_free(struct image_partition *p) {
  free(p->replicas);
  free(p->isr);
}

static void topic_free(struct image_topic *t) {
  for (int32_t i = 0; i < t->partition_count; i++) partition_free(&t->partitions[i]);
  free(t->partitions);
  configs_free(&t->configs);
  free(t->name);
  free(t);
}

int image_topic_add(struct image *img, const char *name, const struct wire_uuid *id) {
  size_t len = strlen(name);
  size_t at = image_topic_lower_bound(img, name, len);
  if (at < img->topic_count && strcmp(img->topics[at]->name, name) == 0) return -EEXIST;
  if (image_topic_by_id(img, id) != NULL) return -EEXIST;
  if (by_id_grow(img) != 0) return -ENOMEM;
  if (img->topic_count == img->topic_capacity) {
    size_t cap = img->topic_capacity ? img->topic_capacity * 2 : 64;
    struct image_topic **topics = realloc(img->topics, cap * sizeof(*topics));
    if (topics == NULL) return -ENOMEM;
    img->topics = topics;
    img->topic_capacity = cap;
  }
  struct image_topic *t = calloc(1, sizeof(*t));
  if (t == NULL || (t->name = strdup(name)) == NULL) {
    free(t);
    return -ENOMEM;
  }
  t->id = *id;
  memmove(&img->topics[at + 1], &img->topics[at], (img->topic_count - at) * sizeof(*img->topics));
  img->topics[at] = t;
  img->topic_count++;
  img->by_id[id_slot(img, id)] = t;
  return 0;
}

int image_topic_remove(struct image *img, const struct wire_uuid *id) {
  if (img->by_id_capacity == 0) return -ENOENT;
  size_t slot = id_slot(img, id);
  struct image_topic *t = img->by_id[slot];
  if (t == NULL) return -ENOENT;
  by_id_delete(img, slot);
  size_t at = image_topic_lower_bound(img, t->name, strlen(t->name));
  assert(at < img->topic_count && img->topics[at] == t);
  memmove(&img->topics[at], &img->topics[at + 1],
          (img->topic_count - at - 1) * sizeof(*img->topics));
  img->topic_count--;
  topic_free(t);
  return 0;
}

static int32_t *ints_dup(const int32_t *v, int32_t count) {
  int32_t *out = malloc((size_t)(count > 0 ? count : 1) * sizeof(*out));
  if (out != NULL && count > 0) memcpy(out, v, (size_t)count * sizeof(*out));
  return out;
}

int image_partition_put(struct image *img, const struct wire_uuid *id, int32_t index,
                        const struct image_partition *p) {
  struct image_topic *t = topic_by_id_mut(img, id);
  if (t == NULL) return -ENOENT;
  if (index < 0 || index > t->partition_count || p->replica_count < 0 || p->isr_count < 0)
    return -EINVAL;
  struct image_partition copy = *p;
  copy.replicas = ints_dup(p->replicas, p->replica_count);
  copy.isr = ints_dup(p->isr, p->isr_count);
  if (copy.replicas == NULL || copy.isr == NULL) {
    partition_free(&copy);
    return -ENOMEM;
  }
  if (index == t->partition_count) {
    struct image_partition *parts =
        realloc(t->partitions, (size_t)(t->partition_count + 1) * sizeof(*parts));
    if (parts == NULL) {
      partition_free(&copy);
      return -ENOMEM;
    }
    t->partitions = parts;
    t->partition_count++;
  } else {
    partition_free(&t->partitions[index]);
  }
  t->partitions[index] = copy;
  return 0;
}

const char *image_configs_get(const struct image_configs *c, const char *name) {
  for (size_t i = 0; i < c->count; i++)
    if (strcmp(c->items[i].name, name) == 0) return c->items[i].value;
  return NULL;
}

static int configs_put(struct image_configs *c, const char *name, const char *value) {
  for (size_t i = 0; i < c->count; i++) {
    if (strcmp(c->items[i].name, name) != 0) continue;
    if (value == NULL) {
      free(c->items[i].name);
      free(c->items[i].value);
      c->items[i] = c->items[--c->count];
      return 0;
    }
    char *v = strdup(value);
    if (v == NULL) return -ENOMEM;
    free(c->items[i].value);
    c->items[i].value = v;
    return 0;
  }
  if (value == NULL) return 0;
  struct image_config *items = realloc(c->items, (c->count + 1) * sizeof(*items));
  if (items == NULL) return -ENOMEM;
  c->items = items;
  char *n = strdup(name), *v = strdup(value);
  if (n == NULL || v == NULL) {
    free(n);
    free(v);
    return -ENOMEM;
  }
  c->items[c->count].name = n;
  c->items[c->count].value = v;
  c->count++;
  return 0;
}

static struct image_broker_configs *broker_configs_find(const struct image *img,
                                                        const char *resource) {
  for (size_t i = 0; i < img->broker_config_count; i++)
    if (strcmp(img->broker_configs[i].resource, resource) == 0) return &img->broker_configs[i];
  return NULL;
}

const char *image_broker_config_get(const struct image *img, const char *resource,
                                    const char *name) {
  const struct image_broker_configs *bc = broker_configs_find(img, resource);
  return bc != NULL ? image_configs_get(&bc->configs, name) : NULL;
}

int image_config_put(struct image *img, int8_t resource_type, const char *resource,
                     const char *name, const char *value) {
  if (resource_type == IMAGE_RESOURCE_TOPIC) {
    size_t len = strlen(resource), at = image_topic_lower_bound(img, resource, len);
    struct image_topic *t = at < img->topic_count && strcmp(img->topics[at]->name, resource) == 0
                                ? img->topics[at]
                                : NULL;
    /* Kafka writes a topic's configs right after its TopicRecord; a config for a topic that
     * is gone is harmless (it goes with the topic). */
    if (t == NULL) return 0;
    return configs_put(&t->configs, name, value);
  }
  if (resource_type != IMAGE_RESOURCE_BROKER) return 0; /* other resources: not kept yet */
  struct image_broker_configs *bc = broker_configs_find(img, resource);
  if (bc == NULL) {
    if (value == NULL) return 0;
    struct image_broker_configs *items =
        realloc(img->broker_configs, (img->broker_config_count + 1) * sizeof(*items));
    if (items == NULL) return -ENOMEM;
    img->broker_configs = items;
    bc = &img->broker_configs[img->broker_config_count];
    memset(bc, 0, sizeof(*bc));
    if ((bc->resource = strdup(resource)) == NULL) return -ENOMEM;
    img->broker_config_count++;
  }
  return configs_put(&bc->configs, name, value);
}

void image_free(struct image *img) {
  for (size_t i = 0; i < img->topic_count; i++) topic_free(img->topics[i]);
  free(img->topics);
  free(img->by_id);
  for (size_t i = 0; i < img->broker_config_count; i++) {
    configs_free(&img->broker_configs[i].configs);
    free(img->broker_configs[i].resource);
  }
  free(img->broker_configs);
  img->topics = NULL;
  img->by_id = NULL;
  img->broker_configs = NULL;
  img->topic_count = img->topic_capacity = img->by_id_capacity = img->broker_config_count = 0;
}
