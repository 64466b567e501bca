/* The group coordinator as the broker runs it; see groups.h.
 *
 * Partition states (enum part_state), per partition of the offsets topic:
 *   UNLOADED --(groups_start, or first use)--> LOADING --(loader reached the log end)--> LOADED
 *   LOADING --(a read or record error)--> FAILED (its groups get NOT_COORDINATOR; logged)
 * Only LOADED partitions' groups are served, and only they are written to, so a partition's
 * records are replayed completely before anything new lands in it.
 *
 * Invariants:
 *  1. Every parked tag is answered exactly once: by the state machine (run_outputs) or with
 *     NOT_COORDINATOR at shutdown.
 *  2. A write's done runs exactly once, from the event loop (write_finish), never inside
 *     groups_write or run_outputs; at shutdown, synchronously with NOT_COORDINATOR.
 *  3. The tick timer is armed for the state machine's deadline after every run_outputs. */
#include "groups.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller.h"
#include "coordinator_record.h"
#include "dispatch.h"
#include "errors.h"
#include "io.h"
#include "log.h"
#include "partitions.h"
#include "plog.h"
#include "record_batch.h"
#include "topics.h"

enum part_state { PART_UNLOADED, PART_LOADING, PART_LOADED, PART_FAILED };

struct parked {
  uint64_t tag;
  struct deferred *d;
  enum group_out_kind kind;
  groups_answer_fn *answer;
  struct parked *prev, *next;
};

struct write_op {
  struct groups *g;
  groups_written_fn *done;
  void *arg;
  int64_t required; /* the high watermark that commits the records */
  int16_t error;
  bool waiting;
  struct partition_waiter waiter;
  struct event *event;
  struct write_op *prev, *next;
};

struct groups {
  struct broker *b;
  struct group_coord *coord;
  struct group_offsets *offsets;
  struct group_outputs out;
  bool running_outputs, closing, creating_topic;
  struct event *tick_timer, *expire_timer, *loader;
  int64_t tick_at; /* INT64_MAX: not armed */
  /* the offsets topic as last seen in the image */
  struct wire_uuid topic_id;
  enum part_state *parts;
  int32_t part_count;
  int64_t load_offset; /* of the partition being loaded (the lowest LOADING one) */
  int32_t load_partition;
  uint64_t load_records;
  int64_t load_started_ms;
  uint8_t *load_buf;
  size_t load_cap;
  struct parked *parked;
  uint64_t next_tag;
  struct write_op *writes;
};

static struct groups *G(struct broker *b) { return b->groups; }

struct group_coord *groups_coord(struct broker *b) {
  return G(b)->coord;
}
struct group_offsets *groups_offsets(struct broker *b) {
  return G(b)->offsets;
}
struct group_outputs *groups_outputs(struct broker *b) {
  return &G(b)->out;
}

/* ---- partitions ---- */

/* Java's String.hashCode over the UTF-16 units of the UTF-8 id (invalid bytes count as
 * U+FFFD, as Java's decoder reads them). */
static int32_t java_hash(struct wire_str s) {
  uint32_t h = 0;
  const uint8_t *p = (const uint8_t *)s.ptr, *end = p + (s.len > 0 ? s.len : 0);
  while (p < end) {
    uint32_t cp = 0xFFFD;
    size_t n = 1;
    if (p[0] < 0x80)
      cp = p[0];
    else if ((p[0] & 0xE0) == 0xC0)
      n = 2, cp = p[0] & 0x1Fu;
    else if ((p[0] & 0xF0) == 0xE0)
      n = 3, cp = p[0] & 0x0Fu;
    else if ((p[0] & 0xF8) == 0xF0)
      n = 4, cp = p[0] & 0x07u;
    else
      n = 0;
    if (n > 1) {
      bool ok = (size_t)(end - p) >= n;
      for (size_t i = 1; ok && i < n; i++) {
        ok = (p[i] & 0xC0) == 0x80;
        cp = (cp << 6) | (p[i] & 0x3Fu);
      }
      if (!ok) cp = 0xFFFD, n = 1;
    } else if (n == 0) {
      n = 1;
    }
    p += n;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      h = 31 * h + (0xD800 + (cp >> 10));
      h = 31 * h + (0xDC00 + (cp & 0x3FF));
    } else {
      h = 31 * h + cp;
    }
  }
  return (int32_t)h;
}

int32_t groups_partition_for(struct wire_str group_id, int32_t partition_count) {
  int32_t h = java_hash(group_id);
  int32_t abs = h == INT32_MIN ? 0 : (h < 0 ? -h : h); /* Kafka's Utils.abs */
  return partition_count > 0 ? abs % partition_count : 0;
}

static const struct image_topic *offsets_topic(struct broker *b) {
  return image_topic_find(&b->image, GROUPS_OFFSETS_TOPIC, strlen(GROUPS_OFFSETS_TOPIC));
}

/* Brings parts in line with the offsets topic of the image; the topic or NULL. */
static const struct image_topic *parts_sync(struct groups *g) {
  const struct image_topic *t = offsets_topic(g->b);
  if (t == NULL) return NULL;
  bool same = memcmp(&t->id, &g->topic_id, sizeof(t->id)) == 0;
  if (!same || t->partition_count != g->part_count) {
    enum part_state *parts = realloc(g->parts, (size_t)t->partition_count * sizeof(*parts));
    if (parts == NULL) return NULL;
    for (int32_t i = same ? g->part_count : 0; i < t->partition_count; i++)
      parts[i] = PART_UNLOADED;
    g->parts = parts;
    g->part_count = t->partition_count;
    g->topic_id = t->id;
  }
  return t;
}

/* ---- creating the offsets topic (a controller operation nobody waits for) ---- */

struct create_op {
  struct controller_op op;
  struct groups *g;
};

static int create_prepare(struct controller_op *cop, struct broker *b,
                          struct batch_builder *records, int64_t now_ms) {
  const struct config *cfg = b->cfg;
  int64_t partitions = 50, rf = 1, segment = 104857600;
  config_get_int64(cfg, "offsets.topic.num.partitions", &partitions);
  config_get_int64(cfg, "offsets.topic.replication.factor", &rf);
  config_get_int64(cfg, "offsets.topic.segment.bytes", &segment);
  char segment_text[24];
  snprintf(segment_text, sizeof(segment_text), "%lld", (long long)segment);
  /* Kafka's GroupCoordinator.groupMetadataTopicConfigs */
  const struct config_override configs[] = {
      {"cleanup.policy", "compact"},
      {"compression.type", "producer"},
      {"segment.bytes", segment_text},
  };
  struct topic_spec spec = {wire_str_of(GROUPS_OFFSETS_TOPIC),
                            (int32_t)partitions,
                            (int16_t)rf,
                            0,
                            NULL,
                            NULL,
                            NULL,
                            configs,
                            (int)(sizeof(configs) / sizeof(configs[0]))};
  struct topic_created made;
  char msg[512];
  int rc = topic_create(b, &spec, false, NULL, 0, records, now_ms, &made, msg, sizeof(msg));
  if (rc < 0) return -1;
  (void)cop;
  if (rc == ERR_NONE)
    log_info("groups", "creating %s with %d partitions", GROUPS_OFFSETS_TOPIC, made.partitions);
  else if (rc != ERR_TOPIC_ALREADY_EXISTS)
    log_warn("groups", "cannot create %s: %s", GROUPS_OFFSETS_TOPIC, msg);
  return 0;
}

static void create_done(struct controller_op *cop, struct broker *b, int err) {
  struct create_op *op = cop->arg;
  (void)b;
  if (err != 0) log_warn("groups", "creating %s failed: %s", GROUPS_OFFSETS_TOPIC, strerror(-err));
  op->g->creating_topic = false; /* groups_destroy comes after the controller's */
  free(op);
}

static void create_offsets_topic(struct groups *g) {
  if (g->creating_topic || g->b->controller == NULL) return;
  struct create_op *op = calloc(1, sizeof(*op));
  if (op == NULL) return; /* the client retries */
  op->op.prepare = create_prepare;
  op->op.done = create_done;
  op->op.arg = op;
  op->g = g;
  g->creating_topic = true;
  controller_submit(g->b, &op->op);
}

int16_t groups_find(struct broker *b, struct wire_str group_id, int32_t *node_id) {
  *node_id = -1;
  struct groups *g = G(b);
  if (g == NULL || g->closing) return ERR_COORDINATOR_NOT_AVAILABLE;
  const struct image_topic *t = parts_sync(g);
  if (t == NULL) {
    create_offsets_topic(g);
    return ERR_COORDINATOR_NOT_AVAILABLE;
  }
  if (t->partition_count <= 0) return ERR_COORDINATOR_NOT_AVAILABLE;
  int32_t leader = t->partitions[groups_partition_for(group_id, t->partition_count)].leader;
  if (leader < 0) return ERR_COORDINATOR_NOT_AVAILABLE;
  *node_id = leader;
  return ERR_NONE;
}

/* ---- loading ---- */

static void loader_schedule(struct groups *g) {
  if (g->loader != NULL) event_active(g->loader, EV_TIMEOUT, 1);
}

static void part_start_load(struct groups *g, int32_t p) {
  g->parts[p] = PART_LOADING;
  loader_schedule(g);
}

int16_t groups_check(struct broker *b, struct wire_str group_id) {
  struct groups *g = G(b);
  if (g == NULL || g->closing) return ERR_COORDINATOR_NOT_AVAILABLE;
  const struct image_topic *t = parts_sync(g);
  if (t == NULL || t->partition_count <= 0) return ERR_COORDINATOR_NOT_AVAILABLE;
  int32_t p = groups_partition_for(group_id, t->partition_count);
  if (t->partitions[p].leader != b->cfg->node_id) return ERR_NOT_COORDINATOR;
  switch (g->parts[p]) {
  case PART_LOADED: return ERR_NONE;
  case PART_UNLOADED: {
    struct plog *log;
    if (partitions_get(b, t, p, &log) == ERR_NONE && plog_log_end(log) == plog_log_start(log)) {
      g->parts[p] = PART_LOADED; /* nothing to replay (a new topic) */
      return ERR_NONE;
    }
    part_start_load(g, p);
    return ERR_COORDINATOR_LOAD_IN_PROGRESS;
  }
  case PART_LOADING: return ERR_COORDINATOR_LOAD_IN_PROGRESS;
  case PART_FAILED: return ERR_NOT_COORDINATOR;
  }
  return ERR_NOT_COORDINATOR;
}

int16_t groups_loading(struct broker *b) {
  struct groups *g = G(b);
  if (g == NULL || g->closing) return ERR_COORDINATOR_NOT_AVAILABLE;
  parts_sync(g);
  for (int32_t i = 0; i < g->part_count; i++)
    if (g->parts[i] == PART_LOADING) return ERR_COORDINATOR_LOAD_IN_PROGRESS;
  return ERR_NONE;
}

/* Replays one record of the offsets topic (Kafka's GroupCoordinatorShard.replay for the
 * classic group records; types of the consumer and share protocols are skipped). */
static int load_record(struct groups *g, const struct rb_record *r, int64_t now_ms) {
  if (r->key == NULL) return -EBADMSG;
  struct wire_arena arena;
  /* decoded structs outgrow their bytes (a member of ~20 bytes is a ~150-byte struct) */
  wire_arena_init(&arena, ((size_t)r->key_size + (size_t)r->value_size) * 16 + 65536);
  struct wire_reader key = {r->key, r->key + r->key_size, &arena};
  struct wire_reader type_reader = key;
  int16_t type;
  int rc = 0;
  if (coordinator_key_read_type(&type_reader, &type) != WIRE_OK) {
    rc = -EBADMSG;
    goto done;
  }
  if (type > MSG_GROUP_GROUP_METADATA) goto done; /* not a classic group's record */
  struct wire_reader value = {r->value, r->value + (r->value != NULL ? r->value_size : 0), &arena};
  struct coordinator_record rec;
  if (coordinator_record_decode(msg_group_record_find, &key, r->value != NULL ? &value : NULL,
                                &rec) != WIRE_OK) {
    rc = -EBADMSG;
    goto done;
  }
  if (type == MSG_GROUP_GROUP_METADATA) {
    const struct msg_group_metadata_key *k = rec.key;
    if (rec.value == NULL) {
      group_unload(g->coord, k->group);
      goto done;
    }
    const struct msg_group_metadata_value *v = rec.value;
    struct group_store s = {0};
    s.group_id = k->group;
    s.protocol_type = v->protocol_type;
    s.protocol_name = v->protocol;
    s.leader = v->leader;
    s.generation_id = v->generation;
    s.state_timestamp_ms = v->current_state_timestamp;
    size_t n = v->members.count > 0 ? (size_t)v->members.count : 0;
    s.members = n > 0 ? wire_arena_alloc_array(&arena, n, sizeof(*s.members)) : NULL;
    if (n > 0 && s.members == NULL) {
      rc = -ENOMEM;
      goto done;
    }
    for (size_t i = 0; i < n; i++) {
      const struct msg_group_metadata_value_member_metadata *m = &v->members.items[i];
      s.members[i] = (struct group_store_member){
          m->member_id,         m->group_instance_id, m->client_id,    m->client_host,
          m->rebalance_timeout, m->session_timeout,   m->subscription, m->assignment};
    }
    s.member_count = n;
    group_load(g->coord, &s, now_ms, &g->out);
    goto done;
  }
  /* OffsetCommit (type 1) or its legacy form (type 0) */
  const struct msg_offset_commit_key *k = rec.key;
  if (rec.value == NULL) {
    group_offsets_delete(g->offsets, k->group, k->topic, k->partition);
    goto done;
  }
  struct group_offset o = {-1, -1, {"", 0}, -1, -1};
  if (type == MSG_GROUP_OFFSET_COMMIT) {
    const struct msg_offset_commit_value *v = rec.value;
    o = (struct group_offset){v->offset, v->leader_epoch, wire_str_or_empty(v->metadata),
                              v->commit_timestamp, v->expire_timestamp};
  } else {
    const struct msg_legacy_offset_commit_value *v = rec.value;
    o = (struct group_offset){v->offset, -1, wire_str_or_empty(v->metadata), v->commit_timestamp,
                              -1};
  }
  group_load_simple(g->coord, k->group, now_ms);
  group_offsets_put(g->offsets, k->group, k->topic, k->partition, &o);
done:
  wire_arena_free(&arena);
  return rc;
}

/* Replays the whole batches in data; *used: the bytes of whole batches seen. */
static int load_batches(struct groups *g, const uint8_t *data, size_t size, int64_t now_ms,
                        size_t *used) {
  size_t at = 0;
  while (at < size) {
    struct record_batch rb;
    int rc = rb_parse_header(data + at, size - at, &rb);
    if (rc == RB_ETRUNCATED) break;
    if (rc != RB_OK) return -EBADMSG;
    /* control batches (transaction markers) and transactional offsets: no transactions yet */
    if (!rb_is_control(&rb) && !rb_is_transactional(&rb) && rb_last_offset(&rb) >= g->load_offset) {
      struct rb_record_iter it;
      struct rb_record r;
      if (rb_records_begin(&it, &rb) != RB_OK) return -EBADMSG; /* written uncompressed */
      while ((rc = rb_records_next(&it, &r)) == RB_OK) {
        if (r.offset < g->load_offset) continue;
        rc = load_record(g, &r, now_ms);
        if (rc != 0) return rc;
        g->load_records++;
      }
      if (rc != RB_END) return -EBADMSG;
    }
    if (rb_last_offset(&rb) + 1 > g->load_offset) g->load_offset = rb_last_offset(&rb) + 1;
    at += rb_size(&rb);
  }
  *used = at;
  return 0;
}

/* One chunk of the lowest LOADING partition; schedules itself again while work remains. */
static void on_load(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  struct groups *g = arg;
  struct broker *b = g->b;
  const struct image_topic *t = parts_sync(g);
  if (t == NULL || g->closing) return;
  int32_t p = 0;
  while (p < g->part_count && g->parts[p] != PART_LOADING) p++;
  if (p == g->part_count) return;
  struct plog *log = NULL;
  if (partitions_get(b, t, p, &log) != ERR_NONE) {
    g->parts[p] = PART_FAILED; /* not ours after all: NOT_COORDINATOR */
    loader_schedule(g);
    return;
  }
  int64_t now = broker_now_ms();
  if (g->load_partition != p) {
    g->load_partition = p;
    g->load_offset = plog_log_start(log);
    g->load_records = 0;
    g->load_started_ms = now;
  }
  int64_t chunk = 5242880;
  config_get_int64(b->cfg, "offsets.load.buffer.size", &chunk);
  int rc = 0;
  if (g->load_offset < plog_log_end(log)) {
    struct plog_read_result r;
    rc = plog_read(log, g->load_offset, (uint64_t)chunk, PLOG_NEVER, &r);
    bool got = rc == 0;
    if (rc == 0 && r.size == 0) rc = -EBADMSG; /* below the log end there are batches */
    if (rc == 0) {
      if (r.size > g->load_cap) {
        uint8_t *grown = realloc(g->load_buf, r.size);
        if (grown == NULL) rc = -ENOMEM;
        if (grown != NULL) g->load_buf = grown, g->load_cap = r.size;
      }
      if (rc == 0) rc = sio_pread_full(b->io, r.fd, g->load_buf, r.size, r.position);
      size_t used = 0;
      if (rc == 0) rc = load_batches(g, g->load_buf, r.size, now, &used);
      if (rc == 0 && used == 0) rc = -EBADMSG;
    }
    if (got) plog_read_release(&r);
  }
  if (rc != 0) {
    log_error("groups", "cannot load %s-%d at offset %lld: %s", GROUPS_OFFSETS_TOPIC, p,
              (long long)g->load_offset, strerror(-rc));
    g->parts[p] = PART_FAILED;
    g->load_partition = -1;
  } else if (g->load_offset >= plog_log_end(log)) {
    g->parts[p] = PART_LOADED;
    g->load_partition = -1;
    if (g->load_records > 0)
      log_info("groups", "loaded %llu records of %s-%d in %lld ms",
               (unsigned long long)g->load_records, GROUPS_OFFSETS_TOPIC, p,
               (long long)(broker_now_ms() - g->load_started_ms));
  }
  groups_run_outputs(b);
  loader_schedule(g);
}

void groups_start(struct broker *b) {
  struct groups *g = G(b);
  if (g == NULL || parts_sync(g) == NULL) return;
  const struct image_topic *t = offsets_topic(b);
  for (int32_t i = 0; i < g->part_count; i++)
    if (g->parts[i] == PART_UNLOADED && t->partitions[i].leader == b->cfg->node_id)
      g->parts[i] = PART_LOADING;
  loader_schedule(g);
}

/* ---- records ---- */

static int add_record(struct batch_builder *bb, int16_t type, const void *key, int16_t version,
                      const void *value, int64_t now_ms) {
  const struct msg_coordinator_record_type *rt = msg_group_record_find(type);
  size_t key_size = coordinator_key_size(rt, key);
  size_t value_size = value != NULL ? coordinator_value_size(rt, version, value) : 0;
  uint8_t *buf = malloc(key_size + value_size);
  if (buf == NULL) return -ENOMEM;
  struct wire_writer w = {buf, buf + key_size, WIRE_OK, NULL};
  int rc = coordinator_key_encode(&w, rt, key);
  if (rc == WIRE_OK && value != NULL) {
    w = (struct wire_writer){buf + key_size, buf + key_size + value_size, WIRE_OK, NULL};
    rc = coordinator_value_encode(&w, rt, version, value);
  }
  if (rc == WIRE_OK)
    rc = batch_builder_add(bb, buf, (int32_t)key_size, value != NULL ? buf + key_size : NULL,
                           (int32_t)value_size, now_ms);
  else
    rc = -EINVAL;
  free(buf);
  return rc;
}

int groups_add_offset_record(struct batch_builder *bb, struct wire_str group, struct wire_str topic,
                             int32_t partition, const struct group_offset *value, int64_t now_ms) {
  struct msg_offset_commit_key key = {group, topic, partition};
  if (value == NULL) return add_record(bb, MSG_GROUP_OFFSET_COMMIT, &key, 0, NULL, now_ms);
  struct msg_offset_commit_value v;
  msg_offset_commit_value_init(&v);
  v.offset = value->offset;
  v.leader_epoch = value->leader_epoch;
  v.metadata = wire_str_or_empty(value->metadata);
  v.commit_timestamp = value->commit_timestamp_ms;
  v.expire_timestamp = value->expire_timestamp_ms;
  /* Kafka's GroupCoordinatorRecordHelpers: version 1 carries an explicit expiry, else 3 */
  int16_t version = value->expire_timestamp_ms >= 0 ? 1 : 3;
  return add_record(bb, MSG_GROUP_OFFSET_COMMIT, &key, version, &v, now_ms);
}

int groups_add_group_tombstone(struct batch_builder *bb, struct wire_str group, int64_t now_ms) {
  struct msg_group_metadata_key key = {group};
  return add_record(bb, MSG_GROUP_GROUP_METADATA, &key, 0, NULL, now_ms);
}

static int add_group_record(struct batch_builder *bb, const struct group_store *s, int64_t now_ms) {
  struct msg_group_metadata_key key = {s->group_id};
  struct msg_group_metadata_value v;
  msg_group_metadata_value_init(&v);
  v.protocol_type = wire_str_or_empty(s->protocol_type);
  v.generation = s->generation_id;
  v.protocol = s->protocol_name;
  v.leader = s->leader;
  v.current_state_timestamp = s->state_timestamp_ms;
  struct msg_group_metadata_value_member_metadata *members = NULL;
  if (s->member_count > 0) {
    members = calloc(s->member_count, sizeof(*members));
    if (members == NULL) return -ENOMEM;
  }
  for (size_t i = 0; i < s->member_count; i++) {
    const struct group_store_member *m = &s->members[i];
    msg_group_metadata_value_member_metadata_init(&members[i]);
    members[i].member_id = m->member_id;
    members[i].group_instance_id = m->group_instance_id;
    members[i].client_id = wire_str_or_empty(m->client_id);
    members[i].client_host = wire_str_or_empty(m->client_host);
    members[i].rebalance_timeout = m->rebalance_timeout_ms;
    members[i].session_timeout = m->session_timeout_ms;
    members[i].subscription = m->subscription;
    members[i].assignment = m->assignment;
  }
  v.members.count = (int32_t)s->member_count;
  v.members.items = members;
  /* Kafka writes GroupMetadataValue version 3 (static membership) */
  int rc = add_record(bb, MSG_GROUP_GROUP_METADATA, &key, 3, &v, now_ms);
  free(members);
  return rc;
}

/* ---- writes ---- */

static void write_unlink(struct write_op *w) {
  if (w->prev != NULL)
    w->prev->next = w->next;
  else
    w->g->writes = w->next;
  if (w->next != NULL) w->next->prev = w->prev;
  w->prev = w->next = NULL;
}

static void write_finish(struct write_op *w) {
  struct groups *g = w->g;
  if (w->waiting) partitions_unwait(g->b, &w->waiter);
  w->waiting = false;
  write_unlink(w);
  event_free(w->event);
  groups_written_fn *done = w->done;
  void *arg = w->arg;
  int16_t error = w->error;
  free(w);
  done(arg, g->b, error);
}

static void on_write_event(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  write_finish(arg);
}

static void on_write_wake(struct partition_waiter *pw, struct broker *b, bool gone) {
  struct write_op *w = pw->arg;
  if (gone)
    w->error = ERR_NOT_COORDINATOR;
  else if (plog_high_watermark(pw->log) < w->required)
    return;
  partitions_unwait(b, pw);
  w->waiting = false;
  event_active(w->event, EV_TIMEOUT, 1);
}

/* Kafka's CoordinatorRuntime/appendRecords error mapping for coordinator writes. */
static int16_t write_error(int rc) {
  if (rc == -EMSGSIZE) return ERR_UNKNOWN_SERVER_ERROR;
  return ERR_NOT_COORDINATOR; /* a disk error: the partition's leadership is lost in Kafka */
}

int16_t groups_write(struct broker *b, struct wire_str group_id, struct batch_builder *records,
                     groups_written_fn *done, void *arg) {
  struct groups *g = G(b);
  if (g == NULL || g->closing) return ERR_NOT_COORDINATOR;
  int16_t error = groups_check(b, group_id);
  if (error != ERR_NONE) return error;
  const struct image_topic *t = offsets_topic(b);
  int32_t p = groups_partition_for(group_id, t->partition_count);
  struct plog *log;
  error = partitions_get(b, t, p, &log);
  if (error != ERR_NONE) return ERR_NOT_COORDINATOR;
  struct write_op *w = calloc(1, sizeof(*w));
  if (w == NULL) return ERR_COORDINATOR_NOT_AVAILABLE;
  w->event = event_new(b->base, -1, 0, on_write_event, w);
  uint8_t *data = NULL;
  size_t size = 0;
  if (w->event == NULL || batch_builder_finish(records, 0, -1, &data, &size) != 0) {
    if (w->event != NULL) event_free(w->event);
    free(w);
    return ERR_COORDINATOR_NOT_AVAILABLE;
  }
  struct plog_append_info info;
  int rc = plog_append(log, data, size, t->partitions[p].leader_epoch, broker_now_ms(), &info);
  free(data);
  if (rc != 0) {
    log_error("groups", "appending to %s-%d: %s", GROUPS_OFFSETS_TOPIC, p, strerror(-rc));
    event_free(w->event);
    free(w);
    return write_error(rc);
  }
  partitions_appended(b, log);
  w->g = g;
  w->done = done;
  w->arg = arg;
  w->required = info.last_offset + 1;
  w->error = ERR_NONE;
  w->next = g->writes;
  if (w->next != NULL) w->next->prev = w;
  g->writes = w;
  if (plog_high_watermark(log) >= w->required) {
    event_active(w->event, EV_TIMEOUT, 1);
  } else {
    w->waiting = true;
    w->waiter.wake = on_write_wake;
    w->waiter.arg = w;
    partitions_wait(b, log, &w->waiter);
  }
  return ERR_NONE;
}

/* ---- the state machine's outputs ---- */

uint64_t groups_park(struct broker *b, struct deferred *d, enum group_out_kind kind,
                     groups_answer_fn *answer) {
  struct groups *g = G(b);
  struct parked *pk = calloc(1, sizeof(*pk));
  if (pk == NULL) abort(); /* a tag must be answered; the state machine aborts likewise */
  pk->tag = ++g->next_tag;
  pk->d = d;
  pk->kind = kind;
  pk->answer = answer;
  pk->next = g->parked;
  if (pk->next != NULL) pk->next->prev = pk;
  g->parked = pk;
  return pk->tag;
}

static void parked_answer(struct groups *g, struct parked *pk, const struct group_out *o) {
  if (pk->prev != NULL)
    pk->prev->next = pk->next;
  else
    g->parked = pk->next;
  if (pk->next != NULL) pk->next->prev = pk->prev;
  struct deferred *d = pk->d;
  groups_answer_fn *answer = pk->answer;
  free(pk);
  answer(d, o);
}

struct store_write {
  struct groups *g;
  uint64_t store_id;
  bool awaited;
};

static void store_written(void *arg, struct broker *b, int16_t error) {
  struct store_write *sw = arg;
  struct groups *g = sw->g;
  if (error != ERR_NONE)
    log_warn("groups", "a group metadata write failed: %s", kafka_error_name(error));
  if (sw->awaited && b->groups != NULL) {
    group_store_done(g->coord, sw->store_id, error, broker_now_ms(), &g->out);
    free(sw);
    groups_run_outputs(b);
    return;
  }
  free(sw);
}

struct failed_store {
  uint64_t store_id;
  int16_t error;
};

static void tick_arm(struct groups *g) {
  int64_t at = group_deadline(g->coord);
  if (at == g->tick_at || g->tick_timer == NULL) return;
  g->tick_at = at;
  evtimer_del(g->tick_timer);
  if (at == INT64_MAX) return;
  int64_t ms = at - broker_now_ms();
  if (ms < 0) ms = 0;
  struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
  evtimer_add(g->tick_timer, &tv);
}

/* Answering a request may read the connection's next request at once (dispatch is
 * synchronous), whose handler calls the state machine again: each round therefore takes the
 * outputs over, and calls made meanwhile fill g->out for the next round. */
void groups_run_outputs(struct broker *b) {
  struct groups *g = G(b);
  if (g->running_outputs) return; /* the outer call takes the new outputs in its next round */
  g->running_outputs = true;
  struct failed_store *failed = NULL;
  size_t failed_count = 0;
  while (g->out.count > 0) {
    struct group_outputs round = g->out;
    group_outputs_init(&g->out);
    for (size_t i = 0; i < round.count; i++) {
      const struct group_out *o = &round.items[i];
      if (o->kind != GROUP_OUT_STORE) {
        struct parked *pk = g->parked;
        while (pk != NULL && pk->tag != o->tag) pk = pk->next;
        if (pk != NULL) parked_answer(g, pk, o);
        continue;
      }
      int16_t error = ERR_COORDINATOR_NOT_AVAILABLE;
      struct store_write *sw = malloc(sizeof(*sw));
      struct batch_builder bb;
      batch_builder_init(&bb, 0, -1, -1, -1);
      if (sw != NULL && add_group_record(&bb, &o->u.store, broker_now_ms()) == 0) {
        *sw = (struct store_write){g, o->u.store.store_id, o->u.store.awaited};
        error = groups_write(b, o->u.store.group_id, &bb, store_written, sw);
      }
      batch_builder_free(&bb);
      if (error == ERR_NONE) continue;
      free(sw);
      log_warn("groups", "cannot write the metadata of group %.*s: %s",
               (int)o->u.store.group_id.len, o->u.store.group_id.ptr, kafka_error_name(error));
      if (!o->u.store.awaited) continue;
      struct failed_store *grown = realloc(failed, (failed_count + 1) * sizeof(*failed));
      if (grown == NULL) abort();
      failed = grown;
      failed[failed_count++] = (struct failed_store){o->u.store.store_id, error};
    }
    group_outputs_free(&round);
    int64_t now = broker_now_ms();
    for (size_t i = 0; i < failed_count; i++)
      group_store_done(g->coord, failed[i].store_id, failed[i].error, now, &g->out);
    failed_count = 0;
  }
  free(failed);
  g->running_outputs = false;
  tick_arm(g);
}

static void on_tick(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  struct groups *g = arg;
  g->tick_at = INT64_MAX;
  group_tick(g->coord, broker_now_ms(), &g->out);
  groups_run_outputs(g->b);
}

/* ---- offset expiry (Kafka's cleanupGroupMetadata every offsets.retention.check.interval.ms)
 * ---- */

struct expiry_ctx {
  struct broker *b;
  struct wire_str group;
  struct batch_builder bb;
  size_t records;
  int64_t now;
};

static bool expiry_keep(void *arg, struct wire_str topic) {
  struct expiry_ctx *x = arg;
  return group_subscribed(x->b->groups->coord, x->group, topic);
}

static void expiry_removed(void *arg, struct wire_str topic, int32_t partition) {
  struct expiry_ctx *x = arg;
  if (groups_add_offset_record(&x->bb, x->group, topic, partition, NULL, x->now) == 0) x->records++;
}

static void expiry_written(void *arg, struct broker *b, int16_t error) {
  (void)arg;
  (void)b;
  if (error != ERR_NONE) log_warn("groups", "writing expired offsets: %s", kafka_error_name(error));
}

struct id_list {
  char **ids;
  size_t count, capacity;
};

static void id_add(struct id_list *l, struct wire_str id) {
  if (l->count == l->capacity) {
    size_t cap = l->capacity ? l->capacity * 2 : 64;
    char **grown = realloc(l->ids, cap * sizeof(*grown));
    if (grown == NULL) return;
    l->ids = grown;
    l->capacity = cap;
  }
  char *s = malloc((size_t)id.len + 1);
  if (s == NULL) return;
  memcpy(s, id.ptr, (size_t)id.len);
  s[id.len] = '\0';
  l->ids[l->count++] = s;
}

static void id_add_fn(void *arg, struct wire_str id) { id_add(arg, id); }

static void expire_group(struct groups *g, const char *id, int64_t retention_ms, int64_t now) {
  struct wire_str group = wire_str_of(id);
  if (groups_check(g->b, group) != ERR_NONE) return;
  int64_t state_ms = -1;
  enum group_expiry kind = group_offset_expiry(g->coord, group, &state_ms);
  if (kind == GROUP_EXPIRY_NONE) return;
  struct expiry_ctx x = {g->b, group, {0}, 0, now};
  batch_builder_init(&x.bb, 0, -1, -1, -1);
  size_t n = group_offsets_expire(g->offsets, group, kind == GROUP_EXPIRY_STATE ? state_ms : -1,
                                  retention_ms, now, expiry_keep, &x, expiry_removed, &x);
  enum group_state state;
  int32_t generation;
  size_t members;
  if (group_offsets_count(g->offsets, group) == 0 &&
      group_find_state(g->coord, id, &state, &generation, &members) && state == GROUP_EMPTY &&
      group_delete(g->coord, group) == ERR_NONE) {
    if (groups_add_group_tombstone(&x.bb, group, now) == 0) x.records++;
    log_info("groups", "group %s is empty and has no offsets left: deleted", id);
  }
  if (n > 0) log_info("groups", "expired %zu offsets of group %s", n, id);
  if (x.records > 0 && groups_write(g->b, group, &x.bb, expiry_written, NULL) != ERR_NONE)
    log_warn("groups", "cannot write the expiry of group %s", id);
  batch_builder_free(&x.bb);
}

static void on_expire(evutil_socket_t fd, short events, void *arg) {
  (void)fd;
  (void)events;
  struct groups *g = arg;
  int64_t minutes = 10080;
  config_get_int64(g->b->cfg, "offsets.retention.minutes", &minutes);
  int64_t now = broker_now_ms();
  struct id_list ids = {0};
  group_offsets_each_group(g->offsets, id_add_fn, &ids);
  struct wire_arena a;
  wire_arena_init(&a, (size_t)64 << 20);
  struct group_listed *listed = NULL;
  size_t count = 0;
  if (group_list(g->coord, NULL, 0, NULL, 0, &a, &listed, &count) == 0)
    for (size_t i = 0; i < count; i++) id_add(&ids, listed[i].group_id);
  wire_arena_free(&a);
  for (size_t i = 0; i < ids.count; i++) {
    expire_group(g, ids.ids[i], minutes * 60000, now);
    free(ids.ids[i]);
  }
  free(ids.ids);
  groups_run_outputs(g->b);
}

/* ---- life cycle ---- */

/* Member ids' randomness (Kafka's UUIDs come from a SecureRandom). */
static void random_bytes(void *arg, uint8_t out[16]) {
  (void)arg;
  if (RAND_bytes(out, 16) != 1) abort();
}

int groups_create(struct broker *b) {
  struct groups *g = calloc(1, sizeof(*g));
  if (g == NULL) return -ENOMEM;
  g->b = b;
  g->tick_at = INT64_MAX;
  g->load_partition = -1;
  struct group_config gc;
  group_config_default(&gc);
  int64_t v;
  if (config_get_int64(b->cfg, "group.max.size", &v) == 0) gc.max_size = (int32_t)v;
  if (config_get_int64(b->cfg, "group.initial.rebalance.delay.ms", &v) == 0)
    gc.initial_rebalance_delay_ms = (int32_t)v;
  if (config_get_int64(b->cfg, "group.min.session.timeout.ms", &v) == 0)
    gc.min_session_timeout_ms = (int32_t)v;
  if (config_get_int64(b->cfg, "group.max.session.timeout.ms", &v) == 0)
    gc.max_session_timeout_ms = (int32_t)v;
  g->coord = group_coord_create(&gc, random_bytes, NULL);
  g->offsets = group_offsets_create();
  group_outputs_init(&g->out);
  b->groups = g;
  if (b->base == NULL) return 0;
  g->tick_timer = evtimer_new(b->base, on_tick, g);
  g->expire_timer = event_new(b->base, -1, EV_PERSIST, on_expire, g);
  g->loader = event_new(b->base, -1, 0, on_load, g);
  if (g->tick_timer == NULL || g->expire_timer == NULL || g->loader == NULL) {
    groups_destroy(b);
    return -ENOMEM;
  }
  int64_t interval = 600000;
  config_get_int64(b->cfg, "offsets.retention.check.interval.ms", &interval);
  struct timeval tv = {(time_t)(interval / 1000), (suseconds_t)(interval % 1000) * 1000};
  evtimer_add(g->expire_timer, &tv);
  return 0;
}

void groups_shutdown(struct broker *b) {
  struct groups *g = G(b);
  if (g == NULL) return;
  g->closing = true;
  while (g->writes != NULL) {
    g->writes->error = ERR_NOT_COORDINATOR;
    write_finish(g->writes);
  }
  groups_run_outputs(b);
  while (g->parked != NULL) {
    const struct wire_str null_str = {NULL, -1};
    struct group_out o;
    memset(&o, 0, sizeof(o));
    o.tag = g->parked->tag;
    o.kind = g->parked->kind;
    if (o.kind == GROUP_OUT_JOIN)
      o.u.join = (struct group_join_response){
          ERR_NOT_COORDINATOR, -1, null_str, null_str, {"", 0}, {"", 0}, false, NULL, 0};
    else
      o.u.sync =
          (struct group_sync_response){ERR_NOT_COORDINATOR, null_str, null_str, {NULL, 0, NULL}};
    parked_answer(g, g->parked, &o);
  }
  if (g->tick_timer != NULL) evtimer_del(g->tick_timer);
  if (g->expire_timer != NULL) evtimer_del(g->expire_timer);
  if (g->loader != NULL) event_del(g->loader);
}

void groups_destroy(struct broker *b) {
  struct groups *g = G(b);
  if (g == NULL) return;
  groups_shutdown(b);
  if (g->tick_timer != NULL) event_free(g->tick_timer);
  if (g->expire_timer != NULL) event_free(g->expire_timer);
  if (g->loader != NULL) event_free(g->loader);
  group_coord_destroy(g->coord);
  group_offsets_destroy(g->offsets);
  group_outputs_free(&g->out);
  free(g->parts);
  free(g->load_buf);
  free(g);
  b->groups = NULL;
}
