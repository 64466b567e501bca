/* The records Quire stores in its own logs (msg_record.h, metadata_record.h,
 * coordinator_record.h):
 * - every message outside the API table (records, headers, control values) x version round-trips
 *   (fill, encode, decode, encode: same bytes, size() equal to the length; every strict prefix is
 *   refused);
 * - the family tables agree with their find functions and with msg_messages;
 * - every metadata record x version round-trips inside its KRaft frame, and every coordinator
 *   record type x value version inside its key/value framing, and truncated frames fail cleanly;
 * - golden frames whose bytes were derived by hand from Kafka's specs (not from this codec)
 *   decode to the expected fields and encode back to the same bytes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator_record.h"
#include "metadata_record.h"
#include "msg_fill.h"

#define ARENA_LIMIT (64u << 20)
#define SEEDS 8

static uint64_t seed_of(int n, int16_t v, size_t i) {
  return (uint64_t)(n + 1) * 0x9E3779B97F4A7C15ull + (uint64_t)v * 131 + i;
}

/* Fills a message of row at version from seed, allocated from arena. */
static void *fill_new(const struct msg_record_type *row, msg_fill_fn *fill, int16_t v,
                      uint64_t seed, struct wire_arena *arena) {
  struct msg_fill c = {seed, arena};
  void *m = msg_fill_alloc(&c, row->codec.struct_size);
  fill(m, v, &c);
  return m;
}

static msg_fill_fn *fill_of(const struct msg_record_type *row) {
  for (size_t i = 0; i < msg_message_count; i++)
    if (strcmp(msg_messages[i].name, row->name) == 0) return msg_fill_messages[i];
  ck_abort_msg("%s is not in msg_messages", row->name);
  return NULL;
}

/* ---- every bare message x version ---- */

START_TEST(every_message_version_round_trips) {
  int checked = 0;
  for (size_t i = 0; i < msg_message_count; i++) {
    const struct msg_record_type *row = &msg_messages[i];
    for (int16_t v = row->min_version; v <= row->max_version; v++) {
      for (int n = 0; n < SEEDS; n++) {
        struct wire_arena arena;
        wire_arena_init(&arena, ARENA_LIMIT);
        void *m = fill_new(row, msg_fill_messages[i], v, seed_of(n, v, i), &arena);
        size_t len = row->codec.size(m, v);
        uint8_t *first = malloc(len + 1), *second = malloc(len + 1);
        struct wire_writer w = {first, first + len, WIRE_OK, NULL};
        ck_assert_int_eq(row->codec.encode(m, &w, v), WIRE_OK);
        ck_assert_msg(w.p == first + len, "%s v%d: size() %zu, encode wrote %td", row->name, v, len,
                      w.p - first);

        void *back = wire_arena_alloc(&arena, row->codec.struct_size);
        struct wire_reader r = {first, first + len, &arena};
        int rc = row->codec.decode(back, &r, v);
        ck_assert_msg(rc == WIRE_OK, "%s v%d: decode: %s", row->name, v, wire_status_name(rc));
        ck_assert_msg(r.p == r.end, "%s v%d: decode left %td bytes", row->name, v, r.end - r.p);
        struct wire_writer w2 = {second, second + len, WIRE_OK, NULL};
        ck_assert_int_eq(row->codec.encode(back, &w2, v), WIRE_OK);
        ck_assert_msg(w2.p == second + len && memcmp(first, second, len) == 0,
                      "%s v%d seed %d: re-encoding differs", row->name, v, n);

        for (size_t cut = 0; cut < len; cut++) {
          uint8_t *prefix = malloc(cut + 1);
          memcpy(prefix, first, cut);
          struct wire_reader pr = {prefix, prefix + cut, &arena};
          void *partial = wire_arena_alloc(&arena, row->codec.struct_size);
          int prc = row->codec.decode(partial, &pr, v);
          ck_assert_msg(prc != WIRE_OK, "%s v%d: a %zu-byte prefix of %zu decodes", row->name, v,
                        cut, len);
          ck_assert(pr.p <= prefix + cut);
          free(prefix);
        }
        free(first);
        free(second);
        wire_arena_free(&arena);
        checked++;
      }
      /* a version outside the range is refused both ways */
      uint8_t byte = 0;
      struct wire_reader r = {&byte, &byte + 1, NULL};
      ck_assert_int_eq(row->codec.decode(NULL, &r, (int16_t)(row->max_version + 1)), WIRE_EVERSION);
    }
  }
  ck_assert_int_gt(checked, 90 * SEEDS);
}
END_TEST

/* ---- the family tables ---- */

static void check_row(const struct msg_record_type *row, int16_t key, const char *family) {
  ck_assert_int_eq(row->key, key);
  ck_assert_str_eq(row->family, family);
  ck_assert_int_le(row->min_version, row->max_version);
  bool found = false;
  for (size_t i = 0; i < msg_message_count; i++) {
    const struct msg_record_type *m = &msg_messages[i];
    if (strcmp(m->name, row->name) != 0) continue;
    found = true;
    ck_assert_int_eq(m->key, row->key);
    ck_assert_int_eq(m->max_version, row->max_version);
    ck_assert(m->codec.decode == row->codec.decode);
  }
  ck_assert_msg(found, "%s missing from msg_messages", row->name);
}

START_TEST(family_tables_agree) {
  ck_assert_uint_eq(msg_metadata_record_count, 26);
  for (size_t i = 0; i < msg_metadata_record_count; i++) {
    const struct msg_record_type *t = &msg_metadata_records[i];
    ck_assert_ptr_eq(msg_metadata_record_find(t->key), t);
    if (i > 0) ck_assert_int_lt(msg_metadata_records[i - 1].key, t->key);
    check_row(t, t->key, "metadata");
    ck_assert_int_eq(t->flexible_min, 0); /* every metadata record is flexible */
  }
  ck_assert_str_eq(msg_metadata_record_find(MSG_METADATA_TOPIC_RECORD)->name, "TopicRecord");
  ck_assert_int_eq(MSG_METADATA_TOPIC_RECORD, 2);
  ck_assert_int_eq(MSG_METADATA_PARTITION_RECORD, 3);
  ck_assert_int_eq(MSG_METADATA_FEATURE_LEVEL_RECORD, 12);
  ck_assert_int_eq(MSG_METADATA_NO_OP_RECORD, 20);
  ck_assert_ptr_null(msg_metadata_record_find(6)); /* gone from Kafka (was IsrChangeRecord) */
  ck_assert_ptr_null(msg_metadata_record_find(-1));
  ck_assert_ptr_null(msg_metadata_record_find(1000));

  for (size_t i = 0; i < msg_control_record_count; i++) {
    const struct msg_record_type *t = &msg_control_records[i];
    ck_assert_ptr_eq(msg_control_record_find(t->key), t);
    check_row(t, t->key, "control");
  }
  ck_assert_str_eq(msg_control_record_find(MSG_CONTROL_LEADER_CHANGE_MESSAGE)->name,
                   "LeaderChangeMessage");
  ck_assert_int_eq(MSG_CONTROL_SNAPSHOT_HEADER_RECORD, 3);
  ck_assert_int_eq(MSG_CONTROL_SNAPSHOT_FOOTER_RECORD, 4);
  ck_assert_int_eq(MSG_CONTROL_K_RAFT_VERSION_RECORD, 5);
  ck_assert_int_eq(MSG_CONTROL_VOTERS_RECORD, 6);
  ck_assert_ptr_null(msg_control_record_find(0)); /* ABORT: a version-prefixed EndTxnMarker */

  struct {
    const char *family;
    const struct msg_coordinator_record_type *rows;
    size_t count;
    coordinator_find_fn *find;
  } fams[] = {{"group", msg_group_records, msg_group_record_count, msg_group_record_find},
              {"txn", msg_txn_records, msg_txn_record_count, msg_txn_record_find},
              {"share", msg_share_records, msg_share_record_count, msg_share_record_find}};
  for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
    ck_assert_uint_gt(fams[f].count, 0);
    for (size_t i = 0; i < fams[f].count; i++) {
      const struct msg_coordinator_record_type *t = &fams[f].rows[i];
      ck_assert_ptr_eq(fams[f].find(t->type), t);
      check_row(&t->key, t->type, fams[f].family);
      check_row(&t->value, t->type, fams[f].family);
      /* every key message exists at version 0 only and is not flexible */
      ck_assert_int_eq(t->key.min_version, 0);
      ck_assert_int_eq(t->key.max_version, 0);
      ck_assert_int_eq(t->key.flexible_min, -1);
    }
    ck_assert_ptr_null(fams[f].find(-1));
  }
  ck_assert_str_eq(msg_group_record_find(MSG_GROUP_OFFSET_COMMIT)->name, "OffsetCommit");
  ck_assert_str_eq(msg_group_record_find(MSG_GROUP_GROUP_METADATA)->value.name,
                   "GroupMetadataValue");
  ck_assert_int_eq(msg_group_record_find(MSG_GROUP_OFFSET_COMMIT)->value.max_version, 4);
  ck_assert_str_eq(msg_txn_record_find(MSG_TXN_TRANSACTION_LOG)->key.name, "TransactionLogKey");
  ck_assert_ptr_null(msg_group_record_find(9)); /* no type 9 in Kafka 4.3 */
}
END_TEST

/* ---- KRaft metadata frames ---- */

START_TEST(every_metadata_record_round_trips_in_its_frame) {
  for (size_t i = 0; i < msg_metadata_record_count; i++) {
    const struct msg_record_type *t = &msg_metadata_records[i];
    msg_fill_fn *fill = fill_of(t);
    for (int16_t v = t->min_version; v <= t->max_version; v++) {
      for (int n = 0; n < SEEDS; n++) {
        struct wire_arena arena;
        wire_arena_init(&arena, ARENA_LIMIT);
        void *m = fill_new(t, fill, v, seed_of(n, v, i), &arena);
        size_t len = metadata_record_size(t->key, v, m);
        ck_assert_uint_eq(len, 3 + t->codec.size(m, v)); /* keys and versions < 128 */
        uint8_t *first = malloc(len), *second = malloc(len);
        struct wire_writer w = {first, first + len, WIRE_OK, NULL};
        ck_assert_int_eq(metadata_record_encode(&w, t->key, v, m), WIRE_OK);
        ck_assert(w.p == first + len);
        ck_assert_int_eq(first[0], 1);
        ck_assert_int_eq(first[1], t->key);
        ck_assert_int_eq(first[2], v);

        struct wire_reader r = {first, first + len, &arena};
        struct metadata_record rec;
        int rc = metadata_record_decode(&r, &rec);
        ck_assert_msg(rc == WIRE_OK, "%s v%d: %s", t->name, v, wire_status_name(rc));
        ck_assert_ptr_eq(rec.type, t);
        ck_assert_int_eq(rec.version, v);
        struct wire_writer w2 = {second, second + len, WIRE_OK, NULL};
        ck_assert_int_eq(metadata_record_encode(&w2, t->key, v, rec.message), WIRE_OK);
        ck_assert(w2.p == second + len && memcmp(first, second, len) == 0);

        for (size_t cut = 0; cut < len; cut++) {
          uint8_t *prefix = malloc(cut + 1);
          memcpy(prefix, first, cut);
          struct wire_reader pr = {prefix, prefix + cut, &arena};
          struct metadata_record partial;
          int prc = metadata_record_decode(&pr, &partial);
          ck_assert_msg(prc == WIRE_ETRUNCATED, "%s v%d: %zu of %zu bytes: %s", t->name, v, cut,
                        len, wire_status_name(prc));
          ck_assert_ptr_null(partial.message);
          free(prefix);
        }
        free(first);
        free(second);
        wire_arena_free(&arena);
      }
    }
  }
}
END_TEST

/* TopicRecord v0, name "t", TopicId 00 01 .. 0f, derived by hand: frame version 1, apiKey 2,
 * version 0 (unsigned varints); then, flexible: compact string (length + 1 = 2, 't'), the uuid's
 * 16 bytes, and an empty tagged-field section (count 0). */
static const uint8_t topic_record_frame[] = {
    0x01, 0x02, 0x00,                                                 /* frame, apiKey, version */
    0x02, 't',                                                        /* Name */
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, /* TopicId */
    0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x00,                               /* ... tagged fields */
};

/* PartitionChangeRecord v0, PartitionId 0, the same TopicId, Isr [1, 2] (tag 0) and Leader 3
 * (tag 1); every other tagged field at its default, so absent. Tagged fields: count 2, then each
 * as tag, size, value in tag order. */
static const uint8_t partition_change_frame[] = {
    0x01, 0x05, 0x00,                                           /* frame, apiKey 5, version 0 */
    0x00, 0x00, 0x00, 0x00,                                     /* PartitionId */
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,       /* TopicId */
    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,                   /* ... */
    0x02,                                                       /* two tagged fields */
    0x00, 0x09, 0x03, 0,    0,    0,    1,    0,    0,    0, 2, /* tag 0 Isr: 9 bytes, 2 items */
    0x01, 0x04, 0,    0,    0,    3,                            /* tag 1 Leader: 4 bytes */
};

static void encode_equals(int16_t key, int16_t version, const void *m, const uint8_t *want,
                          size_t want_len) {
  ck_assert_uint_eq(metadata_record_size(key, version, m), want_len);
  uint8_t buf[128];
  struct wire_writer w = {buf, buf + sizeof(buf), WIRE_OK, NULL};
  ck_assert_int_eq(metadata_record_encode(&w, key, version, m), WIRE_OK);
  ck_assert_uint_eq((size_t)(w.p - buf), want_len);
  ck_assert_mem_eq(buf, want, want_len);
}

START_TEST(golden_metadata_frames) {
  struct wire_uuid id;
  for (int i = 0; i < 16; i++) id.b[i] = (uint8_t)i;

  struct msg_topic_record topic;
  msg_topic_record_init(&topic);
  topic.name = wire_str_of("t");
  topic.topic_id = id;
  encode_equals(MSG_METADATA_TOPIC_RECORD, 0, &topic, topic_record_frame,
                sizeof(topic_record_frame));

  struct wire_arena arena;
  wire_arena_init(&arena, ARENA_LIMIT);
  struct wire_reader r = {topic_record_frame, topic_record_frame + sizeof(topic_record_frame),
                          &arena};
  struct metadata_record rec;
  ck_assert_int_eq(metadata_record_decode(&r, &rec), WIRE_OK);
  ck_assert_int_eq(rec.type->key, MSG_METADATA_TOPIC_RECORD);
  ck_assert_int_eq(rec.version, 0);
  const struct msg_topic_record *back = rec.message;
  ck_assert_int_eq(back->name.len, 1);
  ck_assert_int_eq(back->name.ptr[0], 't');
  ck_assert_mem_eq(back->topic_id.b, id.b, 16);
  ck_assert_uint_eq(back->unknown_tags.count, 0);

  /* the header alone, for callers that decode the message themselves */
  struct wire_reader h = {topic_record_frame, topic_record_frame + sizeof(topic_record_frame),
                          &arena};
  int16_t api_key, version;
  ck_assert_int_eq(metadata_record_read_header(&h, &api_key, &version), WIRE_OK);
  ck_assert_int_eq(api_key, 2);
  ck_assert_int_eq(version, 0);
  struct msg_topic_record direct;
  ck_assert_int_eq(msg_topic_record_decode(&direct, &h, version), WIRE_OK);
  ck_assert_uint_eq(wire_left(&h), 0);

  struct msg_partition_change_record change;
  msg_partition_change_record_init(&change);
  ck_assert_int_eq(change.leader, -2); /* defaults: NO_LEADER_CHANGE, null arrays */
  ck_assert_int_eq(change.isr.count, -1);
  int32_t isr[] = {1, 2};
  change.partition_id = 0;
  change.topic_id = id;
  change.isr.count = 2;
  change.isr.items = isr;
  change.leader = 3;
  encode_equals(MSG_METADATA_PARTITION_CHANGE_RECORD, 0, &change, partition_change_frame,
                sizeof(partition_change_frame));
  struct wire_reader pr = {partition_change_frame,
                           partition_change_frame + sizeof(partition_change_frame), &arena};
  ck_assert_int_eq(metadata_record_decode(&pr, &rec), WIRE_OK);
  const struct msg_partition_change_record *pc = rec.message;
  ck_assert_int_eq(pc->leader, 3);
  ck_assert_int_eq(pc->isr.count, 2);
  ck_assert_int_eq(pc->isr.items[1], 2);
  ck_assert_int_eq(pc->replicas.count, -1);
  ck_assert_int_eq(pc->leader_recovery_state, -1);
  wire_arena_free(&arena);
}
END_TEST

static int decode_bytes(const uint8_t *p, size_t len, struct metadata_record *rec) {
  struct wire_arena arena;
  wire_arena_init(&arena, ARENA_LIMIT);
  struct wire_reader r = {p, p + len, &arena};
  int rc = metadata_record_decode(&r, rec);
  wire_arena_free(&arena);
  return rc;
}

START_TEST(bad_metadata_frames_fail_cleanly) {
  struct metadata_record rec;
  uint8_t buf[64];
  size_t n = sizeof(topic_record_frame);
  memcpy(buf, topic_record_frame, n);

  for (size_t cut = 0; cut < n; cut++)
    ck_assert_int_eq(decode_bytes(buf, cut, &rec), WIRE_ETRUNCATED);
  ck_assert_int_eq(decode_bytes(buf, n, &rec), WIRE_OK);

  buf[n] = 0x00; /* a byte after the message: Kafka's "garbage after" */
  ck_assert_int_eq(decode_bytes(buf, n + 1, &rec), WIRE_EINVALID);
  ck_assert_ptr_null(rec.message);

  buf[0] = 0x00; /* frame version 0: the 2.8 preview, refused */
  ck_assert_int_eq(decode_bytes(buf, n, &rec), WIRE_EINVALID);
  buf[0] = 0x02; /* a frame version this codec does not know */
  ck_assert_int_eq(decode_bytes(buf, n, &rec), WIRE_EINVALID);
  buf[0] = 0x01;

  buf[1] = 0x06; /* apiKey 6: no such record */
  ck_assert_int_eq(decode_bytes(buf, n, &rec), WIRE_EINVALID);
  buf[1] = 0x02;
  buf[2] = 0x01; /* TopicRecord v1 does not exist */
  ck_assert_int_eq(decode_bytes(buf, n, &rec), WIRE_EVERSION);

  /* a header value above 32767: 0x80 0x80 0x02 = 32768 */
  const uint8_t big_key[] = {0x01, 0x80, 0x80, 0x02, 0x00, 0x00};
  ck_assert_int_eq(decode_bytes(big_key, sizeof(big_key), &rec), WIRE_EINVALID);
  /* a varint that never ends */
  const uint8_t endless[] = {0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  ck_assert_int_eq(decode_bytes(endless, sizeof(endless), &rec), WIRE_EINVALID);
  /* a name longer than the bytes left */
  const uint8_t long_name[] = {0x01, 0x02, 0x00, 0x7f, 't'};
  ck_assert_int_eq(decode_bytes(long_name, sizeof(long_name), &rec), WIRE_ETRUNCATED);

  /* the encoder refuses what it cannot frame, and a buffer too small */
  struct msg_topic_record topic;
  msg_topic_record_init(&topic);
  struct wire_writer w = {buf, buf + sizeof(buf), WIRE_OK, NULL};
  ck_assert_int_eq(metadata_record_encode(&w, 6, 0, &topic), WIRE_EINVALID);
  ck_assert_int_eq(metadata_record_encode(&w, MSG_METADATA_TOPIC_RECORD, 1, &topic), WIRE_EVERSION);
  ck_assert_ptr_eq(w.p, buf);
  ck_assert_uint_eq(metadata_record_size(6, 0, &topic), 0);
  struct wire_writer small = {buf, buf + 5, WIRE_OK, NULL};
  ck_assert_int_eq(metadata_record_encode(&small, MSG_METADATA_TOPIC_RECORD, 0, &topic),
                   WIRE_ENOSPACE);
}
END_TEST

/* ---- coordinator records ---- */

static void coordinator_round_trip(coordinator_find_fn *find,
                                   const struct msg_coordinator_record_type *t, int16_t v,
                                   uint64_t seed, bool tombstone) {
  struct wire_arena arena;
  wire_arena_init(&arena, ARENA_LIMIT);
  void *key = fill_new(&t->key, fill_of(&t->key), 0, seed, &arena);
  void *value = fill_new(&t->value, fill_of(&t->value), v, seed + 1, &arena);
  size_t klen = coordinator_key_size(t, key);
  size_t vlen = coordinator_value_size(t, v, value);
  uint8_t *kbuf = malloc(klen), *vbuf = malloc(vlen);
  struct wire_writer kw = {kbuf, kbuf + klen, WIRE_OK, NULL}, vw = {vbuf, vbuf + vlen, WIRE_OK, NULL};
  ck_assert_int_eq(coordinator_key_encode(&kw, t, key), WIRE_OK);
  ck_assert_int_eq(coordinator_value_encode(&vw, t, v, value), WIRE_OK);
  ck_assert(kw.p == kbuf + klen && vw.p == vbuf + vlen);
  ck_assert_int_eq((kbuf[0] << 8) | kbuf[1], t->type);
  ck_assert_int_eq((vbuf[0] << 8) | vbuf[1], v);

  struct wire_reader kr = {kbuf, kbuf + klen, &arena}, vr = {vbuf, vbuf + vlen, &arena};
  struct coordinator_record rec;
  int rc = coordinator_record_decode(find, &kr, tombstone ? NULL : &vr, &rec);
  ck_assert_msg(rc == WIRE_OK, "%s v%d: %s", t->name, v, wire_status_name(rc));
  ck_assert_ptr_eq(rec.type, t);
  uint8_t *k2 = malloc(klen), *v2 = malloc(vlen);
  struct wire_writer kw2 = {k2, k2 + klen, WIRE_OK, NULL};
  ck_assert_int_eq(coordinator_key_encode(&kw2, t, rec.key), WIRE_OK);
  ck_assert_mem_eq(k2, kbuf, klen);
  if (tombstone) {
    ck_assert_ptr_null(rec.value);
    ck_assert_int_eq(rec.value_version, -1);
  } else {
    ck_assert_int_eq(rec.value_version, v);
    struct wire_writer vw2 = {v2, v2 + vlen, WIRE_OK, NULL};
    ck_assert_int_eq(coordinator_value_encode(&vw2, t, v, rec.value), WIRE_OK);
    ck_assert_mem_eq(v2, vbuf, vlen);
  }

  /* every truncated key, and every truncated value, fails */
  for (size_t cut = 0; cut < klen; cut++) {
    struct wire_reader pk = {kbuf, kbuf + cut, &arena}, fv = {vbuf, vbuf + vlen, &arena};
    ck_assert_int_eq(coordinator_record_decode(find, &pk, &fv, &rec), WIRE_ETRUNCATED);
    ck_assert_ptr_null(rec.type);
  }
  for (size_t cut = 0; cut < vlen; cut++) {
    struct wire_reader fk = {kbuf, kbuf + klen, &arena}, pv = {vbuf, vbuf + cut, &arena};
    ck_assert_int_eq(coordinator_record_decode(find, &fk, &pv, &rec), WIRE_ETRUNCATED);
  }
  free(kbuf);
  free(vbuf);
  free(k2);
  free(v2);
  wire_arena_free(&arena);
}

START_TEST(every_coordinator_record_round_trips) {
  struct {
    const struct msg_coordinator_record_type *rows;
    size_t count;
    coordinator_find_fn *find;
  } fams[] = {{msg_group_records, msg_group_record_count, msg_group_record_find},
              {msg_txn_records, msg_txn_record_count, msg_txn_record_find},
              {msg_share_records, msg_share_record_count, msg_share_record_find}};
  for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++)
    for (size_t i = 0; i < fams[f].count; i++) {
      const struct msg_coordinator_record_type *t = &fams[f].rows[i];
      for (int16_t v = t->value.min_version; v <= t->value.max_version; v++)
        for (int n = 0; n < SEEDS; n++)
          coordinator_round_trip(fams[f].find, t, v, seed_of(n, v, i), n == 0);
    }
}
END_TEST

/* OffsetCommit, derived by hand from the specs: the key is the record type (int16 1), then
 * OffsetCommitKey v0 (classic strings: int16 length + bytes; int32 partition); the value is its
 * version (int16 3), then OffsetCommitValue v3: offset int64, leaderEpoch int32 (3+), metadata
 * string, commitTimestamp int64 (expireTimestamp is v1 only). */
static const uint8_t offset_commit_key[] = {
    0x00, 0x01,             /* record type 1 */
    0x00, 0x01, 'g',        /* group */
    0x00, 0x01, 't',        /* topic */
    0x00, 0x00, 0x00, 0x07, /* partition */
};
static const uint8_t offset_commit_value[] = {
    0x00, 0x03,                                     /* version 3 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, /* offset 42 */
    0x00, 0x00, 0x00, 0x05,                         /* leaderEpoch 5 */
    0x00, 0x02, 'm',  'd',                          /* metadata "md" */
    0x00, 0x00, 0x01, 0x8f, 0x00, 0x00, 0x00, 0x00, /* commitTimestamp */
};

START_TEST(golden_offset_commit_record) {
  const struct msg_coordinator_record_type *t = msg_group_record_find(MSG_GROUP_OFFSET_COMMIT);
  ck_assert_ptr_nonnull(t);
  struct msg_offset_commit_key key;
  msg_offset_commit_key_init(&key);
  key.group = wire_str_of("g");
  key.topic = wire_str_of("t");
  key.partition = 7;
  struct msg_offset_commit_value value;
  msg_offset_commit_value_init(&value);
  value.offset = 42;
  value.leader_epoch = 5;
  value.metadata = wire_str_of("md");
  value.commit_timestamp = INT64_C(0x18f00000000);

  uint8_t buf[64];
  ck_assert_uint_eq(coordinator_key_size(t, &key), sizeof(offset_commit_key));
  struct wire_writer w = {buf, buf + sizeof(buf), WIRE_OK, NULL};
  ck_assert_int_eq(coordinator_key_encode(&w, t, &key), WIRE_OK);
  ck_assert_uint_eq((size_t)(w.p - buf), sizeof(offset_commit_key));
  ck_assert_mem_eq(buf, offset_commit_key, sizeof(offset_commit_key));
  ck_assert_uint_eq(coordinator_value_size(t, 3, &value), sizeof(offset_commit_value));
  w = (struct wire_writer){buf, buf + sizeof(buf), WIRE_OK, NULL};
  ck_assert_int_eq(coordinator_value_encode(&w, t, 3, &value), WIRE_OK);
  ck_assert_uint_eq((size_t)(w.p - buf), sizeof(offset_commit_value));
  ck_assert_mem_eq(buf, offset_commit_value, sizeof(offset_commit_value));

  struct wire_arena arena;
  wire_arena_init(&arena, ARENA_LIMIT);
  struct wire_reader kr = {offset_commit_key, offset_commit_key + sizeof(offset_commit_key),
                           &arena};
  struct wire_reader vr = {offset_commit_value, offset_commit_value + sizeof(offset_commit_value),
                           &arena};
  struct coordinator_record rec;
  ck_assert_int_eq(coordinator_record_decode(msg_group_record_find, &kr, &vr, &rec), WIRE_OK);
  const struct msg_offset_commit_key *k = rec.key;
  const struct msg_offset_commit_value *v = rec.value;
  ck_assert_int_eq(k->partition, 7);
  ck_assert_int_eq(v->offset, 42);
  ck_assert_int_eq(v->leader_epoch, 5);
  ck_assert_int_eq(v->expire_timestamp, -1); /* not in v3: its default */
  ck_assert_int_eq(rec.value_version, 3);

  /* a record type the family does not know, a value version outside the range, trailing bytes */
  uint8_t bad[sizeof(offset_commit_key) + 1];
  memcpy(bad, offset_commit_key, sizeof(offset_commit_key));
  bad[1] = 9;
  kr = (struct wire_reader){bad, bad + sizeof(offset_commit_key), &arena};
  ck_assert_int_eq(coordinator_record_decode(msg_group_record_find, &kr, NULL, &rec),
                   WIRE_EINVALID);
  bad[1] = 1;
  bad[sizeof(offset_commit_key)] = 0;
  kr = (struct wire_reader){bad, bad + sizeof(bad), &arena};
  ck_assert_int_eq(coordinator_record_decode(msg_group_record_find, &kr, NULL, &rec),
                   WIRE_EINVALID);
  uint8_t v5[sizeof(offset_commit_value)];
  memcpy(v5, offset_commit_value, sizeof(v5));
  v5[1] = 5;
  kr = (struct wire_reader){offset_commit_key, offset_commit_key + sizeof(offset_commit_key),
                            &arena};
  vr = (struct wire_reader){v5, v5 + sizeof(v5), &arena};
  ck_assert_int_eq(coordinator_record_decode(msg_group_record_find, &kr, &vr, &rec), WIRE_EVERSION);
  ck_assert_int_eq(coordinator_value_encode(&w, t, 5, &value), WIRE_EVERSION);
  wire_arena_free(&arena);
}
END_TEST

/* LeaderChangeMessage v0, a control record's value (the message itself, no prefix): Version 0,
 * LeaderId 1, Voters [1], GrantingVoters [1]; compact arrays (count + 1), a tagged-field section
 * after each voter and at the end. */
static const uint8_t leader_change[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00,
                                        0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00};

START_TEST(golden_leader_change_control_record) {
  const struct msg_record_type *t = msg_control_record_find(MSG_CONTROL_LEADER_CHANGE_MESSAGE);
  struct wire_arena arena;
  wire_arena_init(&arena, ARENA_LIMIT);
  struct wire_reader r = {leader_change, leader_change + sizeof(leader_change), &arena};
  struct msg_leader_change_message m;
  ck_assert_int_eq(msg_leader_change_message_decode(&m, &r, 0), WIRE_OK);
  ck_assert_uint_eq(wire_left(&r), 0);
  ck_assert_int_eq(m.leader_id, 1);
  ck_assert_int_eq(m.voters.count, 1);
  ck_assert_int_eq(m.voters.items[0].voter_id, 1);
  ck_assert_int_eq(m.granting_voters.count, 1);
  ck_assert_uint_eq(t->codec.size(&m, 0), sizeof(leader_change));
  uint8_t buf[64];
  struct wire_writer w = {buf, buf + sizeof(buf), WIRE_OK, NULL};
  ck_assert_int_eq(t->codec.encode(&m, &w, 0), WIRE_OK);
  ck_assert_mem_eq(buf, leader_change, sizeof(leader_change));
  wire_arena_free(&arena);
}
END_TEST

int main(void) {
  Suite *s = suite_create("records");
  TCase *tc = tcase_create("all");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, every_message_version_round_trips);
  tcase_add_test(tc, family_tables_agree);
  tcase_add_test(tc, every_metadata_record_round_trips_in_its_frame);
  tcase_add_test(tc, golden_metadata_frames);
  tcase_add_test(tc, bad_metadata_frames_fail_cleanly);
  tcase_add_test(tc, every_coordinator_record_round_trips);
  tcase_add_test(tc, golden_offset_commit_record);
  tcase_add_test(tc, golden_leader_change_control_record);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
