/* The group coordinator's placement and records as Kafka reads them: partitionFor (Java's
 * String.hashCode of the group id over UTF-16 units, Utils.abs, modulo the partition count; the
 * expected values come from a separate UTF-16 computation), and the OffsetCommit and
 * GroupMetadata records decoded back with the coordinator record codec (key type, value version,
 * fields, tombstones). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator_record.h"
#include "groups.h"
#include "record_batch.h"

START_TEST(partition_for_matches_java_string_hash) {
  static const struct {
    const char *id;
    int32_t partition; /* of 50 */
  } cases[] = {
      {"g1", 42},                    /* hashCode 3242 */
      {"", 0},                       /* 0 */
      {"console-consumer-12345", 6}, /* 158455506 */
      {"gr\xc3\xbc\xc3\x9f"
       "e",
       23},                          /* "grüße": 98768023, two-byte UTF-8 */
      {"\xf0\x9f\x98\x80group", 32}, /* an emoji: a surrogate pair; -1231696132 */
      {"polygenelubricants", 0},     /* Integer.MIN_VALUE: Utils.abs gives 0 */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    ck_assert_int_eq(groups_partition_for(wire_str_of(cases[i].id), 50), cases[i].partition);
  ck_assert_int_eq(groups_partition_for(wire_str_of("g1"), 1), 0);
}
END_TEST

/* The one record of a finished builder, decoded. */
static void decode_only_record(struct batch_builder *bb, struct wire_arena *a,
                               struct coordinator_record *rec, uint8_t **data) {
  size_t size;
  ck_assert_int_eq(batch_builder_finish(bb, 0, 0, data, &size), 0);
  struct record_batch b;
  ck_assert_int_eq(rb_validate(*data, size, &b), RB_OK);
  struct rb_record_iter it;
  struct rb_record r;
  ck_assert_int_eq(rb_records_begin(&it, &b), RB_OK);
  ck_assert_int_eq(rb_records_next(&it, &r), RB_OK);
  struct wire_reader key = {r.key, r.key + r.key_size, a};
  struct wire_reader value = {r.value, r.value + (r.value != NULL ? r.value_size : 0), a};
  ck_assert_int_eq(
      coordinator_record_decode(msg_group_record_find, &key, r.value != NULL ? &value : NULL, rec),
      WIRE_OK);
  ck_assert_int_eq(rb_records_next(&it, &r), RB_END);
}

START_TEST(offset_commit_records_in_kafka_format) {
  struct wire_arena a;
  wire_arena_init(&a, 1 << 20);
  struct batch_builder bb;
  uint8_t *data;
  struct coordinator_record rec;

  /* no expiry: value version 3 with the leader epoch */
  batch_builder_init(&bb, 0, -1, -1, -1);
  struct group_offset v = {1234, 7, wire_str_of("meta"), 1700000000000, -1};
  ck_assert_int_eq(
      groups_add_offset_record(&bb, wire_str_of("g"), wire_str_of("t"), 3, &v, 1700000000000), 0);
  decode_only_record(&bb, &a, &rec, &data);
  ck_assert_int_eq(rec.type->type, MSG_GROUP_OFFSET_COMMIT);
  ck_assert_int_eq(rec.value_version, 3);
  const struct msg_offset_commit_key *k = rec.key;
  ck_assert(wire_str_eq(k->group, "g") && wire_str_eq(k->topic, "t"));
  ck_assert_int_eq(k->partition, 3);
  const struct msg_offset_commit_value *cv = rec.value;
  ck_assert_int_eq(cv->offset, 1234);
  ck_assert_int_eq(cv->leader_epoch, 7);
  ck_assert(wire_str_eq(cv->metadata, "meta"));
  ck_assert_int_eq(cv->commit_timestamp, 1700000000000);
  free(data);

  /* an explicit expiry (OffsetCommit v2-4 retention): version 1 */
  batch_builder_init(&bb, 0, -1, -1, -1);
  v.expire_timestamp_ms = 1700000060000;
  ck_assert_int_eq(
      groups_add_offset_record(&bb, wire_str_of("g"), wire_str_of("t"), 3, &v, 1700000000000), 0);
  decode_only_record(&bb, &a, &rec, &data);
  ck_assert_int_eq(rec.value_version, 1);
  cv = rec.value;
  ck_assert_int_eq(cv->expire_timestamp, 1700000060000);
  free(data);

  /* tombstones: the key alone */
  batch_builder_init(&bb, 0, -1, -1, -1);
  ck_assert_int_eq(
      groups_add_offset_record(&bb, wire_str_of("g"), wire_str_of("t"), 3, NULL, 1700000000000), 0);
  decode_only_record(&bb, &a, &rec, &data);
  ck_assert(rec.value == NULL);
  ck_assert_int_eq(rec.value_version, -1);
  free(data);

  batch_builder_init(&bb, 0, -1, -1, -1);
  ck_assert_int_eq(groups_add_group_tombstone(&bb, wire_str_of("g"), 1700000000000), 0);
  decode_only_record(&bb, &a, &rec, &data);
  ck_assert_int_eq(rec.type->type, MSG_GROUP_GROUP_METADATA);
  ck_assert(rec.value == NULL);
  ck_assert(wire_str_eq(((const struct msg_group_metadata_key *)rec.key)->group, "g"));
  free(data);
  batch_builder_free(&bb);
  wire_arena_free(&a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("groups");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, partition_for_matches_java_string_hash);
  tcase_add_test(tc, offset_commit_records_in_kafka_format);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
