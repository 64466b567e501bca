/* Committed offsets of consumer groups (Kafka's OffsetMetadataManager): put, get, replace and
 * delete, the (topic, partition) and group id orders, thousands of groups, Kafka's expiration
 * rule (explicit expire timestamps, the Empty group's state timestamp, commit timestamps,
 * subscribed topics spared), DeleteGroups' removals, and the consumer protocol's subscription as
 * the classic group coordinator reads it (every truncation and some garbage, under ASan). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_offsets.h"

static struct wire_str S(const char *s) {
  return wire_str_of(s);
}

static struct group_offset
offset_of(int64_t offset, const char *metadata, int64_t commit_ms) {
  struct group_offset v = {offset, -1, wire_str_of(metadata), commit_ms, -1};
  return v;
}

static void put(struct group_offsets *o, const char *group, const char *topic, int32_t partition,
                int64_t offset, int64_t commit_ms) {
  struct group_offset v = offset_of(offset, "", commit_ms);
  group_offsets_put(o, S(group), S(topic), partition, &v);
}

static int64_t offset_at(const struct group_offsets *o, const char *group, const char *topic,
                         int32_t partition) {
  struct group_offset v;
  if (!group_offsets_get(o, S(group), S(topic), partition, &v)) return -100;
  return v.offset;
}

/* ---- what callbacks saw ---- */

#define SEEN_MAX 4096

struct seen {
  char topics[SEEN_MAX][32];
  int32_t partitions[SEEN_MAX];
  int64_t offsets[SEEN_MAX];
  size_t count;
};

static struct seen *seen_new(void) {
  struct seen *s = calloc(1, sizeof(*s));
  ck_assert_ptr_nonnull(s);
  return s;
}

static void seen_add(struct seen *s, struct wire_str topic, int32_t partition, int64_t offset) {
  ck_assert_uint_lt(s->count, SEEN_MAX);
  ck_assert_int_ge(topic.len, 0);
  ck_assert_int_lt(topic.len, 32);
  memcpy(s->topics[s->count], topic.ptr, (size_t)topic.len); /* ASan: still valid */
  s->topics[s->count][topic.len] = '\0';
  s->partitions[s->count] = partition;
  s->offsets[s->count] = offset;
  s->count++;
}

static void on_each(void *arg, struct wire_str topic, int32_t partition,
                    const struct group_offset *v) {
  seen_add(arg, topic, partition, v->offset);
}

static void on_removed(void *arg, struct wire_str topic, int32_t partition) {
  seen_add(arg, topic, partition, -1);
}

static bool seen_has(const struct seen *s, const char *topic, int32_t partition) {
  for (size_t i = 0; i < s->count; i++)
    if (strcmp(s->topics[i], topic) == 0 && s->partitions[i] == partition) return true;
  return false;
}

/* ---- put, get, delete ---- */

START_TEST(put_then_get_returns_every_field_and_put_again_replaces) {
  struct group_offsets *o = group_offsets_create();
  struct group_offset v = {42, 7, S("meta"), 1000, 5000}, got;
  ck_assert(!group_offsets_get(o, S("g"), S("t"), 0, &got));
  group_offsets_put(o, S("g"), S("t"), 0, &v);
  ck_assert(group_offsets_get(o, S("g"), S("t"), 0, &got));
  ck_assert_int_eq(got.offset, 42);
  ck_assert_int_eq(got.leader_epoch, 7);
  ck_assert_int_eq(got.metadata.len, 4);
  ck_assert(memcmp(got.metadata.ptr, "meta", 4) == 0);
  ck_assert_int_eq(got.commit_timestamp_ms, 1000);
  ck_assert_int_eq(got.expire_timestamp_ms, 5000);
  /* Other keys are unaffected. */
  ck_assert(!group_offsets_get(o, S("g"), S("t"), 1, &got));
  ck_assert(!group_offsets_get(o, S("g"), S("u"), 0, &got));
  ck_assert(!group_offsets_get(o, S("h"), S("t"), 0, &got));
  ck_assert(!group_offsets_get(o, S("g2"), S("t"), 0, &got));

  struct group_offset w = {43, -1, S("longer metadata"), 2000, -1};
  group_offsets_put(o, S("g"), S("t"), 0, &w);
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 1);
  ck_assert(group_offsets_get(o, S("g"), S("t"), 0, &got));
  ck_assert_int_eq(got.offset, 43);
  ck_assert_int_eq(got.leader_epoch, -1);
  ck_assert_int_eq(got.metadata.len, 15);
  ck_assert(memcmp(got.metadata.ptr, "longer metadata", 15) == 0);
  ck_assert_int_eq(got.commit_timestamp_ms, 2000);
  ck_assert_int_eq(got.expire_timestamp_ms, -1);

  /* Replacing with its own borrowed view (metadata aliasing the stored copy) is safe. */
  got.offset = 44;
  group_offsets_put(o, S("g"), S("t"), 0, &got);
  ck_assert(group_offsets_get(o, S("g"), S("t"), 0, &got));
  ck_assert_int_eq(got.offset, 44);
  ck_assert(memcmp(got.metadata.ptr, "longer metadata", 15) == 0);
  group_offsets_check(o);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(the_store_copies_the_callers_strings) {
  struct group_offsets *o = group_offsets_create();
  char group[] = "group", topic[] = "topic", meta[] = "meta";
  struct group_offset v = {1, -1, S(meta), 0, -1}, got;
  group_offsets_put(o, S(group), S(topic), 3, &v);
  memset(group, 'x', 5);
  memset(topic, 'x', 5);
  memset(meta, 'x', 4);
  ck_assert(group_offsets_get(o, S("group"), S("topic"), 3, &got));
  ck_assert(memcmp(got.metadata.ptr, "meta", 4) == 0);
  ck_assert(!group_offsets_has_group(o, S("xxxxx")));
  group_offsets_destroy(o);
}
END_TEST

START_TEST(null_and_empty_metadata_stay_apart) {
  struct group_offsets *o = group_offsets_create();
  struct group_offset null_meta = {1, -1, {NULL, -1}, 0, -1};
  struct group_offset empty_meta = {2, -1, {"", 0}, 0, -1};
  struct group_offset got;
  group_offsets_put(o, S("g"), S("t"), 0, &null_meta);
  group_offsets_put(o, S("g"), S("t"), 1, &empty_meta);
  ck_assert(group_offsets_get(o, S("g"), S("t"), 0, &got));
  ck_assert_int_lt(got.metadata.len, 0);
  ck_assert_ptr_null(got.metadata.ptr);
  ck_assert(group_offsets_get(o, S("g"), S("t"), 1, &got));
  ck_assert_int_eq(got.metadata.len, 0);
  ck_assert_ptr_nonnull(got.metadata.ptr);
  /* Replacing one by the other, and by a real string, and back. */
  group_offsets_put(o, S("g"), S("t"), 0, &empty_meta);
  ck_assert(group_offsets_get(o, S("g"), S("t"), 0, &got));
  ck_assert_int_eq(got.metadata.len, 0);
  struct group_offset some = {3, -1, S("x"), 0, -1};
  group_offsets_put(o, S("g"), S("t"), 0, &some);
  group_offsets_put(o, S("g"), S("t"), 0, &null_meta);
  ck_assert(group_offsets_get(o, S("g"), S("t"), 0, &got));
  ck_assert_int_lt(got.metadata.len, 0);
  group_offsets_check(o);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(a_null_group_or_topic_is_the_empty_one) {
  struct group_offsets *o = group_offsets_create();
  struct wire_str null = {NULL, -1};
  struct group_offset v = offset_of(5, "", 0);
  group_offsets_put(o, null, null, 0, &v);
  ck_assert_int_eq(offset_at(o, "", "", 0), 5);
  ck_assert(group_offsets_has_group(o, S("")));
  ck_assert(group_offsets_delete(o, S(""), null, 0));
  ck_assert(!group_offsets_has_group(o, null));
  group_offsets_destroy(o);
}
END_TEST

START_TEST(delete_removes_one_offset_and_forgets_an_emptied_group) {
  struct group_offsets *o = group_offsets_create();
  put(o, "g", "a", 0, 10, 0);
  put(o, "g", "a", 1, 11, 0);
  put(o, "g", "b", 0, 20, 0);
  put(o, "h", "a", 0, 30, 0);
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 3);
  ck_assert(!group_offsets_delete(o, S("g"), S("a"), 2));
  ck_assert(!group_offsets_delete(o, S("g"), S("c"), 0));
  ck_assert(!group_offsets_delete(o, S("x"), S("a"), 0));
  ck_assert(group_offsets_delete(o, S("g"), S("a"), 0));
  ck_assert(!group_offsets_delete(o, S("g"), S("a"), 0));
  ck_assert_int_eq(offset_at(o, "g", "a", 0), -100);
  ck_assert_int_eq(offset_at(o, "g", "a", 1), 11);
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 2);
  group_offsets_check(o);
  ck_assert(group_offsets_delete(o, S("g"), S("a"), 1));
  ck_assert(group_offsets_delete(o, S("g"), S("b"), 0));
  ck_assert(!group_offsets_has_group(o, S("g")));
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 0);
  ck_assert(group_offsets_has_group(o, S("h")));
  ck_assert_int_eq(offset_at(o, "h", "a", 0), 30);
  group_offsets_check(o);
  /* A forgotten group comes back with its next commit. */
  put(o, "g", "b", 0, 21, 0);
  ck_assert_int_eq(offset_at(o, "g", "b", 0), 21);
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 1);
  group_offsets_check(o);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(each_walks_topics_by_name_then_partitions_by_index) {
  struct group_offsets *o = group_offsets_create();
  /* 30 topics x 40 partitions, inserted in a scrambled order; topic "t" is a prefix of others. */
  static const char *names[] = {"t", "t1", "t10", "a", "T", "zz", "m"};
  size_t name_count = sizeof(names) / sizeof(names[0]);
  char topic[32];
  size_t total = 0;
  for (int round = 0; round < 2; round++) {
    for (size_t k = 0; k < 30 * 40; k++) {
      size_t j = (k * 7919) % (30 * 40); /* a permutation of 0..1199 */
      size_t ti = j / 40;
      int32_t p = (int32_t)(j % 40) * 3 - 20; /* negative indexes too */
      if (ti < name_count)
        snprintf(topic, sizeof(topic), "%s", names[ti]);
      else
        snprintf(topic, sizeof(topic), "topic-%03zu", ti);
      put(o, "g", topic, p, (int64_t)j + round * 10000, 0);
      if (round == 0) total++;
    }
  }
  ck_assert_uint_eq(group_offsets_count(o, S("g")), total);
  group_offsets_check(o);
  struct seen *s = seen_new();
  group_offsets_each(o, S("g"), on_each, s);
  ck_assert_uint_eq(s->count, total);
  for (size_t i = 1; i < s->count; i++) {
    int c = strcmp(s->topics[i - 1], s->topics[i]);
    ck_assert(c < 0 || (c == 0 && s->partitions[i - 1] < s->partitions[i]));
  }
  ck_assert_str_eq(s->topics[0], "T");
  ck_assert_int_eq(s->partitions[0], -20);
  ck_assert_str_eq(s->topics[s->count - 1], "zz");
  for (size_t i = 0; i < s->count; i++) ck_assert_int_ge(s->offsets[i], 10000);
  /* An unknown group has nothing to walk. */
  s->count = 0;
  group_offsets_each(o, S("nobody"), on_each, s);
  ck_assert_uint_eq(s->count, 0);
  free(s);
  group_offsets_destroy(o);
}
END_TEST

struct ids {
  char **items;
  size_t count;
};

static void on_group(void *arg, struct wire_str group) {
  struct ids *ids = arg;
  ids->items = realloc(ids->items, (ids->count + 1) * sizeof(*ids->items));
  ck_assert_ptr_nonnull(ids->items);
  ids->items[ids->count] = strndup(group.ptr, (size_t)group.len);
  ids->count++;
}

static void ids_free(struct ids *ids) {
  for (size_t i = 0; i < ids->count; i++) free(ids->items[i]);
  free(ids->items);
  ids->items = NULL;
  ids->count = 0;
}

START_TEST(thousands_of_groups_stay_findable_after_half_are_deleted) {
  enum { GROUPS = 5000, PER_GROUP = 20 };
  struct group_offsets *o = group_offsets_create();
  char group[32], topic[32];
  for (int g = 0; g < GROUPS; g++) {
    snprintf(group, sizeof(group), "group-%d", g);
    for (int k = 0; k < PER_GROUP; k++) {
      snprintf(topic, sizeof(topic), "topic-%d", k % 4);
      put(o, group, topic, k / 4, (int64_t)g * 100 + k, 0);
    }
  }
  group_offsets_check(o);
  struct ids ids = {NULL, 0};
  group_offsets_each_group(o, on_group, &ids);
  ck_assert_uint_eq(ids.count, GROUPS);
  for (size_t i = 1; i < ids.count; i++) ck_assert(strcmp(ids.items[i - 1], ids.items[i]) < 0);
  ids_free(&ids);

  /* Delete the odd groups: half by group, half offset by offset. */
  size_t removed_total = 0;
  for (int g = 1; g < GROUPS; g += 2) {
    snprintf(group, sizeof(group), "group-%d", g);
    if (g % 4 == 1) {
      removed_total += group_offsets_delete_group(o, S(group), NULL, NULL);
    } else {
      for (int k = 0; k < PER_GROUP; k++) {
        snprintf(topic, sizeof(topic), "topic-%d", k % 4);
        ck_assert(group_offsets_delete(o, S(group), S(topic), k / 4));
        removed_total++;
      }
    }
  }
  ck_assert_uint_eq(removed_total, (GROUPS / 2) * PER_GROUP);
  group_offsets_check(o);
  for (int g = 0; g < GROUPS; g++) {
    snprintf(group, sizeof(group), "group-%d", g);
    if (g % 2 == 1) {
      ck_assert(!group_offsets_has_group(o, S(group)));
      ck_assert_uint_eq(group_offsets_count(o, S(group)), 0);
      continue;
    }
    ck_assert(group_offsets_has_group(o, S(group)));
    ck_assert_uint_eq(group_offsets_count(o, S(group)), PER_GROUP);
    for (int k = 0; k < PER_GROUP; k++) {
      snprintf(topic, sizeof(topic), "topic-%d", k % 4);
      ck_assert_int_eq(offset_at(o, group, topic, k / 4), (int64_t)g * 100 + k);
    }
  }
  group_offsets_each_group(o, on_group, &ids);
  ck_assert_uint_eq(ids.count, GROUPS / 2);
  for (size_t i = 1; i < ids.count; i++) ck_assert(strcmp(ids.items[i - 1], ids.items[i]) < 0);
  ids_free(&ids);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(no_groups_no_calls) {
  struct group_offsets *o = group_offsets_create();
  struct ids ids = {NULL, 0};
  group_offsets_each_group(o, on_group, &ids);
  ck_assert_uint_eq(ids.count, 0);
  ck_assert_uint_eq(group_offsets_expire(o, S("g"), 0, 0, 100, NULL, NULL, NULL, NULL), 0);
  ck_assert_uint_eq(group_offsets_delete_group(o, S("g"), NULL, NULL), 0);
  group_offsets_check(o);
  group_offsets_destroy(o);
  group_offsets_destroy(NULL);
}
END_TEST

/* ---- expiration ---- */

#define RETENTION_MS 1000

START_TEST(an_explicit_expire_timestamp_decides_alone) {
  struct group_offsets *o = group_offsets_create();
  /* Committed long ago but with an expire timestamp in the future: kept; committed just now but
   * with one in the past: gone (v2-4's retention time overrides the retention config). */
  struct group_offset future = {1, -1, S(""), 0, 5000};
  struct group_offset past = {2, -1, S(""), 4999, 4000};
  struct group_offset at_now = {3, -1, S(""), 4999, 4500};
  group_offsets_put(o, S("g"), S("t"), 0, &future);
  group_offsets_put(o, S("g"), S("t"), 1, &past);
  group_offsets_put(o, S("g"), S("t"), 2, &at_now);
  struct seen *s = seen_new();
  ck_assert_uint_eq(
      group_offsets_expire(o, S("g"), -1, RETENTION_MS, 4500, NULL, NULL, on_removed, s), 2);
  ck_assert_uint_eq(s->count, 2);
  ck_assert(seen_has(s, "t", 1));
  ck_assert(seen_has(s, "t", 2)); /* now_ms >= expire timestamp */
  ck_assert_int_eq(offset_at(o, "g", "t", 0), 1);
  /* Even an Empty group's base time does not expire it before its timestamp. */
  ck_assert_uint_eq(group_offsets_expire(o, S("g"), 0, RETENTION_MS, 4999, NULL, NULL, NULL, NULL),
                    0);
  ck_assert_uint_eq(group_offsets_expire(o, S("g"), -1, RETENTION_MS, 5000, NULL, NULL, NULL, NULL),
                    1);
  ck_assert(!group_offsets_has_group(o, S("g")));
  group_offsets_check(o);
  free(s);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(an_empty_groups_offsets_expire_from_its_state_timestamp) {
  struct group_offsets *o = group_offsets_create();
  /* Commits at 100 and 900; the group became Empty at 2000: both expire once 2000 + retention
   * has passed, however recent the commits are. */
  put(o, "g", "t", 0, 1, 100);
  put(o, "g", "t", 1, 2, 2500); /* committed after the group became Empty */
  ck_assert_uint_eq(
      group_offsets_expire(o, S("g"), 2000, RETENTION_MS, 2999, NULL, NULL, NULL, NULL), 0);
  struct seen *s = seen_new();
  ck_assert_uint_eq(
      group_offsets_expire(o, S("g"), 2000, RETENTION_MS, 3000, NULL, NULL, on_removed, s), 2);
  ck_assert_uint_eq(s->count, 2);
  ck_assert(!group_offsets_has_group(o, S("g")));
  free(s);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(without_a_base_offsets_expire_from_their_commit_timestamp) {
  struct group_offsets *o = group_offsets_create();
  put(o, "g", "a", 0, 1, 100);
  put(o, "g", "a", 1, 2, 500);
  put(o, "g", "b", 0, 3, 99);
  put(o, "g", "b", 1, 4, 1000);
  put(o, "other", "a", 0, 5, 0); /* another group is never touched */
  struct seen *s = seen_new();
  ck_assert_uint_eq(
      group_offsets_expire(o, S("g"), -1, RETENTION_MS, 1100, NULL, NULL, on_removed, s), 2);
  ck_assert_uint_eq(s->count, 2);
  ck_assert_str_eq(s->topics[0], "a"); /* in (topic, partition) order */
  ck_assert_int_eq(s->partitions[0], 0);
  ck_assert_str_eq(s->topics[1], "b");
  ck_assert_int_eq(s->partitions[1], 0);
  ck_assert_int_eq(offset_at(o, "g", "a", 1), 2);
  ck_assert_int_eq(offset_at(o, "g", "b", 1), 4);
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 2);
  ck_assert_int_eq(offset_at(o, "other", "a", 0), 5);
  group_offsets_check(o);
  /* A replaced commit restarts its clock. */
  put(o, "g", "a", 1, 6, 1400);
  ck_assert_uint_eq(group_offsets_expire(o, S("g"), -1, RETENTION_MS, 2000, NULL, NULL, NULL, NULL),
                    1);
  ck_assert_int_eq(offset_at(o, "g", "a", 1), 6);
  ck_assert_int_eq(offset_at(o, "g", "b", 1), -100);
  group_offsets_check(o);
  free(s);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(age_arithmetic_wraps_as_javas_long) {
  struct group_offsets *o = group_offsets_create();
  /* now - commit overflows: Java wraps to a negative age, so the offset is not expired (and
   * UBSan sees no signed overflow). */
  put(o, "g", "t", 0, 1, INT64_MIN + 5);
  ck_assert_uint_eq(
      group_offsets_expire(o, S("g"), -1, RETENTION_MS, INT64_MAX - 5, NULL, NULL, NULL, NULL), 0);
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 1);
  group_offsets_destroy(o);
}
END_TEST

static bool keep_topic_a(void *arg, struct wire_str topic) {
  int *asked = arg;
  (*asked)++;
  return topic.len == 1 && topic.ptr[0] == 'a';
}

START_TEST(keep_spares_the_subscribed_topics) {
  struct group_offsets *o = group_offsets_create();
  for (int32_t p = 0; p < 3; p++) {
    put(o, "g", "a", p, p, 0);
    put(o, "g", "b", p, p, 0);
    put(o, "g", "c", p, p, 0);
  }
  int asked = 0;
  struct seen *s = seen_new();
  ck_assert_uint_eq(
      group_offsets_expire(o, S("g"), -1, RETENTION_MS, 10000, keep_topic_a, &asked, on_removed, s),
      6);
  ck_assert_int_eq(asked, 3); /* once per topic */
  ck_assert_uint_eq(s->count, 6);
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 3);
  for (int32_t p = 0; p < 3; p++) {
    ck_assert_int_eq(offset_at(o, "g", "a", p), p);
    ck_assert(seen_has(s, "b", p) && seen_has(s, "c", p));
  }
  /* Not every offset expired, so the group stays (Kafka's allOffsetsExpired is false). */
  ck_assert(group_offsets_has_group(o, S("g")));
  group_offsets_check(o);
  free(s);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(expire_reports_each_removal_while_its_topic_is_still_alive) {
  struct group_offsets *o = group_offsets_create();
  char topic[32];
  for (int t = 0; t < 50; t++) {
    snprintf(topic, sizeof(topic), "topic-%02d", t);
    for (int32_t p = 0; p < 10; p++) put(o, "g", topic, p, p, (p % 2) ? 0 : 5000);
  }
  struct seen *s = seen_new();
  /* on_removed copies the topic name: ASan would catch a name freed before the call. */
  ck_assert_uint_eq(
      group_offsets_expire(o, S("g"), -1, RETENTION_MS, 2000, NULL, NULL, on_removed, s), 250);
  ck_assert_uint_eq(s->count, 250);
  for (size_t i = 0; i < s->count; i++) ck_assert_int_eq(s->partitions[i] % 2, 1);
  ck_assert_uint_eq(group_offsets_count(o, S("g")), 250);
  group_offsets_check(o);
  s->count = 0;
  ck_assert_uint_eq(
      group_offsets_expire(o, S("g"), -1, RETENTION_MS, 6000, NULL, NULL, on_removed, s), 250);
  ck_assert_uint_eq(s->count, 250);
  ck_assert(!group_offsets_has_group(o, S("g")));
  group_offsets_check(o);
  free(s);
  group_offsets_destroy(o);
}
END_TEST

START_TEST(delete_group_reports_every_offset_exactly_once) {
  struct group_offsets *o = group_offsets_create();
  char topic[32];
  for (int t = 0; t < 20; t++) {
    snprintf(topic, sizeof(topic), "t%d", t);
    for (int32_t p = 0; p < 25; p++) put(o, "doomed", topic, p, p, 0);
  }
  put(o, "kept", "t0", 0, 7, 0);
  struct seen *s = seen_new();
  ck_assert_uint_eq(group_offsets_delete_group(o, S("doomed"), on_removed, s), 500);
  ck_assert_uint_eq(s->count, 500);
  for (int t = 0; t < 20; t++) {
    snprintf(topic, sizeof(topic), "t%d", t);
    for (int32_t p = 0; p < 25; p++) {
      size_t hits = 0;
      for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->topics[i], topic) == 0 && s->partitions[i] == p) hits++;
      ck_assert_uint_eq(hits, 1);
    }
  }
  ck_assert(!group_offsets_has_group(o, S("doomed")));
  ck_assert_uint_eq(group_offsets_delete_group(o, S("doomed"), on_removed, s), 0);
  ck_assert_int_eq(offset_at(o, "kept", "t0", 0), 7);
  group_offsets_check(o);
  free(s);
  group_offsets_destroy(o);
}
END_TEST

/* ---- the consumer protocol's subscription ---- */

struct buf {
  uint8_t b[512];
  size_t len;
};

static void b_i16(struct buf *b, int16_t v) {
  b->b[b->len++] = (uint8_t)((uint16_t)v >> 8);
  b->b[b->len++] = (uint8_t)v;
}

static void b_i32(struct buf *b, int32_t v) {
  for (int s = 24; s >= 0; s -= 8) b->b[b->len++] = (uint8_t)((uint32_t)v >> s);
}

static void b_str(struct buf *b, const char *s) {
  if (s == NULL) {
    b_i16(b, -1);
    return;
  }
  b_i16(b, (int16_t)strlen(s));
  memcpy(b->b + b->len, s, strlen(s));
  b->len += strlen(s);
}

/* A subscription as Kafka's client writes it at version v (v above 3: v3's fields and then
 * whatever a later version appends). v0_end: where the v0 prefix ends. */
static void subscription_build(struct buf *b, int16_t v, const char *const *topics,
                               size_t topic_count, const char *user_data, size_t *v0_end) {
  b->len = 0;
  b_i16(b, v);
  b_i32(b, (int32_t)topic_count);
  for (size_t i = 0; i < topic_count; i++) b_str(b, topics[i]);
  if (user_data == NULL) {
    b_i32(b, -1);
  } else {
    b_i32(b, (int32_t)strlen(user_data));
    memcpy(b->b + b->len, user_data, strlen(user_data));
    b->len += strlen(user_data);
  }
  *v0_end = b->len;
  if (v >= 1) { /* owned partitions: [{topic, [int32]}] */
    b_i32(b, 2);
    b_str(b, "orders");
    b_i32(b, 2);
    b_i32(b, 0);
    b_i32(b, 3);
    b_str(b, "payments");
    b_i32(b, 0);
  }
  if (v >= 2) b_i32(b, 17); /* generation id */
  if (v >= 3) b_str(b, v == 3 ? "rack-1" : NULL);
  if (v >= 4) b_i32(b, 0x7fffffff); /* a field a future version might append */
}

struct topics_seen {
  char names[16][64];
  size_t count;
};

static void on_topic(void *arg, struct wire_str topic) {
  struct topics_seen *t = arg;
  ck_assert_uint_lt(t->count, 16);
  ck_assert_int_lt(topic.len, 64);
  if (topic.len > 0) memcpy(t->names[t->count], topic.ptr, (size_t)topic.len);
  t->names[t->count][topic.len] = '\0';
  t->count++;
}

/* Parses an exact-size heap copy of the bytes, so ASan sees any read past them. */
static int parse_exact(const uint8_t *data, size_t len, struct topics_seen *t) {
  uint8_t *copy = malloc(len > 0 ? len : 1);
  ck_assert_ptr_nonnull(copy);
  if (len > 0) memcpy(copy, data, len);
  t->count = 0;
  int rc = group_subscription_topics(len > 0 ? copy : NULL, len, on_topic, t);
  free(copy);
  return rc;
}

static const char *const TOPICS[] = {"orders", "payments", "", "orders"};

START_TEST(subscriptions_of_every_version_give_their_topics) {
  static const char *const user_data[] = {NULL, "", "assignor-data"};
  for (int16_t v = 0; v <= 3; v++) {
    for (size_t u = 0; u < 3; u++) {
      struct buf b;
      size_t v0_end;
      subscription_build(&b, v, TOPICS, 4, user_data[u], &v0_end);
      struct topics_seen t;
      ck_assert_int_eq(parse_exact(b.b, b.len, &t), 0);
      ck_assert_uint_eq(t.count, 4); /* in order, duplicates and empty names included */
      for (size_t i = 0; i < 4; i++) ck_assert_str_eq(t.names[i], TOPICS[i]);
    }
  }
  /* No topics at all. */
  struct buf b;
  size_t v0_end;
  subscription_build(&b, 1, TOPICS, 0, NULL, &v0_end);
  struct topics_seen t;
  ck_assert_int_eq(parse_exact(b.b, b.len, &t), 0);
  ck_assert_uint_eq(t.count, 0);
  /* fn may be NULL: a validity check. */
  ck_assert_int_eq(group_subscription_topics(b.b, b.len, NULL, NULL), 0);
}
END_TEST

START_TEST(later_and_negative_versions_read_as_the_v0_prefix) {
  /* A future version (more fields after v3's) and the version field's extremes: the classic
   * coordinator skips the version and reads only topics and user data. */
  static const int16_t versions[] = {4, 100, INT16_MAX, -1, INT16_MIN};
  for (size_t k = 0; k < sizeof(versions) / sizeof(versions[0]); k++) {
    struct buf b;
    size_t v0_end;
    subscription_build(&b, versions[k], TOPICS, 2, "x", &v0_end);
    struct topics_seen t;
    ck_assert_int_eq(parse_exact(b.b, b.len, &t), 0);
    ck_assert_uint_eq(t.count, 2);
    ck_assert_str_eq(t.names[0], "orders");
    ck_assert_str_eq(t.names[1], "payments");
  }
}
END_TEST

START_TEST(every_truncation_fails_cleanly_or_keeps_the_v0_prefix) {
  for (int16_t v = 0; v <= 4; v++) {
    struct buf b;
    size_t v0_end;
    subscription_build(&b, v, TOPICS, 4, "user-data", &v0_end);
    for (size_t len = 0; len <= b.len; len++) {
      struct topics_seen t;
      int rc = parse_exact(b.b, len, &t);
      if (len < v0_end) {
        ck_assert_int_eq(rc, -1);
        ck_assert_uint_eq(t.count, 0); /* fn is never called on bytes that do not parse */
      } else {
        ck_assert_int_eq(rc, 0);
        ck_assert_uint_eq(t.count, 4);
      }
    }
  }
}
END_TEST

START_TEST(garbage_subscriptions_are_refused) {
  struct topics_seen t;
  struct buf b;
  /* A null topics array. */
  b.len = 0;
  b_i16(&b, 0);
  b_i32(&b, -1);
  b_i32(&b, -1);
  ck_assert_int_eq(parse_exact(b.b, b.len, &t), -1);
  /* More topics than the bytes could hold. */
  b.len = 0;
  b_i16(&b, 0);
  b_i32(&b, INT32_MAX);
  b_i32(&b, -1);
  ck_assert_int_eq(parse_exact(b.b, b.len, &t), -1);
  b.len = 0;
  b_i16(&b, 0);
  b_i32(&b, 3); /* 3 topics need 6 bytes; 4 left, then none for user data */
  b_i16(&b, 0);
  b_i16(&b, 0);
  ck_assert_int_eq(parse_exact(b.b, b.len, &t), -1);
  /* A null topic name. */
  b.len = 0;
  b_i16(&b, 0);
  b_i32(&b, 1);
  b_str(&b, NULL);
  b_i32(&b, -1);
  ck_assert_int_eq(parse_exact(b.b, b.len, &t), -1);
  /* A topic name longer than the bytes left. */
  b.len = 0;
  b_i16(&b, 0);
  b_i32(&b, 1);
  b_i16(&b, 100);
  b_i32(&b, -1);
  ck_assert_int_eq(parse_exact(b.b, b.len, &t), -1);
  /* User data longer than the bytes left, and a negative length other than -1 (null, as in
   * Kafka's generated reader). */
  b.len = 0;
  b_i16(&b, 0);
  b_i32(&b, 1);
  b_str(&b, "t");
  b_i32(&b, 5);
  b_i32(&b, 0);
  ck_assert_int_eq(parse_exact(b.b, b.len, &t), -1);
  b.len -= 8;
  b_i32(&b, -7);
  ck_assert_int_eq(parse_exact(b.b, b.len, &t), 0);
  ck_assert_uint_eq(t.count, 1);
  /* Nothing at all, and a version alone. */
  ck_assert_int_eq(group_subscription_topics(NULL, 0, on_topic, &t), -1);
  ck_assert_int_eq(parse_exact(b.b, 2, &t), -1);

  /* Random bytes (a fixed pseudo-random sequence): never a crash or an out-of-bounds read. */
  uint32_t x = 0x9e3779b9u;
  uint8_t noise[64];
  for (int round = 0; round < 20000; round++) {
    size_t len = (size_t)(round % 64);
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      noise[i] = (uint8_t)x;
    }
    /* Small counts and lengths now and then, so that some parse further. */
    if (len >= 6 && round % 3 == 0) noise[2] = noise[3] = noise[4] = 0;
    if (len >= 8 && round % 3 == 0) noise[6] = 0;
    int rc = parse_exact(noise, len, &t);
    ck_assert(rc == 0 || rc == -1);
    if (rc == -1) ck_assert_uint_eq(t.count, 0);
  }
}
END_TEST

static Suite *group_offsets_suite(void) {
  Suite *s = suite_create("group_offsets");
  TCase *tc = tcase_create("store");
  tcase_set_timeout(tc, 60); /* thousands of groups under ASan on a busy machine */
  tcase_add_test(tc, put_then_get_returns_every_field_and_put_again_replaces);
  tcase_add_test(tc, the_store_copies_the_callers_strings);
  tcase_add_test(tc, null_and_empty_metadata_stay_apart);
  tcase_add_test(tc, a_null_group_or_topic_is_the_empty_one);
  tcase_add_test(tc, delete_removes_one_offset_and_forgets_an_emptied_group);
  tcase_add_test(tc, each_walks_topics_by_name_then_partitions_by_index);
  tcase_add_test(tc, thousands_of_groups_stay_findable_after_half_are_deleted);
  tcase_add_test(tc, no_groups_no_calls);
  suite_add_tcase(s, tc);
  TCase *ex = tcase_create("expiration");
  tcase_set_timeout(ex, 60);
  tcase_add_test(ex, an_explicit_expire_timestamp_decides_alone);
  tcase_add_test(ex, an_empty_groups_offsets_expire_from_its_state_timestamp);
  tcase_add_test(ex, without_a_base_offsets_expire_from_their_commit_timestamp);
  tcase_add_test(ex, age_arithmetic_wraps_as_javas_long);
  tcase_add_test(ex, keep_spares_the_subscribed_topics);
  tcase_add_test(ex, expire_reports_each_removal_while_its_topic_is_still_alive);
  tcase_add_test(ex, delete_group_reports_every_offset_exactly_once);
  suite_add_tcase(s, ex);
  TCase *sub = tcase_create("subscription");
  tcase_set_timeout(sub, 60);
  tcase_add_test(sub, subscriptions_of_every_version_give_their_topics);
  tcase_add_test(sub, later_and_negative_versions_read_as_the_v0_prefix);
  tcase_add_test(sub, every_truncation_fails_cleanly_or_keeps_the_v0_prefix);
  tcase_add_test(sub, garbage_subscriptions_are_refused);
  suite_add_tcase(s, sub);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(group_offsets_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
