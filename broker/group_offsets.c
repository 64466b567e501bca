/* Consumer groups' committed offsets; see group_offsets.h for how a caller uses them.
 *
 * Design note.
 *  - Groups live in a chained hash table keyed by group id (FNV-1a, power-of-two buckets,
 *    doubled when groups outnumber buckets; never shrunk). The request path (OffsetCommit of a
 *    few partitions, OffsetFetch of a group) finds its group in O(1), whatever the number of
 *    groups; only group_offsets_each_group sorts the ids, on demand.
 *  - A group holds its topics in an array sorted by name, and each topic its partitions in an
 *    array sorted by index (Kafka's group -> topic -> partition maps): a lookup is a binary search
 *    over the group's topics then over the topic's partitions; an insert or delete moves the tail
 *    of one small array. Iterating a group in (topic, partition) order is a plain walk.
 *  - Metadata is an owned copy when longer than 0 bytes; NULL with length 0 (read back as "") or
 *    -1 (null) otherwise, so the usual empty metadata costs no allocation.
 *
 * Invariants (group_offsets_check asserts them all; mutations assert their local part):
 *  1. Every group in the table has at least one offset: a group exists exactly while it has
 *     offsets (removing its last offset forgets it), so has_group is a table lookup.
 *  2. A group's topics are strictly increasing by name (so unique) and none is empty; a topic's
 *     partitions are strictly increasing by index (so unique).
 *  3. A group's offset_count is the sum of its topics' partition counts; the table's group_count
 *     is the number of groups in its chains, each in the chain its hash selects.
 *  4. metadata_len < 0 (null) or == 0 means metadata == NULL; metadata_len > 0 means an owned
 *     buffer of that many bytes.
 *
 * Transitions: group_offsets_put (group, topic, partition created as needed), and removal by
 * group_offsets_delete, group_offsets_expire and group_offsets_delete_group, which drop an
 * emptied topic and then an emptied group. */
#include "group_offsets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define BUCKETS_INITIAL 64

/* ---- state ---- */

struct poffset {
  int32_t partition;
  int32_t leader_epoch;
  int32_t metadata_len; /* < 0: null */
  char *metadata;       /* owned when metadata_len > 0, else NULL (invariant 4) */
  int64_t offset;
  int64_t commit_timestamp_ms;
  int64_t expire_timestamp_ms;
};

struct gtopic {
  char *name; /* owned */
  int32_t name_len;
  struct poffset *parts; /* sorted by partition */
  size_t count, capacity;
};

struct goffsets {
  char *id; /* owned */
  int32_t id_len;
  uint64_t hash;
  struct gtopic *topics; /* sorted by name */
  size_t topic_count, topic_capacity;
  size_t offset_count;
  struct goffsets *next; /* hash chain */
};

struct group_offsets {
  struct goffsets **buckets;
  size_t bucket_count; /* a power of two */
  size_t group_count;
};

/* ---- keys ---- */

/* A key's bytes: a null string is the empty one (see the header), and ptr is never NULL. */
struct key {
  const char *ptr;
  size_t len;
};

static struct key key_of(struct wire_str s) {
  if (s.len <= 0 || s.ptr == NULL) return (struct key){"", 0};
  return (struct key){s.ptr, (size_t)s.len};
}

/* Byte order, a prefix first (as group.c's id_cmp). */
static int bytes_cmp(const char *a, size_t a_len, const char *b, size_t b_len) {
  size_t n = a_len < b_len ? a_len : b_len;
  int r = n > 0 ? memcmp(a, b, n) : 0;
  if (r != 0) return r;
  return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

static uint64_t key_hash(struct key k) {
  uint64_t h = 14695981039346656037ULL; /* FNV-1a */
  for (size_t i = 0; i < k.len; i++) {
    h ^= (uint8_t)k.ptr[i];
    h *= 1099511628211ULL;
  }
  return h;
}

static struct wire_str view_of(const char *p, int32_t len) {
  if (len < 0) return (struct wire_str){NULL, -1};
  return (struct wire_str){len > 0 ? p : "", len};
}

static void offset_read(const struct poffset *p, struct group_offset *out) {
  out->offset = p->offset;
  out->leader_epoch = p->leader_epoch;
  out->metadata = view_of(p->metadata, p->metadata_len);
  out->commit_timestamp_ms = p->commit_timestamp_ms;
  out->expire_timestamp_ms = p->expire_timestamp_ms;
}

/* Sets p's value from v; v->metadata may point into p's old metadata, so copy, then free. */
static void offset_write(struct poffset *p, const struct group_offset *v) {
  char *old = p->metadata;
  if (v->metadata.len > 0) {
    p->metadata = xstrndup(v->metadata.ptr, (size_t)v->metadata.len);
    p->metadata_len = v->metadata.len;
  } else {
    p->metadata = NULL;
    p->metadata_len = v->metadata.len < 0 ? -1 : 0;
  }
  free(old);
  p->offset = v->offset;
  p->leader_epoch = v->leader_epoch;
  p->commit_timestamp_ms = v->commit_timestamp_ms;
  p->expire_timestamp_ms = v->expire_timestamp_ms;
}

/* ---- groups ---- */

static struct goffsets *group_find(const struct group_offsets *o, struct key id) {
  uint64_t h = key_hash(id);
  for (struct goffsets *g = o->buckets[h & (o->bucket_count - 1)]; g != NULL; g = g->next) {
    if (g->hash == h && bytes_cmp(g->id, (size_t)g->id_len, id.ptr, id.len) == 0) return g;
  }
  return NULL;
}

static void buckets_grow(struct group_offsets *o) {
  size_t count = o->bucket_count * 2;
  struct goffsets **buckets = xcalloc(count, sizeof(*buckets));
  for (size_t i = 0; i < o->bucket_count; i++) {
    struct goffsets *g = o->buckets[i];
    while (g != NULL) {
      struct goffsets *next = g->next;
      size_t b = g->hash & (count - 1);
      g->next = buckets[b];
      buckets[b] = g;
      g = next;
    }
  }
  free(o->buckets);
  o->buckets = buckets;
  o->bucket_count = count;
}

/* A new group without offsets: the caller adds one at once (invariant 1). */
static struct goffsets *group_add(struct group_offsets *o, struct key id) {
  INVARIANT(id.len <= INT32_MAX);
  if (o->group_count >= o->bucket_count) buckets_grow(o);
  struct goffsets *g = xcalloc(1, sizeof(*g));
  g->id = xstrndup(id.ptr, id.len);
  g->id_len = (int32_t)id.len;
  g->hash = key_hash(id);
  size_t b = g->hash & (o->bucket_count - 1);
  g->next = o->buckets[b];
  o->buckets[b] = g;
  o->group_count++;
  return g;
}

static void topic_free(struct gtopic *t) {
  for (size_t i = 0; i < t->count; i++) free(t->parts[i].metadata);
  free(t->parts);
  free(t->name);
}

static void group_free(struct goffsets *g) {
  for (size_t i = 0; i < g->topic_count; i++) topic_free(&g->topics[i]);
  free(g->topics);
  free(g->id);
  free(g);
}

/* Takes g out of the table and frees it. */
static void group_remove(struct group_offsets *o, struct goffsets *g) {
  struct goffsets **link = &o->buckets[g->hash & (o->bucket_count - 1)];
  while (*link != g) {
    INVARIANT(*link != NULL);
    link = &(*link)->next;
  }
  *link = g->next;
  o->group_count--;
  group_free(g);
}

/* ---- topics and partitions ---- */

static size_t topic_lower_bound(const struct goffsets *g, struct key name) {
  size_t lo = 0, hi = g->topic_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct gtopic *t = &g->topics[mid];
    if (bytes_cmp(t->name, (size_t)t->name_len, name.ptr, name.len) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct gtopic *topic_find(const struct goffsets *g, struct key name) {
  size_t i = topic_lower_bound(g, name);
  if (i == g->topic_count) return NULL;
  struct gtopic *t = &g->topics[i];
  return bytes_cmp(t->name, (size_t)t->name_len, name.ptr, name.len) == 0 ? t : NULL;
}

static size_t part_lower_bound(const struct gtopic *t, int32_t partition) {
  size_t lo = 0, hi = t->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t->parts[mid].partition < partition)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct poffset *part_find(const struct gtopic *t, int32_t partition) {
  size_t i = part_lower_bound(t, partition);
  return i < t->count && t->parts[i].partition == partition ? &t->parts[i] : NULL;
}

static int topic_cmp_at(const struct goffsets *g, size_t a, size_t b) {
  const struct gtopic *x = &g->topics[a], *y = &g->topics[b];
  return bytes_cmp(x->name, (size_t)x->name_len, y->name, (size_t)y->name_len);
}

/* The topic, added (empty) at its place when missing: the caller adds a partition at once. */
static struct gtopic *topic_get_or_add(struct goffsets *g, struct key name) {
  size_t i = topic_lower_bound(g, name);
  if (i < g->topic_count &&
      bytes_cmp(g->topics[i].name, (size_t)g->topics[i].name_len, name.ptr, name.len) == 0)
    return &g->topics[i];
  INVARIANT(name.len <= INT32_MAX);
  if (g->topic_count == g->topic_capacity) {
    g->topic_capacity = g->topic_capacity ? g->topic_capacity * 2 : 4;
    g->topics = xrealloc(g->topics, g->topic_capacity, sizeof(*g->topics));
  }
  memmove(&g->topics[i + 1], &g->topics[i], (g->topic_count - i) * sizeof(*g->topics));
  g->topic_count++;
  struct gtopic *t = &g->topics[i];
  memset(t, 0, sizeof(*t));
  t->name = xstrndup(name.ptr, name.len);
  t->name_len = (int32_t)name.len;
  INVARIANT(i == 0 || topic_cmp_at(g, i - 1, i) < 0);
  INVARIANT(i + 1 == g->topic_count || topic_cmp_at(g, i, i + 1) < 0);
  return t;
}

/* Removes the (empty) topic at index i. */
static void topic_remove_at(struct goffsets *g, size_t i) {
  INVARIANT(i < g->topic_count && g->topics[i].count == 0);
  topic_free(&g->topics[i]);
  memmove(&g->topics[i], &g->topics[i + 1], (g->topic_count - i - 1) * sizeof(*g->topics));
  g->topic_count--;
}

/* ---- the store ---- */

struct group_offsets *group_offsets_create(void) {
  struct group_offsets *o = xcalloc(1, sizeof(*o));
  o->bucket_count = BUCKETS_INITIAL;
  o->buckets = xcalloc(o->bucket_count, sizeof(*o->buckets));
  return o;
}

void group_offsets_destroy(struct group_offsets *o) {
  if (o == NULL) return;
  for (size_t i = 0; i < o->bucket_count; i++) {
    struct goffsets *g = o->buckets[i];
    while (g != NULL) {
      struct goffsets *next = g->next;
      group_free(g);
      g = next;
    }
  }
  free(o->buckets);
  free(o);
}

void group_offsets_put(struct group_offsets *o, struct wire_str group, struct wire_str topic,
                       int32_t partition, const struct group_offset *v) {
  struct key id = key_of(group), name = key_of(topic);
  struct goffsets *g = group_find(o, id);
  if (g == NULL) g = group_add(o, id);
  struct gtopic *t = topic_get_or_add(g, name);
  size_t i = part_lower_bound(t, partition);
  if (i < t->count && t->parts[i].partition == partition) {
    offset_write(&t->parts[i], v);
    return;
  }
  if (t->count == t->capacity) {
    t->capacity = t->capacity ? t->capacity * 2 : 4;
    t->parts = xrealloc(t->parts, t->capacity, sizeof(*t->parts));
  }
  memmove(&t->parts[i + 1], &t->parts[i], (t->count - i) * sizeof(*t->parts));
  t->count++;
  struct poffset *p = &t->parts[i];
  memset(p, 0, sizeof(*p));
  p->partition = partition;
  offset_write(p, v);
  g->offset_count++;
  INVARIANT(i == 0 || t->parts[i - 1].partition < partition);
  INVARIANT(i + 1 == t->count || partition < t->parts[i + 1].partition);
}

bool group_offsets_get(const struct group_offsets *o, struct wire_str group, struct wire_str topic,
                       int32_t partition, struct group_offset *out) {
  const struct goffsets *g = group_find(o, key_of(group));
  if (g == NULL) return false;
  const struct gtopic *t = topic_find(g, key_of(topic));
  if (t == NULL) return false;
  const struct poffset *p = part_find(t, partition);
  if (p == NULL) return false;
  offset_read(p, out);
  return true;
}

bool group_offsets_delete(struct group_offsets *o, struct wire_str group, struct wire_str topic,
                          int32_t partition) {
  struct goffsets *g = group_find(o, key_of(group));
  if (g == NULL) return false;
  struct key name = key_of(topic);
  size_t ti = topic_lower_bound(g, name);
  if (ti == g->topic_count) return false;
  struct gtopic *t = &g->topics[ti];
  if (bytes_cmp(t->name, (size_t)t->name_len, name.ptr, name.len) != 0) return false;
  size_t i = part_lower_bound(t, partition);
  if (i == t->count || t->parts[i].partition != partition) return false;
  free(t->parts[i].metadata);
  memmove(&t->parts[i], &t->parts[i + 1], (t->count - i - 1) * sizeof(*t->parts));
  t->count--;
  INVARIANT(g->offset_count > 0);
  g->offset_count--;
  if (t->count == 0) topic_remove_at(g, ti);
  if (g->offset_count == 0) {
    INVARIANT(g->topic_count == 0);
    group_remove(o, g);
  }
  return true;
}

void group_offsets_each(const struct group_offsets *o, struct wire_str group,
                        group_offsets_each_fn *fn, void *arg) {
  const struct goffsets *g = group_find(o, key_of(group));
  if (g == NULL) return;
  for (size_t ti = 0; ti < g->topic_count; ti++) {
    const struct gtopic *t = &g->topics[ti];
    struct wire_str name = view_of(t->name, t->name_len);
    for (size_t i = 0; i < t->count; i++) {
      struct group_offset v;
      offset_read(&t->parts[i], &v);
      fn(arg, name, t->parts[i].partition, &v);
    }
  }
}

bool group_offsets_has_group(const struct group_offsets *o, struct wire_str group) {
  return group_find(o, key_of(group)) != NULL;
}

size_t group_offsets_count(const struct group_offsets *o, struct wire_str group) {
  const struct goffsets *g = group_find(o, key_of(group));
  return g == NULL ? 0 : g->offset_count;
}

static int group_ptr_cmp(const void *a, const void *b) {
  const struct goffsets *x = *(const struct goffsets *const *)a;
  const struct goffsets *y = *(const struct goffsets *const *)b;
  return bytes_cmp(x->id, (size_t)x->id_len, y->id, (size_t)y->id_len);
}

void group_offsets_each_group(const struct group_offsets *o, group_offsets_group_fn *fn,
                              void *arg) {
  if (o->group_count == 0) return;
  const struct goffsets **groups = xmalloc(o->group_count * sizeof(*groups));
  size_t n = 0;
  for (size_t b = 0; b < o->bucket_count; b++) {
    for (const struct goffsets *g = o->buckets[b]; g != NULL; g = g->next) {
      INVARIANT(n < o->group_count);
      groups[n++] = g;
    }
  }
  INVARIANT(n == o->group_count);
  qsort(groups, n, sizeof(*groups), group_ptr_cmp);
  for (size_t i = 0; i < n; i++) fn(arg, view_of(groups[i]->id, groups[i]->id_len));
  free(groups);
}

/* ---- expiration ---- */

/* Kafka's OffsetExpirationConditionImpl.isOffsetExpired (-1 is its "no expire timestamp"). */
static bool offset_expired(const struct poffset *p, int64_t base_ms, int64_t retention_ms,
                           int64_t now_ms) {
  if (p->expire_timestamp_ms != -1) return now_ms >= p->expire_timestamp_ms;
  int64_t base = base_ms >= 0 ? base_ms : p->commit_timestamp_ms;
  /* Java's long subtraction wraps; in C only an unsigned one may. */
  int64_t age = (int64_t)((uint64_t)now_ms - (uint64_t)base);
  return age >= retention_ms;
}

size_t group_offsets_expire(struct group_offsets *o, struct wire_str group, int64_t base_ms,
                            int64_t retention_ms, int64_t now_ms, group_offsets_keep_fn *keep,
                            void *keep_arg, group_offsets_removed_fn *removed, void *removed_arg) {
  struct goffsets *g = group_find(o, key_of(group));
  if (g == NULL) return 0;
  size_t removed_count = 0, kept_topics = 0;
  for (size_t ti = 0; ti < g->topic_count; ti++) {
    struct gtopic *t = &g->topics[ti];
    struct wire_str name = view_of(t->name, t->name_len);
    if (keep == NULL || !keep(keep_arg, name)) {
      /* Compact the partitions in place: kept ones slide down over expired ones. */
      size_t kept = 0;
      for (size_t i = 0; i < t->count; i++) {
        struct poffset *p = &t->parts[i];
        if (offset_expired(p, base_ms, retention_ms, now_ms)) {
          if (removed != NULL) removed(removed_arg, name, p->partition);
          free(p->metadata);
          removed_count++;
        } else {
          t->parts[kept++] = *p;
        }
      }
      INVARIANT(g->offset_count >= t->count - kept);
      g->offset_count -= t->count - kept;
      t->count = kept;
    }
    if (t->count == 0) {
      topic_free(t); /* the name outlived every removed() call above */
    } else {
      g->topics[kept_topics++] = *t;
    }
  }
  g->topic_count = kept_topics;
  if (g->offset_count == 0) {
    INVARIANT(g->topic_count == 0);
    group_remove(o, g);
  }
  return removed_count;
}

size_t group_offsets_delete_group(struct group_offsets *o, struct wire_str group,
                                  group_offsets_removed_fn *removed, void *arg) {
  struct goffsets *g = group_find(o, key_of(group));
  if (g == NULL) return 0;
  size_t count = 0;
  for (size_t ti = 0; ti < g->topic_count; ti++) {
    const struct gtopic *t = &g->topics[ti];
    struct wire_str name = view_of(t->name, t->name_len);
    for (size_t i = 0; i < t->count; i++) {
      if (removed != NULL) removed(arg, name, t->parts[i].partition);
      count++;
    }
  }
  INVARIANT(count == g->offset_count);
  group_remove(o, g);
  return count;
}

void group_offsets_check(const struct group_offsets *o) {
  INVARIANT(o->bucket_count >= BUCKETS_INITIAL && (o->bucket_count & (o->bucket_count - 1)) == 0);
  size_t groups = 0;
  for (size_t b = 0; b < o->bucket_count; b++) {
    for (const struct goffsets *g = o->buckets[b]; g != NULL; g = g->next) {
      groups++;
      INVARIANT(g->id != NULL && g->id_len >= 0);
      INVARIANT(g->hash == key_hash((struct key){g->id, (size_t)g->id_len}));
      INVARIANT((g->hash & (o->bucket_count - 1)) == b);
      INVARIANT(g->offset_count > 0 && g->topic_count > 0); /* 1 */
      INVARIANT(g->topic_count <= g->topic_capacity);
      size_t offsets = 0;
      for (size_t ti = 0; ti < g->topic_count; ti++) {
        const struct gtopic *t = &g->topics[ti];
        INVARIANT(t->name != NULL && t->name_len >= 0);
        INVARIANT(ti == 0 || topic_cmp_at(g, ti - 1, ti) < 0); /* 2 */
        INVARIANT(t->count > 0 && t->count <= t->capacity);
        for (size_t i = 0; i < t->count; i++) {
          const struct poffset *p = &t->parts[i];
          INVARIANT(i == 0 || t->parts[i - 1].partition < p->partition);
          INVARIANT(p->metadata_len > 0 ? p->metadata != NULL : p->metadata == NULL); /* 4 */
        }
        offsets += t->count;
      }
      INVARIANT(offsets == g->offset_count); /* 3 */
    }
  }
  INVARIANT(groups == o->group_count);
}

/* ---- the consumer protocol's subscription ---- */

struct sub_reader {
  const uint8_t *p;
  size_t left;
};

static bool sub_read_i16(struct sub_reader *r, int16_t *v) {
  if (r->left < 2) return false;
  *v = (int16_t)(uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
  r->p += 2;
  r->left -= 2;
  return true;
}

static bool sub_read_i32(struct sub_reader *r, int32_t *v) {
  if (r->left < 4) return false;
  *v = (int32_t)((uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 |
                 r->p[3]);
  r->p += 4;
  r->left -= 4;
  return true;
}

static bool sub_skip(struct sub_reader *r, size_t n) {
  if (r->left < n) return false;
  r->p += n;
  r->left -= n;
  return true;
}

/* Walks the version and the v0 body (what ClassicGroup.computeSubscribedTopics reads), calling
 * fn for each topic when fn is not NULL. */
static int subscription_walk(const uint8_t *data, size_t size,
                             void (*fn)(void *arg, struct wire_str topic), void *arg) {
  struct sub_reader r = {data, data != NULL ? size : 0};
  int16_t version, len;
  int32_t count, user_data_len;
  if (!sub_read_i16(&r, &version)) return -1; /* skipped, as Kafka does: any value */
  (void)version;
  /* Topics: a non-nullable array of non-nullable strings, each at least its 2-byte length. */
  if (!sub_read_i32(&r, &count) || count < 0 || (size_t)count > r.left / 2) return -1;
  for (int32_t i = 0; i < count; i++) {
    if (!sub_read_i16(&r, &len) || len < 0) return -1;
    const char *name = (const char *)r.p;
    if (!sub_skip(&r, (size_t)len)) return -1;
    if (fn != NULL) fn(arg, (struct wire_str){name, len});
  }
  /* UserData: nullable bytes (any negative length is null, as Kafka's generated reader). */
  if (!sub_read_i32(&r, &user_data_len)) return -1;
  if (user_data_len >= 0 && !sub_skip(&r, (size_t)user_data_len)) return -1;
  return 0;
}

int group_subscription_topics(const uint8_t *data, size_t size,
                              void (*fn)(void *arg, struct wire_str topic), void *arg) {
  /* Check first, so that fn never sees the topics of bytes that turn out not to parse. */
  if (subscription_walk(data, size, NULL, NULL) != 0) return -1;
  if (fn != NULL) INVARIANT(subscription_walk(data, size, fn, arg) == 0);
  return 0;
}
