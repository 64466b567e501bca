/* Fetch sessions and their cache (KIP-227): epochs, partitions by id and by name, what an
 * incremental response must carry, and Kafka's eviction rules (FetchSessionCacheTest's cases:
 * stale sessions go first, privileged newcomers evict unprivileged sessions, bigger newcomers
 * evict smaller sessions once those are older than the eviction time, young sessions only go by
 * being idle). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch_session.h"

#define EVICTION_MS 100

static struct fetch_session_cache *cache_new(int32_t slots) {
  struct fetch_session_cache *c = NULL;
  ck_assert_int_eq(fetch_session_cache_create(slots, EVICTION_MS, 42, &c), 0);
  return c;
}

static struct wire_uuid uuid_of(uint8_t n) {
  struct wire_uuid u;
  memset(u.b, 0, sizeof(u.b));
  u.b[0] = n;
  u.b[15] = (uint8_t)(n * 7 + 1);
  return u;
}

/* A session of size partitions (topic ids 1..size), touched at now. */
static struct fetch_session *session_new(struct fetch_session_cache *c, int64_t now,
                                         bool privileged, size_t size) {
  struct fetch_session *s = fetch_session_create(c, now, privileged, true, size);
  if (s == NULL) return NULL;
  for (size_t i = 0; i < size; i++) {
    struct wire_uuid id = uuid_of((uint8_t)(i + 1));
    ck_assert_ptr_nonnull(fetch_session_partition_add(s, &id, NULL, 0, 0));
  }
  fetch_session_touch(c, s, now);
  return s;
}

START_TEST(epochs_follow_kafkas_fetch_metadata) {
  ck_assert_int_eq(fetch_session_next_epoch(0), 1);
  ck_assert_int_eq(fetch_session_next_epoch(1), 2);
  ck_assert_int_eq(fetch_session_next_epoch(INT32_MAX), 1);
  ck_assert_int_eq(fetch_session_next_epoch(-1), -1);
  ck_assert_int_eq(fetch_session_next_epoch(-7), -1);
}
END_TEST

START_TEST(a_new_session_has_epoch_one_and_a_unique_positive_id) {
  struct fetch_session_cache *c = cache_new(1000);
  int32_t ids[500];
  for (int i = 0; i < 500; i++) {
    struct fetch_session *s = session_new(c, 0, false, 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(fetch_session_epoch(s), 1);
    ids[i] = fetch_session_id(s);
    ck_assert_int_gt(ids[i], 0);
    for (int j = 0; j < i; j++) ck_assert_int_ne(ids[i], ids[j]);
  }
  ck_assert_uint_eq(fetch_session_cache_count(c), 500);
  ck_assert_uint_eq(fetch_session_cache_partitions(c), 500);
  for (int i = 0; i < 500; i++) {
    struct fetch_session *s = fetch_session_find(c, ids[i]);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(fetch_session_id(s), ids[i]);
    if (i % 2 == 0) fetch_session_remove(c, s);
  }
  ck_assert_uint_eq(fetch_session_cache_count(c), 250);
  ck_assert_uint_eq(fetch_session_cache_partitions(c), 250);
  for (int i = 0; i < 500; i++)
    ck_assert(fetch_session_find(c, ids[i]) == NULL ? i % 2 == 0 : i % 2 == 1);
  ck_assert_ptr_null(fetch_session_find(c, 0));
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(serials_tell_a_reused_id_apart) {
  struct fetch_session_cache *c = cache_new(10);
  struct fetch_session *a = session_new(c, 0, false, 1);
  struct fetch_session *b = session_new(c, 0, false, 1);
  ck_assert_uint_ne(fetch_session_serial(a), fetch_session_serial(b));
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(partitions_by_id_keep_their_order_and_move_to_the_end) {
  struct fetch_session_cache *c = cache_new(10);
  struct fetch_session *s = fetch_session_create(c, 0, false, true, 0);
  struct wire_uuid a = uuid_of(1), b = uuid_of(2);
  struct fetch_session_partition *a0 = fetch_session_partition_add(s, &a, NULL, 0, 0);
  struct fetch_session_partition *a1 = fetch_session_partition_add(s, &a, NULL, 0, 1);
  struct fetch_session_partition *b0 = fetch_session_partition_add(s, &b, NULL, 0, 0);
  ck_assert_ptr_eq(fetch_session_partition_find(s, &a, NULL, 0, 1), a1);
  ck_assert_ptr_eq(fetch_session_partition_find(s, &b, NULL, 0, 0), b0);
  ck_assert_ptr_null(fetch_session_partition_find(s, &b, NULL, 0, 1));
  /* the name does not matter in an id session */
  ck_assert_ptr_eq(fetch_session_partition_find(s, &a, "other", 5, 0), a0);
  ck_assert_int_eq(a0->high_watermark, -1);
  ck_assert_int_eq(a0->log_start_offset, -1);
  fetch_session_partition_move_to_end(s, a0);
  struct fetch_session_partition *order[3];
  size_t n = 0;
  for (struct fetch_session_partition *p = fetch_session_first(s); p != NULL; p = p->next)
    order[n++] = p;
  ck_assert_uint_eq(n, 3);
  ck_assert_ptr_eq(order[0], a1);
  ck_assert_ptr_eq(order[1], b0);
  ck_assert_ptr_eq(order[2], a0);
  fetch_session_partition_remove(s, b0);
  ck_assert_ptr_null(fetch_session_partition_find(s, &b, NULL, 0, 0));
  ck_assert_uint_eq(fetch_session_size(s), 2);
  ck_assert_ptr_eq(fetch_session_first(s)->next, a0);
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(partitions_by_name_in_a_name_session) {
  struct fetch_session_cache *c = cache_new(10);
  struct fetch_session *s = fetch_session_create(c, 0, false, false, 0);
  ck_assert(!fetch_session_uses_topic_ids(s));
  struct fetch_session_partition *p = fetch_session_partition_add(s, NULL, "orders", 6, 3);
  ck_assert_ptr_nonnull(p);
  ck_assert_str_eq(p->topic, "orders");
  ck_assert_ptr_eq(fetch_session_partition_find(s, NULL, "orders", 6, 3), p);
  ck_assert_ptr_null(fetch_session_partition_find(s, NULL, "order", 5, 3));
  ck_assert_ptr_null(fetch_session_partition_find(s, NULL, "orders", 6, 4));
  ck_assert_ptr_null(fetch_session_partition_find(s, NULL, NULL, 0, 3));
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(many_partitions_stay_findable) {
  struct fetch_session_cache *c = cache_new(10);
  struct fetch_session *s = fetch_session_create(c, 0, false, false, 0);
  char name[32];
  for (int i = 0; i < 3000; i++) {
    int len = snprintf(name, sizeof(name), "topic-%d", i % 300);
    ck_assert_ptr_nonnull(fetch_session_partition_add(s, NULL, name, (size_t)len, i / 300));
  }
  for (int i = 0; i < 3000; i += 7) {
    int len = snprintf(name, sizeof(name), "topic-%d", i % 300);
    struct fetch_session_partition *p =
        fetch_session_partition_find(s, NULL, name, (size_t)len, i / 300);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->partition, i / 300);
    fetch_session_partition_remove(s, p);
  }
  ck_assert_uint_eq(fetch_session_size(s), 3000 - 429);
  fetch_session_touch(c, s, 1);
  ck_assert_uint_eq(fetch_session_cache_partitions(c), 3000 - 429);
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(an_incremental_response_carries_only_changes_and_errors) {
  struct fetch_session_cache *c = cache_new(10);
  struct fetch_session *s = fetch_session_create(c, 0, false, true, 1);
  struct wire_uuid id = uuid_of(1);
  struct fetch_session_partition *p = fetch_session_partition_add(s, &id, NULL, 0, 0);
  struct fetch_session_response_data r = {0, 10, 0, 0, false, false};
  /* new in the session: its values were never sent */
  ck_assert(fetch_session_partition_respond(p, &r, false));
  ck_assert_int_eq(p->high_watermark, -1); /* not updated */
  ck_assert(fetch_session_partition_respond(p, &r, true));
  ck_assert_int_eq(p->high_watermark, 10);
  ck_assert_int_eq(p->log_start_offset, 0);
  ck_assert(!fetch_session_partition_respond(p, &r, true)); /* nothing changed */
  r.records_size = 100;
  ck_assert(fetch_session_partition_respond(p, &r, true)); /* records */
  r.records_size = 0;
  r.log_start_offset = 4;
  ck_assert(fetch_session_partition_respond(p, &r, true)); /* log start moved */
  ck_assert(!fetch_session_partition_respond(p, &r, true));
  r.diverging_epoch = true;
  ck_assert(fetch_session_partition_respond(p, &r, true));
  r.diverging_epoch = false;
  r.preferred_read_replica = true;
  ck_assert(fetch_session_partition_respond(p, &r, true));
  r.preferred_read_replica = false;
  /* an error always goes, and the partition goes again once the error is gone */
  struct fetch_session_response_data e = {1, -1, -1, 0, false, false};
  ck_assert(fetch_session_partition_respond(p, &e, true));
  ck_assert_int_eq(p->high_watermark, -1);
  ck_assert(fetch_session_partition_respond(p, &r, true));
  ck_assert(!fetch_session_partition_respond(p, &r, true));
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(no_slots_no_sessions) {
  struct fetch_session_cache *c = cache_new(0);
  ck_assert_ptr_null(session_new(c, 0, false, 1));
  ck_assert_ptr_null(session_new(c, 0, true, 10));
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(young_sessions_are_kept_from_consumer_newcomers) {
  struct fetch_session_cache *c = cache_new(2);
  ck_assert_ptr_nonnull(session_new(c, 0, false, 1));
  ck_assert_ptr_nonnull(session_new(c, 0, false, 3));
  /* both young (not older than the eviction time): a bigger newcomer cannot evict them */
  ck_assert_ptr_null(session_new(c, 50, false, 5));
  ck_assert_uint_eq(fetch_session_cache_evictions(c), 0);
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(bigger_newcomers_evict_the_smallest_old_session) {
  struct fetch_session_cache *c = cache_new(2);
  struct fetch_session *s1 = session_new(c, 0, false, 1);
  struct fetch_session *s2 = session_new(c, 0, false, 3);
  int32_t id1 = fetch_session_id(s1), id2 = fetch_session_id(s2);
  /* used again after the eviction time: old, so evictable by any newcomer, but not stale */
  fetch_session_touch(c, s1, 150);
  fetch_session_touch(c, s2, 150);
  ck_assert_ptr_null(session_new(c, 160, false, 0)); /* smaller than both */
  struct fetch_session *s3 = session_new(c, 160, false, 2);
  ck_assert_ptr_nonnull(s3);
  ck_assert_ptr_null(fetch_session_find(c, id1)); /* the smallest went */
  ck_assert_ptr_nonnull(fetch_session_find(c, id2));
  ck_assert_uint_eq(fetch_session_cache_evictions(c), 1);
  /* s3 is young; s2 (3 partitions) is worth more than a newcomer of 2 */
  ck_assert_ptr_null(session_new(c, 170, false, 2));
  /* an equal-sized newcomer loses (Kafka compares (privileged, size, id) with id 0), a bigger
   * one wins */
  ck_assert_ptr_null(session_new(c, 170, false, 3));
  ck_assert_ptr_nonnull(session_new(c, 170, false, 4));
  ck_assert_ptr_null(fetch_session_find(c, id2));
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(stale_sessions_go_first) {
  struct fetch_session_cache *c = cache_new(2);
  struct fetch_session *s1 = session_new(c, 0, true, 10);
  struct fetch_session *s2 = session_new(c, 0, true, 10);
  int32_t id1 = fetch_session_id(s1), id2 = fetch_session_id(s2);
  fetch_session_touch(c, s2, 50);
  /* at 101 s1 has been idle longer than the eviction time: any newcomer takes its slot */
  ck_assert_ptr_null(session_new(c, 100, false, 0));
  ck_assert_ptr_nonnull(session_new(c, 101, false, 0));
  ck_assert_ptr_null(fetch_session_find(c, id1));
  ck_assert_ptr_nonnull(fetch_session_find(c, id2));
  fetch_session_cache_destroy(c);
}
END_TEST

START_TEST(privileged_newcomers_evict_unprivileged_sessions) {
  struct fetch_session_cache *c = cache_new(1);
  struct fetch_session *consumer = session_new(c, 0, false, 100);
  int32_t consumer_id = fetch_session_id(consumer);
  struct fetch_session *follower = session_new(c, 10, true, 1);
  ck_assert_ptr_nonnull(follower);
  ck_assert(fetch_session_privileged(follower));
  ck_assert_ptr_null(fetch_session_find(c, consumer_id));
  /* a young privileged session is safe from consumers and from other followers */
  ck_assert_ptr_null(session_new(c, 20, false, 1000));
  ck_assert_ptr_null(session_new(c, 20, true, 1000));
  /* once old, a bigger privileged newcomer may evict it */
  fetch_session_touch(c, follower, 150);
  ck_assert_ptr_null(session_new(c, 160, false, 1000));
  ck_assert_ptr_nonnull(session_new(c, 160, true, 2));
  fetch_session_cache_destroy(c);
}
END_TEST

static Suite *fetch_session_suite(void) {
  Suite *s = suite_create("fetch_session");
  TCase *tc = tcase_create("session");
  tcase_add_test(tc, epochs_follow_kafkas_fetch_metadata);
  tcase_add_test(tc, a_new_session_has_epoch_one_and_a_unique_positive_id);
  tcase_add_test(tc, serials_tell_a_reused_id_apart);
  tcase_add_test(tc, partitions_by_id_keep_their_order_and_move_to_the_end);
  tcase_add_test(tc, partitions_by_name_in_a_name_session);
  tcase_add_test(tc, many_partitions_stay_findable);
  tcase_add_test(tc, an_incremental_response_carries_only_changes_and_errors);
  suite_add_tcase(s, tc);
  TCase *ev = tcase_create("eviction");
  tcase_add_test(ev, no_slots_no_sessions);
  tcase_add_test(ev, young_sessions_are_kept_from_consumer_newcomers);
  tcase_add_test(ev, bigger_newcomers_evict_the_smallest_old_session);
  tcase_add_test(ev, stale_sessions_go_first);
  tcase_add_test(ev, privileged_newcomers_evict_unprivileged_sessions);
  suite_add_tcase(s, ev);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(fetch_session_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
