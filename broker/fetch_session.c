/* Fetch sessions and their cache; see fetch_session.h. */
#include "fetch_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fetch_session {
  int32_t id;
  uint64_t serial;
  int32_t epoch;
  bool privileged, uses_topic_ids;
  int64_t creation_ms, last_used_ms;
  int64_t cached_size; /* -1 until the first touch */
  bool evictable_by_all, evictable_by_privileged;
  struct fetch_session_partition *head, *tail;
  struct fetch_session_partition **buckets;
  size_t bucket_count, count;
  struct fetch_session *hash_next;   /* the cache's id table */
  struct fetch_session *prev, *next; /* the cache's list of every session */
};

struct fetch_session_cache {
  int32_t max_slots;
  int64_t eviction_ms;
  uint64_t rng, next_serial;
  struct fetch_session **buckets;
  size_t bucket_count, count;
  struct fetch_session *all;
  uint64_t partitions, evictions;
};

int32_t fetch_session_next_epoch(int32_t epoch) {
  if (epoch < 0) return FETCH_SESSION_FINAL_EPOCH;
  if (epoch == INT32_MAX) return 1;
  return epoch + 1;
}

/* ---- hashing ---- */

static uint64_t hash_bytes(uint64_t h, const void *data, size_t size) {
  const uint8_t *p = data;
  for (size_t i = 0; i < size; i++) {
    h ^= p[i];
    h *= UINT64_C(1099511628211);
  }
  return h;
}

static uint64_t partition_hash(const struct wire_uuid *id, const char *topic, size_t topic_len,
                               int32_t partition) {
  uint64_t h = UINT64_C(14695981039346656037);
  if (topic != NULL)
    h = hash_bytes(h, topic, topic_len);
  else
    h = hash_bytes(h, id->b, sizeof(id->b));
  return hash_bytes(h, &partition, sizeof(partition));
}

static uint64_t session_hash(int32_t id) {
  uint64_t h = (uint64_t)(uint32_t)id * UINT64_C(0x9E3779B97F4A7C15);
  return h ^ (h >> 29);
}

/* ---- the cache ---- */

int fetch_session_cache_create(int32_t max_slots, int64_t eviction_ms, uint64_t seed,
                               struct fetch_session_cache **out) {
  struct fetch_session_cache *c = calloc(1, sizeof(*c));
  if (c == NULL) return -ENOMEM;
  c->max_slots = max_slots > 0 ? max_slots : 0;
  c->eviction_ms = eviction_ms;
  c->rng = seed != 0 ? seed : UINT64_C(0x2545F4914F6CDD1D);
  c->bucket_count = 64;
  c->buckets = calloc(c->bucket_count, sizeof(*c->buckets));
  if (c->buckets == NULL) {
    free(c);
    return -ENOMEM;
  }
  *out = c;
  return 0;
}

static void session_free(struct fetch_session *s) {
  struct fetch_session_partition *p = s->head;
  while (p != NULL) {
    struct fetch_session_partition *next = p->next;
    free(p->topic);
    free(p);
    p = next;
  }
  free(s->buckets);
  free(s);
}

void fetch_session_cache_destroy(struct fetch_session_cache *c) {
  if (c == NULL) return;
  struct fetch_session *s = c->all;
  while (s != NULL) {
    struct fetch_session *next = s->next;
    session_free(s);
    s = next;
  }
  free(c->buckets);
  free(c);
}

size_t fetch_session_cache_count(const struct fetch_session_cache *c) { return c->count; }
uint64_t fetch_session_cache_partitions(const struct fetch_session_cache *c) {
  return c->partitions;
}
uint64_t fetch_session_cache_evictions(const struct fetch_session_cache *c) { return c->evictions; }

struct fetch_session *fetch_session_find(struct fetch_session_cache *c, int32_t id) {
  struct fetch_session *s = c->buckets[session_hash(id) & (c->bucket_count - 1)];
  while (s != NULL && s->id != id) s = s->hash_next;
  return s;
}

/* Doubles the id table when it holds more sessions than buckets (keeps the old one when out of
 * memory: chains just grow longer). */
static void cache_grow(struct fetch_session_cache *c) {
  if (c->count < c->bucket_count) return;
  size_t n = c->bucket_count * 2;
  struct fetch_session **b = calloc(n, sizeof(*b));
  if (b == NULL) return;
  for (struct fetch_session *s = c->all; s != NULL; s = s->next) {
    size_t i = session_hash(s->id) & (n - 1);
    s->hash_next = b[i];
    b[i] = s;
  }
  free(c->buckets);
  c->buckets = b;
  c->bucket_count = n;
}

static uint64_t rng_next(struct fetch_session_cache *c) {
  uint64_t x = c->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  c->rng = x;
  return x * UINT64_C(0x2545F4914F6CDD1D);
}

static int32_t new_session_id(struct fetch_session_cache *c) {
  for (;;) {
    int32_t id = (int32_t)(rng_next(c) % (uint64_t)(INT32_MAX - 1)) + 1;
    if (fetch_session_find(c, id) == NULL) return id;
  }
}

void fetch_session_remove(struct fetch_session_cache *c, struct fetch_session *s) {
  struct fetch_session **pp = &c->buckets[session_hash(s->id) & (c->bucket_count - 1)];
  while (*pp != s) pp = &(*pp)->hash_next;
  *pp = s->hash_next;
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    c->all = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  c->count--;
  if (s->cached_size > 0) c->partitions -= (uint64_t)s->cached_size;
  session_free(s);
}

/* Kafka's EvictableKey order: (privileged, size, id), false before true. */
static int evictable_cmp(bool priv_a, int64_t size_a, int32_t id_a, bool priv_b, int64_t size_b,
                         int32_t id_b) {
  if (priv_a != priv_b) return priv_a ? 1 : -1;
  if (size_a != size_b) return size_a < size_b ? -1 : 1;
  if (id_a != id_b) return id_a < id_b ? -1 : 1;
  return 0;
}

/* Kafka's tryEvict: a stale session (idle longer than eviction_ms) goes first; else the least
 * valuable evictable one, when the newcomer (privileged, size) is worth at least as much. */
static bool cache_try_evict(struct fetch_session_cache *c, bool privileged, size_t size,
                            int64_t now_ms) {
  struct fetch_session *lru = NULL, *least = NULL;
  for (struct fetch_session *s = c->all; s != NULL; s = s->next) {
    if (s->cached_size < 0) continue; /* being created */
    if (lru == NULL || s->last_used_ms < lru->last_used_ms ||
        (s->last_used_ms == lru->last_used_ms && s->id < lru->id))
      lru = s;
    if (!(privileged ? s->evictable_by_privileged : s->evictable_by_all)) continue;
    if (least == NULL || evictable_cmp(s->privileged, s->cached_size, s->id, least->privileged,
                                       least->cached_size, least->id) < 0)
      least = s;
  }
  if (lru == NULL) return false;
  struct fetch_session *victim = NULL;
  if (now_ms - lru->last_used_ms > c->eviction_ms)
    victim = lru;
  else if (least != NULL && evictable_cmp(privileged, (int64_t)size, 0, least->privileged,
                                          least->cached_size, least->id) >= 0)
    victim = least;
  if (victim == NULL) return false;
  fetch_session_remove(c, victim);
  c->evictions++;
  return true;
}

struct fetch_session *fetch_session_create(struct fetch_session_cache *c, int64_t now_ms,
                                           bool privileged, bool uses_topic_ids, size_t size) {
  if (!((int64_t)c->count < c->max_slots || cache_try_evict(c, privileged, size, now_ms)))
    return NULL;
  struct fetch_session *s = calloc(1, sizeof(*s));
  if (s != NULL) s->buckets = calloc(16, sizeof(*s->buckets));
  if (s == NULL || s->buckets == NULL) {
    free(s);
    return NULL;
  }
  s->bucket_count = 16;
  s->id = new_session_id(c);
  s->serial = ++c->next_serial;
  s->epoch = fetch_session_next_epoch(FETCH_SESSION_INITIAL_EPOCH);
  s->privileged = privileged;
  s->uses_topic_ids = uses_topic_ids;
  s->creation_ms = s->last_used_ms = now_ms;
  s->cached_size = -1;
  size_t i = session_hash(s->id) & (c->bucket_count - 1);
  s->hash_next = c->buckets[i];
  c->buckets[i] = s;
  s->next = c->all;
  if (c->all != NULL) c->all->prev = s;
  c->all = s;
  c->count++;
  cache_grow(c);
  return s;
}

void fetch_session_touch(struct fetch_session_cache *c, struct fetch_session *s, int64_t now_ms) {
  s->last_used_ms = now_ms;
  if (s->cached_size > 0) c->partitions -= (uint64_t)s->cached_size;
  s->cached_size = (int64_t)s->count;
  c->partitions += s->count;
  bool old = now_ms - s->creation_ms > c->eviction_ms;
  s->evictable_by_privileged = !s->privileged || old;
  s->evictable_by_all = old;
}

int32_t fetch_session_id(const struct fetch_session *s) { return s->id; }
uint64_t fetch_session_serial(const struct fetch_session *s) { return s->serial; }
int32_t fetch_session_epoch(const struct fetch_session *s) { return s->epoch; }
void fetch_session_set_epoch(struct fetch_session *s, int32_t epoch) { s->epoch = epoch; }
bool fetch_session_uses_topic_ids(const struct fetch_session *s) { return s->uses_topic_ids; }
bool fetch_session_privileged(const struct fetch_session *s) { return s->privileged; }
size_t fetch_session_size(const struct fetch_session *s) { return s->count; }
int64_t fetch_session_last_used_ms(const struct fetch_session *s) { return s->last_used_ms; }

/* ---- partitions ---- */

struct fetch_session_partition *fetch_session_first(struct fetch_session *s) {
  return s->head;
}

static bool partition_matches(const struct fetch_session *s,
                              const struct fetch_session_partition *p,
                              const struct wire_uuid *topic_id, const char *topic, size_t topic_len,
                              int32_t partition) {
  if (p->partition != partition) return false;
  if (s->uses_topic_ids) return memcmp(p->topic_id.b, topic_id->b, sizeof(topic_id->b)) == 0;
  return strlen(p->topic) == topic_len && memcmp(p->topic, topic, topic_len) == 0;
}

static size_t partition_bucket(const struct fetch_session *s, const struct wire_uuid *topic_id,
                               const char *topic, size_t topic_len, int32_t partition) {
  return partition_hash(topic_id, s->uses_topic_ids ? NULL : topic, topic_len, partition) &
         (s->bucket_count - 1);
}

struct fetch_session_partition *fetch_session_partition_find(struct fetch_session *s,
                                                             const struct wire_uuid *topic_id,
                                                             const char *topic, size_t topic_len,
                                                             int32_t partition) {
  if (!s->uses_topic_ids && topic == NULL) return NULL;
  struct fetch_session_partition *p =
      s->buckets[partition_bucket(s, topic_id, topic, topic_len, partition)];
  while (p != NULL && !partition_matches(s, p, topic_id, topic, topic_len, partition))
    p = p->hash_next;
  return p;
}

static void session_grow(struct fetch_session *s) {
  if (s->count < s->bucket_count) return;
  size_t n = s->bucket_count * 2;
  struct fetch_session_partition **b = calloc(n, sizeof(*b));
  if (b == NULL) return;
  for (struct fetch_session_partition *p = s->head; p != NULL; p = p->next) {
    size_t i = partition_hash(&p->topic_id, p->topic, p->topic != NULL ? strlen(p->topic) : 0,
                              p->partition) &
               (n - 1);
    p->hash_next = b[i];
    b[i] = p;
  }
  free(s->buckets);
  s->buckets = b;
  s->bucket_count = n;
}

struct fetch_session_partition *fetch_session_partition_add(struct fetch_session *s,
                                                            const struct wire_uuid *topic_id,
                                                            const char *topic, size_t topic_len,
                                                            int32_t partition) {
  struct fetch_session_partition *p = calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  if (s->uses_topic_ids) {
    p->topic_id = *topic_id;
  } else {
    if (topic == NULL || (p->topic = malloc(topic_len + 1)) == NULL) {
      free(p);
      return NULL;
    }
    memcpy(p->topic, topic, topic_len);
    p->topic[topic_len] = '\0';
  }
  p->partition = partition;
  p->max_bytes = 0;
  p->fetch_offset = p->fetcher_log_start_offset = -1;
  p->current_leader_epoch = p->last_fetched_epoch = -1;
  p->high_watermark = p->log_start_offset = -1;
  size_t i = partition_bucket(s, topic_id, topic, topic_len, partition);
  p->hash_next = s->buckets[i];
  s->buckets[i] = p;
  p->prev = s->tail;
  if (s->tail != NULL)
    s->tail->next = p;
  else
    s->head = p;
  s->tail = p;
  s->count++;
  session_grow(s);
  return p;
}

static void list_unlink(struct fetch_session *s, struct fetch_session_partition *p) {
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    s->head = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  else
    s->tail = p->prev;
  p->prev = p->next = NULL;
}

void fetch_session_partition_remove(struct fetch_session *s, struct fetch_session_partition *p) {
  struct fetch_session_partition **pp = &s->buckets[partition_bucket(
      s, &p->topic_id, p->topic, p->topic != NULL ? strlen(p->topic) : 0, p->partition)];
  while (*pp != p) pp = &(*pp)->hash_next;
  *pp = p->hash_next;
  list_unlink(s, p);
  s->count--;
  free(p->topic);
  free(p);
}

void fetch_session_partition_move_to_end(struct fetch_session *s,
                                         struct fetch_session_partition *p) {
  if (s->tail == p) return;
  list_unlink(s, p);
  p->prev = s->tail;
  s->tail->next = p;
  s->tail = p;
}

bool fetch_session_partition_respond(struct fetch_session_partition *p,
                                     const struct fetch_session_response_data *r, bool update) {
  bool must = r->records_size > 0 || r->preferred_read_replica || r->diverging_epoch;
  if (p->high_watermark != r->high_watermark) {
    must = true;
    if (update) p->high_watermark = r->high_watermark;
  }
  if (p->log_start_offset != r->log_start_offset) {
    must = true;
    if (update) p->log_start_offset = r->log_start_offset;
  }
  if (r->error != 0) {
    must = true;
    if (update) p->high_watermark = -1;
  }
  return must;
}
