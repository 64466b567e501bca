/* The classic group coordinator's state machine (broker/group.h), driven directly: requests,
 * timer ticks and store completions at explicit times, with a deterministic random source. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "group.h"

#define NUL ((struct wire_str){NULL, -1})

static struct group_coord *C;
static struct group_outputs O;
static struct group_config CFG;
static uint64_t random_count;
static int64_t now;
static uint64_t next_tag;
static int32_t session_ms, rebalance_ms;

/* Deterministic "random" bytes: a counter. */
static void counter_random(void *arg, uint8_t out[16]) {
  uint64_t *n = arg;
  (*n)++;
  memset(out, 0, 16);
  memcpy(out + 8, n, sizeof(*n));
}

static void start(void) {
  C = group_coord_create(&CFG, counter_random, &random_count);
  group_outputs_init(&O);
  now = 1000;
  next_tag = 1;
}

static void setup(void) {
  group_config_default(&CFG);
  session_ms = 10000;
  rebalance_ms = 20000;
  random_count = 0;
  C = NULL;
}

static void teardown(void) {
  if (C == NULL) return;
  group_coord_destroy(C);
  group_outputs_free(&O);
  C = NULL;
}

static struct wire_str S(const char *s) {
  return s == NULL ? NUL : (struct wire_str){s, (int32_t)strlen(s)};
}

static bool
str_eq(struct wire_str s, const char *c) {
  if (c == NULL || s.len < 0) return c == NULL && s.len < 0;
  return strlen(c) == (size_t)s.len && memcmp(s.ptr, c, (size_t)s.len) == 0;
}

static bool bytes_eq(struct wire_bytes b, const char *c) {
  return b.len == (int32_t)strlen(c) && (b.len == 0 || memcmp(b.ptr, c, (size_t)b.len) == 0);
}

static void str_copy(char *dst, size_t size, struct wire_str s) {
  snprintf(dst, size, "%.*s", s.len < 0 ? 0 : (int)s.len, s.ptr != NULL ? s.ptr : "");
}

/* JoinGroup (outputs reset first). protos: comma-separated names; every one carries meta. */
static uint64_t join_full(const char *group, const char *member, const char *instance,
                          int16_t version, const char *ptype, const char *protos, const char *meta,
                          const char *client) {
  char names[8][32];
  struct group_protocol p[8];
  size_t n = 0;
  for (const char *s = protos; s != NULL && *s != '\0' && n < 8;) {
    const char *e = strchr(s, ',');
    size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
    snprintf(names[n], sizeof(names[n]), "%.*s", (int)len, s);
    p[n].name = S(names[n]);
    p[n].metadata = (struct wire_bytes){(const uint8_t *)meta, (int32_t)strlen(meta), NULL};
    n++;
    s = e != NULL ? e + 1 : NULL;
  }
  struct group_join_request r = {
      .version = version,
      .group_id = S(group),
      .member_id = S(member),
      .group_instance_id = S(instance),
      .session_timeout_ms = session_ms,
      .rebalance_timeout_ms = rebalance_ms,
      .protocol_type = S(ptype),
      .protocols = p,
      .protocol_count = n,
      .client_id = S(client),
      .client_host = S("/127.0.0.1"),
  };
  uint64_t tag = next_tag++;
  group_outputs_reset(&O);
  group_join(C, &r, tag, now, &O);
  return tag;
}

static uint64_t join(const char *group, const char *member, const char *instance, int16_t version,
                     const char *protos, const char *meta) {
  return join_full(group, member, instance, version, "consumer", protos, meta, "client");
}

static const struct group_join_response *join_resp(uint64_t tag) {
  const struct group_out *o = group_outputs_find(&O, tag);
  ck_assert_msg(o != NULL, "no response to join %llu", (unsigned long long)tag);
  ck_assert_int_eq(o->kind, GROUP_OUT_JOIN);
  return &o->u.join;
}

static const struct group_sync_response *sync_resp(uint64_t tag) {
  const struct group_out *o = group_outputs_find(&O, tag);
  ck_assert_msg(o != NULL, "no response to sync %llu", (unsigned long long)tag);
  ck_assert_int_eq(o->kind, GROUP_OUT_SYNC);
  return &o->u.sync;
}

static bool answered(uint64_t tag) { return group_outputs_find(&O, tag) != NULL; }

static const struct group_store *store_out(void) {
  for (size_t i = 0; i < O.count; i++)
    if (O.items[i].kind == GROUP_OUT_STORE) return &O.items[i].u.store;
  return NULL;
}

static uint64_t sync_req(const char *group, const char *member, const char *instance,
                         int32_t generation, const char *ptype, const char *pname,
                         const char *const *assign_members, const char *const *assign_bytes,
                         size_t count) {
  struct group_assignment a[8];
  for (size_t i = 0; i < count; i++) {
    a[i].member_id = S(assign_members[i]);
    a[i].assignment = (struct wire_bytes){(const uint8_t *)assign_bytes[i],
                                          (int32_t)strlen(assign_bytes[i]), NULL};
  }
  struct group_sync_request r = {
      .group_id = S(group),
      .member_id = S(member),
      .group_instance_id = S(instance),
      .generation_id = generation,
      .protocol_type = S(ptype),
      .protocol_name = S(pname),
      .assignments = a,
      .assignment_count = count,
  };
  uint64_t tag = next_tag++;
  group_outputs_reset(&O);
  group_sync(C, &r, tag, now, &O);
  return tag;
}

static uint64_t sync_simple(const char *group, const char *member, int32_t generation) {
  return sync_req(group, member, NULL, generation, NULL, NULL, NULL, NULL, 0);
}

static int16_t heartbeat(const char *group, const char *member, const char *instance,
                         int32_t generation) {
  group_outputs_reset(&O);
  return group_heartbeat(C, S(group), S(member), S(instance), generation, now, &O);
}

static void tick_at(int64_t t) {
  now = t;
  group_outputs_reset(&O);
  group_tick(C, now, &O);
}

static void store_done(uint64_t id, int16_t error) {
  group_outputs_reset(&O);
  group_store_done(C, id, error, now, &O);
}

static enum group_state state_of(const char *group, int32_t *generation, size_t *members) {
  enum group_state s;
  int32_t gen;
  size_t n;
  ck_assert(group_find_state(C, group, &s, &gen, &n));
  if (generation != NULL) *generation = gen;
  if (members != NULL) *members = n;
  return s;
}

/* A v5 dynamic member through the MEMBER_ID_REQUIRED handshake; its second JoinGroup is parked
 * (or answered) under the returned tag. */
static uint64_t member_join(const char *group, const char *client, char *id, size_t size) {
  uint64_t t = join_full(group, "", NULL, 5, "consumer", "range", client, client);
  const struct group_join_response *r = join_resp(t);
  ck_assert_int_eq(r->error, ERR_MEMBER_ID_REQUIRED);
  str_copy(id, size, r->member_id);
  return join_full(group, id, NULL, 5, "consumer", "range", client, client);
}

/* A Stable group of n dynamic members (ids[0] leads), member i assigned "part-i". */
static void stable_group(const char *group, size_t n, char ids[][96]) {
  uint64_t tags[8];
  for (size_t i = 0; i < n; i++) {
    char client[32];
    snprintf(client, sizeof(client), "c%zu", i);
    tags[i] = member_join(group, client, ids[i], 96);
  }
  tick_at(now); /* the initial delay (0) */
  for (size_t i = 0; i < n; i++) ck_assert_int_eq(join_resp(tags[i])->error, ERR_NONE);
  int32_t gen = join_resp(tags[0])->generation_id;
  ck_assert(str_eq(join_resp(tags[0])->leader, ids[0]));
  for (size_t i = 1; i < n; i++) ck_assert(!answered(sync_simple(group, ids[i], gen)));
  const char *members[8], *bytes[8];
  char parts[8][32];
  for (size_t i = 0; i < n; i++) {
    members[i] = ids[i];
    snprintf(parts[i], sizeof(parts[i]), "part-%zu", i);
    bytes[i] = parts[i];
  }
  uint64_t lt = sync_req(group, ids[0], NULL, gen, NULL, NULL, members, bytes, n);
  ck_assert(!answered(lt));
  store_done(store_out()->store_id, ERR_NONE);
  ck_assert_int_eq(state_of(group, NULL, NULL), GROUP_STABLE);
}

/* ---- states and transitions ---- */

START_TEST(state_names_are_kafkas) {
  ck_assert_str_eq(group_state_name(GROUP_EMPTY), "Empty");
  ck_assert_str_eq(group_state_name(GROUP_PREPARING_REBALANCE), "PreparingRebalance");
  ck_assert_str_eq(group_state_name(GROUP_COMPLETING_REBALANCE), "CompletingRebalance");
  ck_assert_str_eq(group_state_name(GROUP_STABLE), "Stable");
  ck_assert_str_eq(group_state_name(GROUP_DEAD), "Dead");
}
END_TEST

START_TEST(every_transition_of_a_group_lifetime) {
  start();
  char a[96];
  /* (none) -> Empty: the first JoinGroup creates the group */
  uint64_t t = join("g", "", NULL, 5, "range", "m");
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_EMPTY);
  str_copy(a, sizeof(a), join_resp(t)->member_id);
  /* Empty -> PreparingRebalance */
  t = join("g", a, NULL, 5, "range", "m");
  ck_assert(!answered(t));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  /* PreparingRebalance -> CompletingRebalance */
  tick_at(now);
  ck_assert_int_eq(join_resp(t)->generation_id, 1);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  /* CompletingRebalance -> PreparingRebalance (the member changes its metadata) */
  t = join("g", a, NULL, 5, "range", "other");
  /* ... and straight on to CompletingRebalance: everyone has rejoined */
  ck_assert_int_eq(join_resp(t)->generation_id, 2);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  /* CompletingRebalance -> Stable */
  const char *m[] = {a}, *b[] = {"x"};
  t = sync_req("g", a, NULL, 2, NULL, NULL, m, b, 1);
  store_done(store_out()->store_id, ERR_NONE);
  ck_assert(bytes_eq(sync_resp(t)->assignment, "x"));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
  /* Stable -> PreparingRebalance -> Empty: the last member leaves */
  struct group_leaving l = {S(a), NUL};
  int16_t err;
  group_outputs_reset(&O);
  ck_assert_int_eq(group_leave(C, S("g"), &l, 1, &err, now, &O), ERR_NONE);
  ck_assert_int_eq(err, ERR_NONE);
  int32_t gen;
  ck_assert_int_eq(state_of("g", &gen, NULL), GROUP_EMPTY);
  ck_assert_int_eq(gen, 3);
  const struct group_store *s = store_out();
  ck_assert_ptr_nonnull(s);
  ck_assert(!s->awaited);
  ck_assert_int_eq(s->generation_id, 3);
  ck_assert_uint_eq(s->member_count, 0);
  /* Empty -> Dead: deleted, and gone */
  ck_assert_int_eq(group_delete(C, S("g")), ERR_NONE);
  ck_assert_uint_eq(group_count(C), 0);
  ck_assert_int_eq(group_delete(C, S("g")), ERR_GROUP_ID_NOT_FOUND);
}
END_TEST

START_TEST(stable_leader_rejoin_rebalances_but_an_unchanged_follower_does_not) {
  start();
  char ids[2][96];
  stable_group("g", 2, ids);
  /* a follower with the same metadata gets the current generation back, no rebalance */
  uint64_t t = join_full("g", ids[1], NULL, 5, "consumer", "range", "c1", "c1");
  ck_assert_int_eq(join_resp(t)->error, ERR_NONE);
  ck_assert_int_eq(join_resp(t)->generation_id, 1);
  ck_assert_uint_eq(join_resp(t)->member_count, 0);
  ck_assert(str_eq(join_resp(t)->leader, ids[0]));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
  /* the leader's JoinGroup rebalances */
  t = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  ck_assert(!answered(t));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  ck_assert_int_eq(heartbeat("g", ids[1], NULL, 1), ERR_REBALANCE_IN_PROGRESS);
  uint64_t t1 = join_full("g", ids[1], NULL, 5, "consumer", "range", "c1", "c1");
  ck_assert_int_eq(join_resp(t)->generation_id, 2);
  ck_assert_uint_eq(join_resp(t)->member_count, 2);
  ck_assert_int_eq(join_resp(t1)->generation_id, 2);
}
END_TEST

START_TEST(member_id_required_handshake) {
  start();
  uint64_t t = join_full("g", "", NULL, 4, "consumer", "range", "m", "my-client");
  const struct group_join_response *r = join_resp(t);
  ck_assert_int_eq(r->error, ERR_MEMBER_ID_REQUIRED);
  ck_assert_int_eq(r->generation_id, -1);
  /* client id, '-', a version 4 UUID in its text form */
  ck_assert_int_eq(r->member_id.len, (int)strlen("my-client-") + 36);
  ck_assert(memcmp(r->member_id.ptr, "my-client-", 10) == 0);
  ck_assert_int_eq(r->member_id.ptr[10 + 8], '-');
  ck_assert_int_eq(r->member_id.ptr[10 + 14], '4');
  char id[96];
  str_copy(id, sizeof(id), r->member_id);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_EMPTY);
  ck_assert_uint_eq(members, 0); /* pending, not a member */
  t = join_full("g", id, NULL, 4, "consumer", "range", "m", "my-client");
  tick_at(now);
  ck_assert_int_eq(join_resp(t)->error, ERR_NONE);
  ck_assert(str_eq(join_resp(t)->member_id, id));
  ck_assert(str_eq(join_resp(t)->leader, id));
  ck_assert(str_eq(join_resp(t)->protocol_name, "range"));
  ck_assert(str_eq(join_resp(t)->protocol_type, "consumer"));
  ck_assert_uint_eq(join_resp(t)->member_count, 1);
}
END_TEST

START_TEST(v3_join_gets_a_member_id_at_once) {
  start();
  uint64_t t = join_full("g", "", NULL, 3, "consumer", "range", "m", "old");
  ck_assert(!answered(t));
  tick_at(now);
  ck_assert_int_eq(join_resp(t)->error, ERR_NONE);
  ck_assert(memcmp(join_resp(t)->member_id.ptr, "old-", 4) == 0);
}
END_TEST

START_TEST(three_members_join_and_sync_each_gets_its_partitions) {
  CFG.initial_rebalance_delay_ms = 3000;
  start();
  char a[96], b[96], c[96];
  uint64_t ta = member_join("g", "a", a, sizeof(a));
  now += 100;
  uint64_t tb = member_join("g", "b", b, sizeof(b));
  now += 100;
  uint64_t tc = member_join("g", "c", c, sizeof(c));
  ck_assert(!answered(ta) && !answered(tb) && !answered(tc));
  tick_at(1000 + 3000);
  ck_assert(!answered(ta)); /* new members arrived during the delay: it was extended */
  tick_at(1000 + 6000);
  const struct group_join_response *ra = join_resp(ta), *rb = join_resp(tb), *rc = join_resp(tc);
  ck_assert_int_eq(ra->generation_id, 1);
  ck_assert_int_eq(rb->generation_id, 1);
  ck_assert_int_eq(rc->generation_id, 1);
  ck_assert(str_eq(rb->leader, a) && str_eq(rc->leader, a) && str_eq(ra->leader, a));
  /* the leader gets every member with its metadata; followers get none */
  ck_assert_uint_eq(ra->member_count, 3);
  ck_assert_uint_eq(rb->member_count, 0);
  ck_assert_uint_eq(rc->member_count, 0);
  bool seen[3] = {false, false, false};
  for (size_t i = 0; i < 3; i++) {
    const struct group_join_member *m = &ra->members[i];
    const char *meta = str_eq(m->member_id, a) ? "a" : str_eq(m->member_id, b) ? "b" : "c";
    seen[meta[0] - 'a'] = true;
    ck_assert(m->metadata.len == 1 && m->metadata.ptr[0] == (uint8_t)meta[0]);
    ck_assert_int_lt(m->group_instance_id.len, 0);
  }
  ck_assert(seen[0] && seen[1] && seen[2]);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  ck_assert_int_eq(heartbeat("g", b, NULL, 1), ERR_NONE);

  /* followers wait for the leader */
  uint64_t sb = sync_req("g", b, NULL, 1, "consumer", "range", NULL, NULL, 0);
  ck_assert(!answered(sb));
  const char *who[] = {c, a, b}, *parts[] = {"t-2,t-5", "t-0,t-3", "t-1,t-4"};
  uint64_t sa = sync_req("g", a, NULL, 1, "consumer", "range", who, parts, 3);
  ck_assert(!answered(sa));
  const struct group_store *st = store_out();
  ck_assert_ptr_nonnull(st);
  ck_assert(st->awaited);
  ck_assert_uint_eq(st->member_count, 3);
  ck_assert_int_eq(st->generation_id, 1);
  ck_assert(str_eq(st->protocol_name, "range"));
  ck_assert(str_eq(st->leader, a));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  store_done(st->store_id, ERR_NONE);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
  const struct group_sync_response *r = sync_resp(sa);
  ck_assert_int_eq(r->error, ERR_NONE);
  ck_assert(bytes_eq(r->assignment, "t-0,t-3"));
  ck_assert(str_eq(r->protocol_name, "range") && str_eq(r->protocol_type, "consumer"));
  r = sync_resp(sb);
  ck_assert(bytes_eq(r->assignment, "t-1,t-4"));
  ck_assert_uint_eq(O.count, 2);
  /* the last follower syncs in Stable and gets its own at once */
  uint64_t sc = sync_simple("g", c, 1);
  r = sync_resp(sc);
  ck_assert(bytes_eq(r->assignment, "t-2,t-5"));
  /* DescribeGroups shows each member's metadata and assignment */
  struct wire_arena arena;
  wire_arena_init(&arena, 1 << 20);
  struct group_description d;
  ck_assert(group_describe(C, S("g"), &arena, &d));
  ck_assert(str_eq(d.state, "Stable") && str_eq(d.protocol_data, "range"));
  ck_assert_uint_eq(d.member_count, 3);
  for (size_t i = 0; i < 3; i++) {
    const struct group_described_member *m = &d.members[i];
    const char *want = str_eq(m->member_id, a)   ? "t-0,t-3"
                       : str_eq(m->member_id, b) ? "t-1,t-4"
                                                 : "t-2,t-5";
    ck_assert(bytes_eq(m->assignment, want));
    ck_assert(str_eq(m->client_host, "/127.0.0.1"));
    ck_assert_int_eq(m->metadata.len, 1);
  }
  wire_arena_free(&arena);
}
END_TEST

START_TEST(protocol_chosen_by_votes_among_common_protocols) {
  start();
  /* roundrobin is the only protocol all support */
  uint64_t t1 = join("g", "", NULL, 3, "range,roundrobin", "m");
  uint64_t t2 = join("g", "", NULL, 3, "roundrobin,range", "m");
  uint64_t t3 = join("g", "", NULL, 3, "roundrobin,sticky", "m");
  (void)t1;
  (void)t2;
  tick_at(now);
  ck_assert(str_eq(join_resp(t3)->protocol_name, "roundrobin"));
  /* all support both: two prefer range */
  t1 = join("h", "", NULL, 3, "range,roundrobin", "m");
  t2 = join("h", "", NULL, 3, "roundrobin,range", "m");
  t3 = join("h", "", NULL, 3, "range,roundrobin", "m");
  tick_at(now);
  ck_assert(str_eq(join_resp(t3)->protocol_name, "range"));
}
END_TEST

START_TEST(inconsistent_group_protocol_is_refused) {
  start();
  char ids[1][96];
  stable_group("g", 1, ids);
  /* another protocol type */
  uint64_t t = join_full("g", "", NULL, 5, "connect", "range", "m", "x");
  ck_assert_int_eq(join_resp(t)->error, ERR_INCONSISTENT_GROUP_PROTOCOL);
  /* no protocol in common */
  t = join("g", "", NULL, 5, "sticky", "m");
  ck_assert_int_eq(join_resp(t)->error, ERR_INCONSISTENT_GROUP_PROTOCOL);
  /* an Empty group needs a protocol type and at least one protocol */
  t = join_full("e", "", NULL, 5, "", "range", "m", "x");
  ck_assert_int_eq(join_resp(t)->error, ERR_INCONSISTENT_GROUP_PROTOCOL);
  t = join("e", "", NULL, 5, "", "m");
  ck_assert_int_eq(join_resp(t)->error, ERR_INCONSISTENT_GROUP_PROTOCOL);
  /* SyncGroup v5 checks the protocol type and name */
  uint64_t s = sync_req("g", ids[0], NULL, 1, "consumer", "roundrobin", NULL, NULL, 0);
  ck_assert_int_eq(sync_resp(s)->error, ERR_INCONSISTENT_GROUP_PROTOCOL);
  s = sync_req("g", ids[0], NULL, 1, "connect", NULL, NULL, NULL, 0);
  ck_assert_int_eq(sync_resp(s)->error, ERR_INCONSISTENT_GROUP_PROTOCOL);
  s = sync_req("g", ids[0], NULL, 1, "consumer", "range", NULL, NULL, 0);
  ck_assert_int_eq(sync_resp(s)->error, ERR_NONE);
}
END_TEST

START_TEST(join_request_checks) {
  start();
  uint64_t t = join("", "", NULL, 5, "range", "m");
  ck_assert_int_eq(join_resp(t)->error, ERR_INVALID_GROUP_ID);
  session_ms = 1000;
  t = join("g", "", NULL, 5, "range", "m");
  ck_assert_int_eq(join_resp(t)->error, ERR_INVALID_SESSION_TIMEOUT);
  session_ms = 10000;
  /* a member id for a group that does not exist */
  t = join("nope", "client-123", NULL, 5, "range", "m");
  ck_assert_int_eq(join_resp(t)->error, ERR_UNKNOWN_MEMBER_ID);
  ck_assert_uint_eq(group_count(C), 0);
  /* an unknown member id in an existing group */
  char ids[1][96];
  stable_group("g", 1, ids);
  t = join("g", "client-123", NULL, 5, "range", "m");
  ck_assert_int_eq(join_resp(t)->error, ERR_UNKNOWN_MEMBER_ID);
  ck_assert(str_eq(join_resp(t)->member_id, "client-123"));
}
END_TEST

/* ---- static membership ---- */

/* Two static members, Stable in generation 1; ids[0] leads. */
static void static_group(char ids[2][96]) {
  uint64_t t0 = join_full("g", "", "i-0", 5, "consumer", "range", "m0", "c0");
  uint64_t t1 = join_full("g", "", "i-1", 5, "consumer", "range", "m1", "c1");
  tick_at(now);
  str_copy(ids[0], 96, join_resp(t0)->member_id);
  str_copy(ids[1], 96, join_resp(t1)->member_id);
  ck_assert(memcmp(ids[0], "i-0-", 4) == 0); /* static ids start with the instance id */
  ck_assert(str_eq(join_resp(t1)->leader, ids[0]));
  ck_assert(!answered(sync_req("g", ids[1], "i-1", 1, NULL, NULL, NULL, NULL, 0)));
  const char *m[] = {ids[0], ids[1]}, *b[] = {"p0", "p1"};
  sync_req("g", ids[0], "i-0", 1, NULL, NULL, m, b, 2);
  store_done(store_out()->store_id, ERR_NONE);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
}

START_TEST(static_member_restart_causes_no_rebalance) {
  start();
  char ids[2][96];
  static_group(ids);
  /* the follower restarts: unknown member id, same instance id, same metadata */
  now += 500;
  uint64_t t = join_full("g", "", "i-1", 5, "consumer", "range", "m1", "c1");
  ck_assert(!answered(t)); /* waits for the group to be stored under the new id */
  const struct group_store *st = store_out();
  ck_assert(st != NULL && st->awaited);
  ck_assert_int_eq(st->generation_id, 1);
  /* the stored group keeps both assignments */
  for (size_t i = 0; i < st->member_count; i++) ck_assert_int_eq(st->members[i].assignment.len, 2);
  store_done(st->store_id, ERR_NONE);
  const struct group_join_response *r = join_resp(t);
  ck_assert_int_eq(r->error, ERR_NONE);
  ck_assert_int_eq(r->generation_id, 1);
  ck_assert(str_eq(r->leader, ids[0]));
  ck_assert(!str_eq(r->member_id, ids[1]));
  char new_id[96];
  str_copy(new_id, sizeof(new_id), r->member_id);
  int32_t gen;
  ck_assert_int_eq(state_of("g", &gen, NULL), GROUP_STABLE);
  ck_assert_int_eq(gen, 1);
  /* it syncs and gets its old assignment; the old id is fenced */
  uint64_t s = sync_req("g", new_id, "i-1", 1, NULL, NULL, NULL, NULL, 0);
  ck_assert(bytes_eq(sync_resp(s)->assignment, "p1"));
  ck_assert_int_eq(heartbeat("g", ids[1], "i-1", 1), ERR_FENCED_INSTANCE_ID);
  ck_assert_int_eq(heartbeat("g", new_id, "i-1", 1), ERR_NONE);
  ck_assert_int_eq(heartbeat("g", ids[0], "i-0", 1), ERR_NONE);
}
END_TEST

START_TEST(static_leader_restart_v9_skips_assignment_older_names_old_leader) {
  start();
  char ids[2][96];
  static_group(ids);
  uint64_t t = join_full("g", "", "i-0", 9, "consumer", "range", "m0", "c0");
  store_done(store_out()->store_id, ERR_NONE);
  const struct group_join_response *r = join_resp(t);
  ck_assert_int_eq(r->error, ERR_NONE);
  ck_assert(r->skip_assignment);
  ck_assert_uint_eq(r->member_count, 2);
  char id9[96];
  str_copy(id9, sizeof(id9), r->member_id);
  ck_assert(!str_eq(r->leader, ids[0]));
  ck_assert(str_eq(r->leader, id9)); /* the new id leads now */
  /* before v9 the answer names the previous leader id, so the client does not assign */
  t = join_full("g", "", "i-0", 5, "consumer", "range", "m0", "c0");
  store_done(store_out()->store_id, ERR_NONE);
  r = join_resp(t);
  ck_assert(!r->skip_assignment);
  ck_assert_uint_eq(r->member_count, 0);
  ck_assert(str_eq(r->leader, id9));
  ck_assert(!str_eq(r->member_id, id9));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
}
END_TEST

START_TEST(static_member_restart_with_new_protocol_rebalances) {
  start();
  uint64_t t = join_full("g", "", "i-0", 5, "consumer", "range,roundrobin", "m", "c");
  tick_at(now);
  char id[96];
  str_copy(id, sizeof(id), join_resp(t)->member_id);
  ck_assert(str_eq(join_resp(t)->protocol_name, "range"));
  const char *m[] = {id}, *b[] = {"p"};
  sync_req("g", id, "i-0", 1, NULL, NULL, m, b, 1);
  store_done(store_out()->store_id, ERR_NONE);
  /* it comes back preferring roundrobin: the selected protocol would change */
  t = join_full("g", "", "i-0", 5, "consumer", "roundrobin,range", "m", "c");
  ck_assert_ptr_null(store_out());
  /* a rebalance, complete at once (it is the only member) */
  ck_assert_int_eq(join_resp(t)->generation_id, 2);
  ck_assert(str_eq(join_resp(t)->protocol_name, "roundrobin"));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_COMPLETING_REBALANCE);
}
END_TEST

START_TEST(static_member_store_failure_restores_the_old_id) {
  start();
  char ids[2][96];
  static_group(ids);
  uint64_t t = join_full("g", "", "i-1", 5, "consumer", "range", "m1", "c1");
  store_done(store_out()->store_id, ERR_NOT_LEADER_OR_FOLLOWER);
  ck_assert_int_eq(join_resp(t)->error, ERR_NOT_COORDINATOR);
  ck_assert(str_eq(join_resp(t)->member_id, ""));
  ck_assert_int_eq(heartbeat("g", ids[1], "i-1", 1), ERR_NONE);
}
END_TEST

START_TEST(fenced_instance_id) {
  start();
  char ids[2][96];
  static_group(ids);
  /* the instance id is known but belongs to another member id */
  ck_assert_int_eq(heartbeat("g", ids[0], "i-1", 1), ERR_FENCED_INSTANCE_ID);
  uint64_t s = sync_req("g", "i-1-zombie", "i-1", 1, NULL, NULL, NULL, NULL, 0);
  ck_assert_int_eq(sync_resp(s)->error, ERR_FENCED_INSTANCE_ID);
  uint64_t t = join_full("g", "i-1-zombie", "i-1", 5, "consumer", "range", "m1", "c1");
  ck_assert_int_eq(join_resp(t)->error, ERR_FENCED_INSTANCE_ID);
  /* an unknown instance id */
  ck_assert_int_eq(heartbeat("g", ids[0], "i-9", 1), ERR_UNKNOWN_MEMBER_ID);
  struct group_leaving l = {S(ids[0]), S("i-1")};
  int16_t err;
  group_outputs_reset(&O);
  ck_assert_int_eq(group_leave(C, S("g"), &l, 1, &err, now, &O), ERR_NONE);
  ck_assert_int_eq(err, ERR_FENCED_INSTANCE_ID);
  /* a restart while the old instance waits for its JoinGroup fences that JoinGroup */
  uint64_t lead = join_full("g", ids[0], "i-0", 5, "consumer", "range", "m0", "c0");
  ck_assert(!answered(lead));
  uint64_t again = join_full("g", "", "i-0", 5, "consumer", "range", "m0", "c0");
  ck_assert_int_eq(join_resp(lead)->error, ERR_FENCED_INSTANCE_ID);
  ck_assert(!answered(again));
}
END_TEST

START_TEST(static_members_stay_through_a_rebalance_they_miss) {
  start();
  char ids[2][96];
  static_group(ids);
  /* a dynamic member joins; only it rejoins before the rebalance timeout */
  int64_t t0 = now;
  uint64_t t = join("g", "", NULL, 3, "range", "m");
  ck_assert(!answered(t));
  for (int64_t at = 9000; at < rebalance_ms; at += 9000) {
    now = t0 + at;
    ck_assert_int_eq(heartbeat("g", ids[0], "i-0", 1), ERR_REBALANCE_IN_PROGRESS);
    ck_assert_int_eq(heartbeat("g", ids[1], "i-1", 1), ERR_REBALANCE_IN_PROGRESS);
  }
  tick_at(t0 + rebalance_ms);
  ck_assert_int_eq(join_resp(t)->error, ERR_NONE);
  size_t members;
  int32_t gen;
  ck_assert_int_eq(state_of("g", &gen, &members), GROUP_COMPLETING_REBALANCE);
  ck_assert_uint_eq(members, 3); /* the static members are kept */
  ck_assert_int_eq(gen, 2);
  ck_assert_uint_eq(join_resp(t)->member_count, 3); /* it leads: it was the only one to rejoin */
}
END_TEST

/* ---- limits ---- */

START_TEST(group_max_size_refuses_the_member_beyond_it) {
  CFG.max_size = 2;
  start();
  char ids[2][96];
  stable_group("g", 2, ids);
  uint64_t t = join("g", "", NULL, 5, "range", "m");
  ck_assert_int_eq(join_resp(t)->error, ERR_GROUP_MAX_SIZE_REACHED);
  ck_assert(str_eq(join_resp(t)->member_id, ""));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
  t = join("g", "", NULL, 3, "range", "m");
  ck_assert_int_eq(join_resp(t)->error, ERR_GROUP_MAX_SIZE_REACHED);
  /* during a rebalance the members that already rejoined count */
  t = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0"); /* leader: rebalance */
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  uint64_t v3 = join("g", "", NULL, 3, "range", "m");
  ck_assert(!answered(v3)); /* one awaiting (the leader) < 2: accepted */
  uint64_t late = join_full("g", ids[1], NULL, 5, "consumer", "range", "c1", "c1");
  ck_assert_int_eq(join_resp(late)->error, ERR_GROUP_MAX_SIZE_REACHED); /* kicked out */
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_PREPARING_REBALANCE);
  ck_assert_uint_eq(members, 2);
  tick_at(now + rebalance_ms);
  ck_assert_int_eq(join_resp(t)->error, ERR_NONE);
  ck_assert_int_eq(join_resp(v3)->error, ERR_NONE);
}
END_TEST

START_TEST(initial_delay_extends_but_never_past_the_rebalance_timeout) {
  CFG.initial_rebalance_delay_ms = 3000;
  rebalance_ms = 10000;
  start();
  int64_t t0 = now;
  uint64_t first = join("g", "", NULL, 3, "range", "m");
  group_outputs_reset(&O);
  ck_assert_int_eq(group_deadline(C) - t0, 3000);
  /* a member keeps arriving just before each delay ends */
  int64_t arrivals[] = {2500, 5500, 8500, 9900};
  int64_t fires[] = {3000, 6000, 9000};
  for (int i = 0; i < 3; i++) {
    now = t0 + arrivals[i];
    join("g", "", NULL, 3, "range", "m");
    tick_at(t0 + fires[i]);
    ck_assert(!answered(first));
  }
  ck_assert_int_eq(group_deadline(C) - t0, 10000); /* 7000 left after 3000, in steps */
  now = t0 + arrivals[3];
  join("g", "", NULL, 3, "range", "m");
  tick_at(t0 + 10000);
  ck_assert_int_eq(join_resp(first)->error, ERR_NONE);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_COMPLETING_REBALANCE);
  ck_assert_uint_eq(members, 5);
}
END_TEST

START_TEST(initial_delay_completes_without_new_members) {
  CFG.initial_rebalance_delay_ms = 3000;
  start();
  int64_t t0 = now;
  uint64_t t = join("g", "", NULL, 3, "range", "m");
  tick_at(t0 + 2999);
  ck_assert(!answered(t));
  tick_at(t0 + 3000);
  ck_assert_int_eq(join_resp(t)->error, ERR_NONE);
}
END_TEST

/* ---- failures and timeouts ---- */

START_TEST(member_expiry_and_the_rebalance_that_follows) {
  start();
  char ids[3][96];
  stable_group("g", 3, ids);
  int64_t t0 = now;
  /* members 1 and 2 heartbeat; the leader (0) has gone silent */
  now = t0 + session_ms / 2;
  ck_assert_int_eq(heartbeat("g", ids[1], NULL, 1), ERR_NONE);
  ck_assert_int_eq(heartbeat("g", ids[2], NULL, 1), ERR_NONE);
  tick_at(t0 + session_ms);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_PREPARING_REBALANCE);
  ck_assert_uint_eq(members, 2);
  ck_assert_int_eq(heartbeat("g", ids[0], NULL, 1), ERR_UNKNOWN_MEMBER_ID);
  ck_assert_int_eq(heartbeat("g", ids[1], NULL, 1), ERR_REBALANCE_IN_PROGRESS);
  uint64_t a = join_full("g", ids[1], NULL, 5, "consumer", "range", "c1", "c1");
  uint64_t b = join_full("g", ids[2], NULL, 5, "consumer", "range", "c2", "c2");
  /* both rejoined: the new generation at once, led by a survivor */
  ck_assert_int_eq(join_resp(a)->generation_id, 2);
  ck_assert(str_eq(join_resp(b)->leader, ids[1]));
  ck_assert_uint_eq(join_resp(a)->member_count, 2);
  const char *m[] = {ids[1], ids[2]}, *p[] = {"p0,p1", "p2"};
  uint64_t sb = sync_simple("g", ids[2], 2);
  sync_req("g", ids[1], NULL, 2, NULL, NULL, m, p, 2);
  store_done(store_out()->store_id, ERR_NONE);
  ck_assert(bytes_eq(sync_resp(sb)->assignment, "p2"));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
}
END_TEST

START_TEST(rebalance_timeout_drops_members_that_do_not_rejoin) {
  start();
  char ids[3][96];
  stable_group("g", 3, ids);
  for (int i = 0; i < 3; i++) heartbeat("g", ids[i], NULL, 1);
  int64_t t0 = now;
  uint64_t a = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  now += 1000;
  ck_assert_int_eq(heartbeat("g", ids[1], NULL, 1), ERR_REBALANCE_IN_PROGRESS);
  uint64_t b = join_full("g", ids[1], NULL, 5, "consumer", "range", "c1", "c1");
  ck_assert(!answered(a) && !answered(b));
  tick_at(t0 + rebalance_ms);
  ck_assert_int_eq(join_resp(a)->generation_id, 2);
  ck_assert_uint_eq(join_resp(a)->member_count, 2);
  ck_assert_int_eq(heartbeat("g", ids[2], NULL, 1), ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(members_that_never_sync_are_removed) {
  start();
  char ids[2][96];
  uint64_t t0 = member_join("g", "c0", ids[0], 96);
  uint64_t t1 = member_join("g", "c1", ids[1], 96);
  tick_at(now);
  ck_assert(answered(t0) && answered(t1));
  int64_t t = now;
  /* the leader syncs; member 1 heartbeats but never sends SyncGroup */
  const char *m[] = {ids[0], ids[1]}, *p[] = {"a", "b"};
  sync_req("g", ids[0], NULL, 1, NULL, NULL, m, p, 2);
  store_done(store_out()->store_id, ERR_NONE);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
  now = t + rebalance_ms - 1000;
  heartbeat("g", ids[1], NULL, 1);
  heartbeat("g", ids[0], NULL, 1);
  tick_at(t + rebalance_ms);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_PREPARING_REBALANCE);
  ck_assert_uint_eq(members, 1);
  ck_assert_int_eq(heartbeat("g", ids[1], NULL, 1), ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(pending_member_expires_and_unblocks_the_rebalance) {
  start();
  char ids[1][96];
  stable_group("g", 1, ids);
  heartbeat("g", ids[0], NULL, 1);
  /* a new client gets its id but never comes back; the leader rejoins */
  uint64_t t = join_full("g", "", NULL, 5, "consumer", "range", "x", "ghost");
  char ghost[96];
  str_copy(ghost, sizeof(ghost), join_resp(t)->member_id);
  int64_t t0 = now;
  uint64_t lead = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  ck_assert(!answered(lead)); /* waits for the pending member */
  tick_at(t0 + session_ms);
  ck_assert_int_eq(join_resp(lead)->generation_id, 2);
  /* too late: its id is gone */
  t = join_full("g", ghost, NULL, 5, "consumer", "range", "x", "ghost");
  ck_assert_int_eq(join_resp(t)->error, ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(a_new_member_join_times_out_after_five_minutes) {
  start();
  session_ms = 60000;
  rebalance_ms = 600000;
  char ids[1][96];
  stable_group("g", 1, ids);
  heartbeat("g", ids[0], NULL, 1);
  int64_t t0 = now;
  uint64_t t = join("g", "", NULL, 3, "range", "m"); /* rebalance; the old member is silent */
  for (int64_t s = 60000; s < 300000; s += 50000) {
    now = t0 + s - 10000;
    heartbeat("g", ids[0], NULL, 1);
  }
  tick_at(t0 + 300000);
  ck_assert_int_eq(join_resp(t)->error, ERR_UNKNOWN_MEMBER_ID);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
}
END_TEST

START_TEST(leader_assignment_store_failure_fails_the_syncs) {
  start();
  char ids[2][96];
  uint64_t t0 = member_join("g", "c0", ids[0], 96);
  uint64_t t1 = member_join("g", "c1", ids[1], 96);
  tick_at(now);
  ck_assert(answered(t0) && answered(t1));
  uint64_t s1 = sync_simple("g", ids[1], 1);
  uint64_t s0 = sync_simple("g", ids[0], 1);
  ck_assert(!answered(s0));
  /* a retried leader SyncGroup replaces the first and does not store again */
  uint64_t s0b = sync_simple("g", ids[0], 1);
  ck_assert_int_eq(sync_resp(s0)->error, ERR_REBALANCE_IN_PROGRESS);
  ck_assert_ptr_null(store_out());
  (void)s0b;
  group_outputs_reset(&O);
  /* find the store of the first leader sync: id 1 */
  store_done(1, ERR_NOT_LEADER_OR_FOLLOWER);
  ck_assert_int_eq(sync_resp(s1)->error, ERR_NOT_COORDINATOR);
  ck_assert_int_eq(sync_resp(s0b)->error, ERR_NOT_COORDINATOR);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
}
END_TEST

/* ---- late and duplicate requests ---- */

START_TEST(duplicate_join_replaces_the_parked_one) {
  start();
  char ids[2][96];
  stable_group("g", 2, ids);
  uint64_t a1 = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  uint64_t a2 = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  ck_assert_int_eq(join_resp(a1)->error, ERR_REBALANCE_IN_PROGRESS);
  ck_assert(!answered(a2));
  uint64_t b = join_full("g", ids[1], NULL, 5, "consumer", "range", "c1", "c1");
  ck_assert_int_eq(join_resp(a2)->error, ERR_NONE);
  ck_assert_int_eq(join_resp(b)->error, ERR_NONE);
  ck_assert(!answered(a1));
  /* a JoinGroup retried in CompletingRebalance with the same metadata gets the same answer */
  uint64_t a3 = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  ck_assert_int_eq(join_resp(a3)->generation_id, 2);
  ck_assert_uint_eq(join_resp(a3)->member_count, 2);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_COMPLETING_REBALANCE);
}
END_TEST

START_TEST(late_requests_after_the_generation_moved_on) {
  start();
  char ids[2][96];
  stable_group("g", 2, ids);
  /* generation 2 */
  uint64_t a = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  join_full("g", ids[1], NULL, 5, "consumer", "range", "c1", "c1");
  ck_assert_int_eq(join_resp(a)->generation_id, 2);
  /* generation 1's SyncGroup and heartbeat */
  uint64_t s = sync_simple("g", ids[1], 1);
  ck_assert_int_eq(sync_resp(s)->error, ERR_ILLEGAL_GENERATION);
  ck_assert_int_eq(heartbeat("g", ids[1], NULL, 1), ERR_ILLEGAL_GENERATION);
  ck_assert_int_eq(group_commit_check(C, S("g"), S(ids[1]), NUL, 1, 8, now),
                   ERR_ILLEGAL_GENERATION);
  /* a SyncGroup while the group is preparing (the leader's metadata changed) */
  join_full("g", ids[0], NULL, 5, "consumer", "range", "c0-new", "c0");
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  s = sync_simple("g", ids[1], 2);
  ck_assert_int_eq(sync_resp(s)->error, ERR_REBALANCE_IN_PROGRESS);
  /* requests of a member that left */
  struct group_leaving l = {S(ids[1]), NUL};
  int16_t err;
  group_outputs_reset(&O);
  group_leave(C, S("g"), &l, 1, &err, now, &O);
  ck_assert_int_eq(err, ERR_NONE);
  ck_assert_int_eq(heartbeat("g", ids[1], NULL, 2), ERR_UNKNOWN_MEMBER_ID);
  s = sync_simple("g", ids[1], 2);
  ck_assert_int_eq(sync_resp(s)->error, ERR_UNKNOWN_MEMBER_ID);
  group_outputs_reset(&O);
  group_leave(C, S("g"), &l, 1, &err, now, &O);
  ck_assert_int_eq(err, ERR_UNKNOWN_MEMBER_ID);
  /* and of a group that never was */
  ck_assert_int_eq(heartbeat("nope", ids[1], NULL, 2), ERR_UNKNOWN_MEMBER_ID);
  s = sync_simple("nope", ids[1], 2);
  ck_assert_int_eq(sync_resp(s)->error, ERR_UNKNOWN_MEMBER_ID);
  group_outputs_reset(&O);
  err = ERR_NONE;
  ck_assert_int_eq(group_leave(C, S("nope"), &l, 1, &err, now, &O), ERR_NONE);
  ck_assert_int_eq(err, ERR_UNKNOWN_MEMBER_ID);
  ck_assert_int_eq(group_leave(C, S(""), &l, 1, &err, now, &O), ERR_INVALID_GROUP_ID);
  ck_assert_int_eq(heartbeat("", ids[1], NULL, 2), ERR_INVALID_GROUP_ID);
  s = sync_simple("", ids[1], 2);
  ck_assert_int_eq(sync_resp(s)->error, ERR_INVALID_GROUP_ID);
}
END_TEST

START_TEST(heartbeat_answers_by_state) {
  start();
  char ids[1][96];
  uint64_t t = member_join("g", "c0", ids[0], 96);
  /* pending join, PreparingRebalance (initial) */
  ck_assert_int_eq(heartbeat("g", ids[0], NULL, 0), ERR_REBALANCE_IN_PROGRESS);
  tick_at(now);
  ck_assert(answered(t));
  ck_assert_int_eq(heartbeat("g", ids[0], NULL, 1), ERR_NONE); /* CompletingRebalance */
  ck_assert_int_eq(heartbeat("g", ids[0], NULL, 0), ERR_ILLEGAL_GENERATION);
  ck_assert_int_eq(heartbeat("g", "", NULL, 1), ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(a_store_completing_after_the_group_moved_on_changes_nothing) {
  start();
  char ids[3][96];
  uint64_t t[3];
  for (int i = 0; i < 3; i++) {
    char client[8];
    snprintf(client, sizeof(client), "c%d", i);
    t[i] = member_join("g", client, ids[i], 96);
  }
  tick_at(now);
  ck_assert(answered(t[0]));
  uint64_t s1 = sync_simple("g", ids[1], 1);
  const char *m[] = {ids[0], ids[1], ids[2]}, *p[] = {"a", "b", "c"};
  uint64_t s0 = sync_req("g", ids[0], NULL, 1, NULL, NULL, m, p, 3);
  uint64_t store = store_out()->store_id;
  /* member 2 leaves before the store commits: the parked syncs must rejoin */
  struct group_leaving l = {S(ids[2]), NUL};
  int16_t err;
  group_outputs_reset(&O);
  group_leave(C, S("g"), &l, 1, &err, now, &O);
  ck_assert_int_eq(sync_resp(s0)->error, ERR_REBALANCE_IN_PROGRESS);
  ck_assert_int_eq(sync_resp(s1)->error, ERR_REBALANCE_IN_PROGRESS);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  store_done(store, ERR_NONE);
  ck_assert_uint_eq(O.count, 0);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
}
END_TEST

START_TEST(a_member_waiting_for_its_sync_response_is_not_expired) {
  start();
  char ids[2][96];
  uint64_t t0 = member_join("g", "c0", ids[0], 96);
  member_join("g", "c1", ids[1], 96);
  tick_at(now);
  ck_assert(answered(t0));
  int64_t t = now;
  uint64_t s1 = sync_simple("g", ids[1], 1); /* parked; it cannot heartbeat meanwhile */
  now = t + session_ms - 1;
  heartbeat("g", ids[0], NULL, 1);
  tick_at(t + session_ms);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_COMPLETING_REBALANCE);
  ck_assert_uint_eq(members, 2);
  const char *m[] = {ids[0], ids[1]}, *p[] = {"a", "b"};
  sync_req("g", ids[0], NULL, 1, NULL, NULL, m, p, 2);
  store_done(store_out()->store_id, ERR_NONE);
  ck_assert(bytes_eq(sync_resp(s1)->assignment, "b"));
  /* answered now, its session runs again from here */
  tick_at(now + session_ms - 1);
  ck_assert_int_eq(heartbeat("g", ids[1], NULL, 1), ERR_NONE);
}
END_TEST

/* ---- LeaveGroup ---- */

START_TEST(batched_leave_reports_each_member) {
  start();
  char ids[2][96];
  static_group(ids);
  uint64_t t = join_full("g", "", NULL, 5, "consumer", "range", "x", "pending");
  char pending[96];
  str_copy(pending, sizeof(pending), join_resp(t)->member_id);
  struct group_leaving l[] = {
      {S(""), S("i-1")},       /* by instance id alone: removed */
      {S(pending), NUL},       /* a pending member: removed */
      {S("nobody"), NUL},      /* unknown */
      {S(""), S("i-9")},       /* unknown instance */
      {S(ids[1]), S("i-1")},   /* already gone */
      {S("i-0-zz"), S("i-0")}, /* fenced */
  };
  int16_t err[6];
  group_outputs_reset(&O);
  ck_assert_int_eq(group_leave(C, S("g"), l, 6, err, now, &O), ERR_NONE);
  ck_assert_int_eq(err[0], ERR_NONE);
  ck_assert_int_eq(err[1], ERR_NONE);
  ck_assert_int_eq(err[2], ERR_UNKNOWN_MEMBER_ID);
  ck_assert_int_eq(err[3], ERR_UNKNOWN_MEMBER_ID);
  ck_assert_int_eq(err[4], ERR_UNKNOWN_MEMBER_ID);
  ck_assert_int_eq(err[5], ERR_FENCED_INSTANCE_ID);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_PREPARING_REBALANCE);
  ck_assert_uint_eq(members, 1);
}
END_TEST

START_TEST(leave_during_rebalance_completes_the_join) {
  start();
  char ids[3][96];
  stable_group("g", 3, ids);
  uint64_t a = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  uint64_t b = join_full("g", ids[1], NULL, 5, "consumer", "range", "c1", "c1");
  ck_assert(!answered(a) && !answered(b));
  struct group_leaving l = {S(ids[2]), NUL};
  int16_t err;
  group_outputs_reset(&O);
  group_leave(C, S("g"), &l, 1, &err, now, &O);
  ck_assert_int_eq(join_resp(a)->generation_id, 2);
  ck_assert_int_eq(join_resp(b)->generation_id, 2);
}
END_TEST

START_TEST(leaving_member_with_parked_join_is_answered) {
  start();
  char ids[2][96];
  stable_group("g", 2, ids);
  uint64_t a = join_full("g", ids[0], NULL, 5, "consumer", "range", "c0", "c0");
  struct group_leaving l = {S(ids[0]), NUL};
  int16_t err;
  group_outputs_reset(&O);
  group_leave(C, S("g"), &l, 1, &err, now, &O);
  ck_assert_int_eq(join_resp(a)->error, ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

/* ---- offsets ---- */

START_TEST(offset_commit_checks) {
  start();
  /* a simple consumer: generation -1, no member; creates an Empty group */
  ck_assert_int_eq(group_commit_check(C, S("simple"), S(""), NUL, -1, 8, now), ERR_NONE);
  ck_assert_int_eq(state_of("simple", NULL, NULL), GROUP_EMPTY);
  ck_assert_int_eq(group_commit_check(C, S("simple"), S(""), NUL, -1, 2, now), ERR_NONE);
  /* a generation for a group that does not exist */
  ck_assert_int_eq(group_commit_check(C, S("none"), S("m"), NUL, 3, 8, now),
                   ERR_ILLEGAL_GENERATION);
  ck_assert_int_eq(group_commit_check(C, S("none"), S("m"), NUL, 3, 9, now),
                   ERR_GROUP_ID_NOT_FOUND);
  /* the empty group id is a group like any other for offsets (Kafka's backwards compatibility);
   * only null is refused */
  ck_assert_int_eq(group_commit_check(C, S(""), S(""), NUL, -1, 8, now), ERR_NONE);
  ck_assert_int_eq(group_commit_check(C, NUL, S(""), NUL, -1, 8, now), ERR_INVALID_GROUP_ID);
  /* members */
  char ids[2][96];
  uint64_t t0 = member_join("g", "c0", ids[0], 96);
  member_join("g", "c1", ids[1], 96);
  ck_assert_int_eq(group_commit_check(C, S("g"), S(ids[0]), NUL, 0, 8, now), ERR_NONE);
  tick_at(now);
  ck_assert(answered(t0));
  ck_assert_int_eq(group_commit_check(C, S("g"), S(ids[0]), NUL, 1, 8, now),
                   ERR_REBALANCE_IN_PROGRESS);
  const char *m[] = {ids[0], ids[1]}, *p[] = {"a", "b"};
  sync_req("g", ids[0], NULL, 1, NULL, NULL, m, p, 2);
  store_done(store_out()->store_id, ERR_NONE);
  ck_assert_int_eq(group_commit_check(C, S("g"), S(ids[1]), NUL, 1, 8, now), ERR_NONE);
  ck_assert_int_eq(group_commit_check(C, S("g"), S(ids[1]), NUL, 2, 8, now),
                   ERR_ILLEGAL_GENERATION);
  ck_assert_int_eq(group_commit_check(C, S("g"), S("stranger"), NUL, 1, 8, now),
                   ERR_UNKNOWN_MEMBER_ID);
  /* no member id and generation -1 on a group with members */
  ck_assert_int_eq(group_commit_check(C, S("g"), S(""), NUL, -1, 8, now), ERR_UNKNOWN_MEMBER_ID);
  /* a commit keeps the session alive */
  int64_t t = now;
  now = t + session_ms - 1;
  ck_assert_int_eq(group_commit_check(C, S("g"), S(ids[0]), NUL, 1, 8, now), ERR_NONE);
  heartbeat("g", ids[1], NULL, 1);
  tick_at(t + session_ms);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_STABLE);
  ck_assert_uint_eq(members, 2);
}
END_TEST

/* ---- reads ---- */

START_TEST(describe_and_list_groups) {
  start();
  char ids[1][96];
  stable_group("stable", 1, ids);
  join("preparing", "", NULL, 3, "range", "m");
  ck_assert_int_eq(group_commit_check(C, S("simple"), S(""), NUL, -1, 8, now), ERR_NONE);
  struct wire_arena a;
  wire_arena_init(&a, 1 << 20);
  struct group_listed *l;
  size_t n;
  ck_assert_int_eq(group_list(C, NULL, 0, NULL, 0, &a, &l, &n), 0);
  ck_assert_uint_eq(n, 3);
  ck_assert(str_eq(l[0].group_id, "preparing") && str_eq(l[0].state, "PreparingRebalance"));
  ck_assert(str_eq(l[1].group_id, "simple") && str_eq(l[1].state, "Empty"));
  ck_assert(str_eq(l[1].protocol_type, ""));
  ck_assert(str_eq(l[2].group_id, "stable") && str_eq(l[2].protocol_type, "consumer"));
  ck_assert(str_eq(l[2].type, "classic"));
  struct wire_str states[] = {S("stable"), S("EMPTY")};
  ck_assert_int_eq(group_list(C, states, 2, NULL, 0, &a, &l, &n), 0);
  ck_assert_uint_eq(n, 2);
  struct wire_str types[] = {S("consumer")};
  ck_assert_int_eq(group_list(C, NULL, 0, types, 1, &a, &l, &n), 0);
  ck_assert_uint_eq(n, 0);
  struct group_description d;
  ck_assert(group_describe(C, S("preparing"), &a, &d));
  ck_assert(str_eq(d.state, "PreparingRebalance") && str_eq(d.protocol_data, ""));
  ck_assert_uint_eq(d.member_count, 1);
  ck_assert_int_eq(d.members[0].metadata.len, 0); /* only Stable groups show metadata */
  ck_assert(str_eq(d.members[0].client_id, "client"));
  ck_assert(!group_describe(C, S("nope"), &a, &d));
  wire_arena_free(&a);
  ck_assert_int_eq(group_delete(C, S("stable")), ERR_NON_EMPTY_GROUP);
}
END_TEST

/* ---- loading from __consumer_offsets ---- */

/* A ConsumerProtocolSubscription v0 of the given topics (no user data). */
static int32_t subscription(uint8_t *buf, const char *const *topics, size_t n) {
  size_t len = 0;
  buf[len++] = 0; /* version 0 */
  buf[len++] = 0;
  buf[len++] = 0; /* topic count */
  buf[len++] = 0;
  buf[len++] = (uint8_t)(n >> 8);
  buf[len++] = (uint8_t)n;
  for (size_t i = 0; i < n; i++) {
    size_t tl = strlen(topics[i]);
    buf[len++] = (uint8_t)(tl >> 8);
    buf[len++] = (uint8_t)tl;
    memcpy(buf + len, topics[i], tl);
    len += tl;
  }
  memset(buf + len, 0xff, 4); /* user data: null */
  len += 4;
  return (int32_t)len;
}

static struct wire_bytes B(const uint8_t *p, int32_t len) {
  return (struct wire_bytes){p, len, NULL};
}

static struct wire_bytes
BS(const char *s) {
  return B((const uint8_t *)s, (int32_t)strlen(s));
}

/* A member of a GroupMetadata record, with the test's timeouts. */
static struct group_store_member
lmember(const char *id, const char *instance, struct wire_bytes sub, const char *assignment) {
  return (struct group_store_member){
      .member_id = S(id),
      .group_instance_id = S(instance),
      .client_id = S("client"),
      .client_host = S("/10.0.0.1"),
      .rebalance_timeout_ms = rebalance_ms,
      .session_timeout_ms = session_ms,
      .subscription = sub,
      .assignment = BS(assignment),
  };
}

/* Replays a GroupMetadata record (outputs reset first). */
static void load(const char *group, const char *ptype, const char *pname, const char *leader,
                 int32_t generation, int64_t state_ms, struct group_store_member *members,
                 size_t count) {
  struct group_store r = {
      .group_id = S(group),
      .protocol_type = S(ptype),
      .protocol_name = S(pname),
      .leader = S(leader),
      .generation_id = generation,
      .state_timestamp_ms = state_ms,
      .members = members,
      .member_count = count,
  };
  group_outputs_reset(&O);
  group_load(C, &r, now, &O);
}

/* "g": Stable, generation 5, "range", members m1 (leader) and m2, subscribed to t1 and t2. */
static void load_stable(void) {
  static uint8_t s1[64], s2[64];
  const char *t1[] = {"t1"}, *t2[] = {"t2", "t1"};
  struct group_store_member m[] = {
      lmember("m1", NULL, B(s1, subscription(s1, t1, 1)), "a1"),
      lmember("m2", NULL, B(s2, subscription(s2, t2, 2)), "a2"),
  };
  load("g", "consumer", "range", "m1", 5, 700, m, 2);
}

static enum group_expiry expiry(const char *group, int64_t *state_ms) {
  *state_ms = -42;
  return group_offset_expiry(C, S(group), state_ms);
}

START_TEST(loaded_empty_and_stable_groups_serve_their_members) {
  start();
  load("e", "consumer", NULL, NULL, 3, 500, NULL, 0);
  int32_t gen;
  size_t members;
  ck_assert_int_eq(state_of("e", &gen, &members), GROUP_EMPTY);
  ck_assert_int_eq(gen, 3);
  ck_assert_uint_eq(members, 0);
  ck_assert_int_eq(O.deadline_ms, INT64_MAX);

  load_stable();
  ck_assert_int_eq(state_of("g", &gen, &members), GROUP_STABLE);
  ck_assert_int_eq(gen, 5);
  ck_assert_uint_eq(members, 2);
  ck_assert_int_eq(O.count, 0); /* loading writes nothing */
  ck_assert_int_eq(O.deadline_ms, now + session_ms);
  /* the stored members heartbeat, sync and rejoin as before the restart */
  ck_assert_int_eq(heartbeat("g", "m1", NULL, 5), ERR_NONE);
  ck_assert_int_eq(heartbeat("g", "m2", NULL, 4), ERR_ILLEGAL_GENERATION);
  ck_assert_int_eq(heartbeat("g", "m3", NULL, 5), ERR_UNKNOWN_MEMBER_ID);
  uint64_t s = sync_simple("g", "m2", 5);
  ck_assert_int_eq(sync_resp(s)->error, ERR_NONE);
  ck_assert(bytes_eq(sync_resp(s)->assignment, "a2"));
  ck_assert(str_eq(sync_resp(s)->protocol_name, "range"));
  struct wire_arena a;
  wire_arena_init(&a, 1 << 20);
  struct group_description d;
  ck_assert(group_describe(C, S("g"), &a, &d));
  ck_assert(str_eq(d.state, "Stable") && str_eq(d.protocol_data, "range"));
  ck_assert(str_eq(d.protocol_type, "consumer"));
  ck_assert_uint_eq(d.member_count, 2);
  ck_assert(str_eq(d.members[0].member_id, "m1") && str_eq(d.members[0].client_host, "/10.0.0.1"));
  ck_assert(bytes_eq(d.members[0].assignment, "a1"));
  ck_assert_int_eq(d.members[0].metadata.len, 14); /* its stored subscription */
  wire_arena_free(&a);
  /* the follower rejoining with its stored metadata gets the generation without a rebalance */
  uint8_t sub[64];
  const char *t2[] = {"t2", "t1"};
  struct group_protocol p = {S("range"), B(sub, subscription(sub, t2, 2))};
  struct group_join_request r = {
      .version = 5,
      .group_id = S("g"),
      .member_id = S("m2"),
      .group_instance_id = NUL,
      .session_timeout_ms = session_ms,
      .rebalance_timeout_ms = rebalance_ms,
      .protocol_type = S("consumer"),
      .protocols = &p,
      .protocol_count = 1,
      .client_id = S("client"),
      .client_host = S("/10.0.0.1"),
  };
  group_outputs_reset(&O);
  group_join(C, &r, 99, now, &O);
  ck_assert_int_eq(join_resp(99)->error, ERR_NONE);
  ck_assert_int_eq(join_resp(99)->generation_id, 5);
  ck_assert(str_eq(join_resp(99)->leader, "m1"));
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
  /* the leader's JoinGroup rebalances, as it always does */
  join_full("g", "m1", NULL, 5, "consumer", "range", "x", "client");
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
}
END_TEST

START_TEST(loaded_member_that_never_heartbeats_expires) {
  start();
  int64_t t0 = now;
  load_stable();
  now = t0 + session_ms / 2;
  ck_assert_int_eq(heartbeat("g", "m2", NULL, 5), ERR_NONE);
  tick_at(t0 + session_ms - 1);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
  tick_at(t0 + session_ms);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_PREPARING_REBALANCE);
  ck_assert_uint_eq(members, 1);
  ck_assert_int_eq(heartbeat("g", "m1", NULL, 5), ERR_UNKNOWN_MEMBER_ID);
  ck_assert_int_eq(heartbeat("g", "m2", NULL, 5), ERR_REBALANCE_IN_PROGRESS);
  uint64_t t = join_full("g", "m2", NULL, 5, "consumer", "range", "x", "client");
  ck_assert_int_eq(join_resp(t)->generation_id, 6);
  ck_assert(str_eq(join_resp(t)->leader, "m2"));
  /* m2 goes silent too: the group empties */
  tick_at(now + session_ms);
  int32_t gen;
  ck_assert_int_eq(state_of("g", &gen, &members), GROUP_EMPTY);
  ck_assert_int_eq(gen, 7);
  ck_assert_uint_eq(members, 0);
  ck_assert(store_out() != NULL && store_out()->member_count == 0);
  int64_t state_ms;
  ck_assert_int_eq(expiry("g", &state_ms), GROUP_EXPIRY_STATE);
  ck_assert_int_eq(state_ms, now);
}
END_TEST

START_TEST(a_lone_loaded_member_expiring_empties_the_group) {
  start();
  int64_t t0 = now;
  struct group_store_member m[] = {lmember("m1", NULL, BS("x"), "a1")};
  load("g", "consumer", "range", "m1", 2, 700, m, 1);
  tick_at(t0 + session_ms);
  int32_t gen;
  ck_assert_int_eq(state_of("g", &gen, NULL), GROUP_EMPTY);
  ck_assert_int_eq(gen, 3);
  ck_assert(store_out() != NULL);
  ck_assert_int_eq(group_deadline(C), INT64_MAX);
}
END_TEST

START_TEST(a_v0_records_rebalance_timeout_is_the_session_timeout) {
  start();
  int64_t t0 = now;
  struct group_store_member m[] = {lmember("m1", NULL, BS("x"), "a1")};
  m[0].rebalance_timeout_ms = -1;
  load("g", "consumer", "range", "m1", 2, 700, m, 1);
  rebalance_ms = 1000;
  uint64_t t = join("g", "", NULL, 3, "range", "x"); /* a new member: a rebalance */
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  tick_at(t0 + 1000);
  ck_assert(!answered(t));
  tick_at(t0 + session_ms);
  ck_assert_int_eq(join_resp(t)->error, ERR_NONE);
  ck_assert_int_eq(join_resp(t)->generation_id, 3);
}
END_TEST

START_TEST(static_member_rejoins_a_loaded_group_without_rebalance) {
  start();
  struct group_store_member m[] = {
      lmember("i-0-old", "i-0", BS("m0"), "p0"),
      lmember("i-1-old", "i-1", BS("m1"), "p1"),
  };
  load("g", "consumer", "range", "i-0-old", 4, 700, m, 2);
  ck_assert_int_eq(heartbeat("g", "i-1-old", "i-0", 4), ERR_FENCED_INSTANCE_ID);
  uint64_t t = join_full("g", "", "i-1", 5, "consumer", "range", "m1", "c1");
  ck_assert(!answered(t));
  const struct group_store *st = store_out();
  ck_assert(st != NULL && st->awaited);
  ck_assert_int_eq(st->generation_id, 4);
  store_done(st->store_id, ERR_NONE);
  const struct group_join_response *r = join_resp(t);
  ck_assert_int_eq(r->error, ERR_NONE);
  ck_assert_int_eq(r->generation_id, 4);
  ck_assert(str_eq(r->leader, "i-0-old"));
  char new_id[96];
  str_copy(new_id, sizeof(new_id), r->member_id);
  int32_t gen;
  ck_assert_int_eq(state_of("g", &gen, NULL), GROUP_STABLE);
  ck_assert_int_eq(gen, 4);
  uint64_t s = sync_req("g", new_id, "i-1", 4, NULL, NULL, NULL, NULL, 0);
  ck_assert(bytes_eq(sync_resp(s)->assignment, "p1"));
  ck_assert_int_eq(heartbeat("g", "i-1-old", "i-1", 4), ERR_FENCED_INSTANCE_ID);
  ck_assert_int_eq(heartbeat("g", "i-0-old", "i-0", 4), ERR_NONE);
}
END_TEST

START_TEST(later_records_replace_and_odd_records_are_tidied) {
  start();
  load_stable();
  /* the group emptied later: its next record wins */
  load("g", "consumer", NULL, NULL, 6, 900, NULL, 0);
  int32_t gen;
  size_t members;
  ck_assert_int_eq(state_of("g", &gen, &members), GROUP_EMPTY);
  ck_assert_int_eq(gen, 6);
  ck_assert_uint_eq(members, 0);
  ck_assert_int_eq(group_count(C), 1);
  ck_assert_int_eq(group_deadline(C), INT64_MAX); /* the old members' timers are gone */
  int64_t state_ms;
  ck_assert_int_eq(expiry("g", &state_ms), GROUP_EXPIRY_STATE);
  ck_assert_int_eq(state_ms, 900);
  /* a leader that is not a member: the first member leads; a repeated instance id is dropped */
  struct group_store_member m[] = {
      lmember("a", "i-a", BS("x"), "pa"),
      lmember("b", "i-a", BS("x"), "pb"),
      lmember("c", NULL, BS("x"), "pc"),
      lmember("a", NULL, BS("x"), "pa2"),
  };
  load("h", "consumer", "range", "gone", 1, 700, m, 4);
  ck_assert_int_eq(state_of("h", NULL, &members), GROUP_STABLE);
  ck_assert_uint_eq(members, 2);
  ck_assert_int_eq(heartbeat("h", "b", NULL, 1), ERR_UNKNOWN_MEMBER_ID);
  uint64_t t = join_full("h", "c", NULL, 5, "consumer", "range", "x", "client");
  ck_assert(str_eq(join_resp(t)->leader, "a")); /* a follower's rejoin: no rebalance */
  /* members without a protocol (not a record Kafka writes): loaded without them */
  load("i", "consumer", NULL, "a", 1, 700, m, 1);
  ck_assert_int_eq(state_of("i", NULL, &members), GROUP_EMPTY);
  ck_assert_uint_eq(members, 0);
  load("j", "", "range", "a", 1, 700, m, 1);
  ck_assert_int_eq(state_of("j", NULL, &members), GROUP_EMPTY);
  ck_assert_uint_eq(members, 0);
}
END_TEST

START_TEST(a_loaded_group_over_the_max_size_rebalances) {
  CFG.max_size = 1;
  start();
  int64_t t0 = now;
  load_stable();
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  ck_assert_int_eq(heartbeat("g", "m2", NULL, 5), ERR_REBALANCE_IN_PROGRESS);
  uint64_t a = join_full("g", "m1", NULL, 5, "consumer", "range", "x", "client");
  uint64_t b = join_full("g", "m2", NULL, 5, "consumer", "range", "x", "client");
  ck_assert_int_eq(join_resp(b)->error, ERR_GROUP_MAX_SIZE_REACHED);
  /* as in Kafka, the refused member's removal does not end the join phase: its timer does */
  tick_at(t0 + rebalance_ms);
  ck_assert_int_eq(join_resp(a)->generation_id, 6);
  size_t members;
  ck_assert_int_eq(state_of("g", NULL, &members), GROUP_COMPLETING_REBALANCE);
  ck_assert_uint_eq(members, 1);
}
END_TEST

START_TEST(unload_removes_a_group) {
  start();
  load_stable();
  load("e", "consumer", NULL, NULL, 3, 500, NULL, 0);
  group_unload(C, S("g"));
  ck_assert_int_eq(group_count(C), 1);
  enum group_state st;
  int32_t gen;
  size_t n;
  ck_assert(!group_find_state(C, "g", &st, &gen, &n));
  ck_assert_int_eq(group_deadline(C), INT64_MAX);
  group_unload(C, S("nope"));
  group_unload(C, S("e"));
  ck_assert_int_eq(group_count(C), 0);
  ck_assert_int_eq(heartbeat("g", "m1", NULL, 5), ERR_UNKNOWN_MEMBER_ID);
}
END_TEST

START_TEST(load_simple_creates_an_empty_group_without_protocol_only_if_absent) {
  start();
  group_load_simple(C, S("s"), now);
  ck_assert_int_eq(state_of("s", NULL, NULL), GROUP_EMPTY);
  struct wire_arena a;
  wire_arena_init(&a, 1 << 20);
  struct group_description d;
  ck_assert(group_describe(C, S("s"), &a, &d));
  ck_assert(str_eq(d.protocol_type, ""));
  wire_arena_free(&a);
  int64_t state_ms;
  ck_assert_int_eq(expiry("s", &state_ms), GROUP_EXPIRY_COMMIT);
  load_stable();
  group_load_simple(C, S("g"), now);
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_STABLE);
  ck_assert_int_eq(group_count(C), 2);
  /* a simple group then accepts simple commits and can be deleted */
  ck_assert_int_eq(group_commit_check(C, S("s"), S(""), NUL, -1, 8, now), ERR_NONE);
  ck_assert_int_eq(group_delete(C, S("s")), ERR_NONE);
}
END_TEST

/* ---- offset expiry and OffsetDelete ---- */

START_TEST(offset_expiry_by_group_state) {
  start();
  int64_t state_ms;
  ck_assert_int_eq(expiry("none", &state_ms), GROUP_EXPIRY_COMMIT);
  group_load_simple(C, S("simple"), now);
  ck_assert_int_eq(expiry("simple", &state_ms), GROUP_EXPIRY_COMMIT);
  load("empty", "consumer", NULL, NULL, 3, 500, NULL, 0);
  ck_assert_int_eq(expiry("empty", &state_ms), GROUP_EXPIRY_STATE);
  ck_assert_int_eq(state_ms, 500);
  load("old", "consumer", NULL, NULL, 3, -1, NULL, 0); /* a v0/v1 record: no state timestamp */
  ck_assert_int_eq(expiry("old", &state_ms), GROUP_EXPIRY_COMMIT);
  load("connect-empty", "connect", NULL, NULL, 3, 600, NULL, 0);
  ck_assert_int_eq(expiry("connect-empty", &state_ms), GROUP_EXPIRY_STATE);
  ck_assert_int_eq(state_ms, 600);
  load_stable(); /* consumer, subscriptions parsed */
  ck_assert_int_eq(expiry("g", &state_ms), GROUP_EXPIRY_COMMIT);
  struct group_store_member m[] = {lmember("m1", NULL, BS("not a subscription"), "a1")};
  load("unparsed", "consumer", "range", "m1", 1, 700, m, 1);
  ck_assert_int_eq(expiry("unparsed", &state_ms), GROUP_EXPIRY_NONE);
  load("connect", "connect", "v1", "m1", 1, 700, m, 1);
  ck_assert_int_eq(expiry("connect", &state_ms), GROUP_EXPIRY_NONE);
  /* rebalancing: PreparingRebalance, then CompletingRebalance */
  join_full("g", "m1", NULL, 5, "consumer", "range", "x", "client");
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  ck_assert_int_eq(expiry("g", &state_ms), GROUP_EXPIRY_NONE);
  join_full("g", "m2", NULL, 5, "consumer", "range", "x", "client");
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  ck_assert_int_eq(expiry("g", &state_ms), GROUP_EXPIRY_NONE);
  /* a group formed by JoinGroup with metadata that is no subscription: topics unknown */
  char ids[1][96];
  stable_group("live", 1, ids);
  ck_assert_int_eq(expiry("live", &state_ms), GROUP_EXPIRY_NONE);
  /* it empties: its offsets expire from then */
  struct group_leaving l = {S(ids[0]), NUL};
  int16_t err;
  now += 100;
  group_outputs_reset(&O);
  group_leave(C, S("live"), &l, 1, &err, now, &O);
  ck_assert_int_eq(state_of("live", NULL, NULL), GROUP_EMPTY);
  ck_assert_int_eq(expiry("live", &state_ms), GROUP_EXPIRY_STATE);
  ck_assert_int_eq(state_ms, now);
  ck_assert(!group_subscribed(C, S("live"), S("t1"))); /* an Empty consumer group: none */
}
END_TEST

/* JoinGroup with a consumer subscription as every protocol's metadata. */
static uint64_t join_subscribed(const char *group, const char *member, const char *ptype,
                                const char *const *topics, size_t n) {
  uint8_t sub[256];
  struct group_protocol p = {S("range"), B(sub, subscription(sub, topics, n))};
  struct group_join_request r = {
      .version = 3,
      .group_id = S(group),
      .member_id = S(member),
      .group_instance_id = NUL,
      .session_timeout_ms = session_ms,
      .rebalance_timeout_ms = rebalance_ms,
      .protocol_type = S(ptype),
      .protocols = &p,
      .protocol_count = 1,
      .client_id = S("client"),
      .client_host = S("/127.0.0.1"),
  };
  uint64_t tag = next_tag++;
  group_outputs_reset(&O);
  group_join(C, &r, tag, now, &O);
  return tag;
}

START_TEST(subscribed_topics_come_from_consumer_metadata) {
  start();
  ck_assert(!group_subscribed(C, S("g"), S("t1")));
  load_stable();
  ck_assert(group_subscribed(C, S("g"), S("t1")));
  ck_assert(group_subscribed(C, S("g"), S("t2")));
  ck_assert(!group_subscribed(C, S("g"), S("t3")));
  ck_assert(!group_subscribed(C, S("g"), S("t")));
  ck_assert(!group_subscribed(C, S("g"), S("")));
  /* computed when a generation starts, from the members that are in it */
  const char *ta[] = {"a", "b"}, *tb[] = {"c", "a"};
  uint64_t j1 = join_subscribed("live", "", "consumer", ta, 2);
  uint64_t j2 = join_subscribed("live", "", "consumer", tb, 2);
  /* no generation yet: unknown, so every topic counts as subscribed (Kafka's caution) */
  ck_assert(group_subscribed(C, S("live"), S("zzz")));
  tick_at(now);
  ck_assert_int_eq(join_resp(j1)->error, ERR_NONE);
  ck_assert_int_eq(join_resp(j2)->error, ERR_NONE);
  ck_assert_int_eq(state_of("live", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  ck_assert(group_subscribed(C, S("live"), S("a")));
  ck_assert(group_subscribed(C, S("live"), S("b")));
  ck_assert(group_subscribed(C, S("live"), S("c")));
  ck_assert(!group_subscribed(C, S("live"), S("d")));
  int64_t state_ms;
  ck_assert_int_eq(expiry("live", &state_ms), GROUP_EXPIRY_NONE);
  char id1[96], id2[96];
  str_copy(id1, sizeof(id1), join_resp(j1)->member_id);
  str_copy(id2, sizeof(id2), join_resp(j2)->member_id);
  const char *m[] = {id1, id2}, *b[] = {"x", "y"};
  sync_req("live", id1, NULL, 1, NULL, NULL, m, b, 2);
  store_done(store_out()->store_id, ERR_NONE);
  ck_assert_int_eq(state_of("live", NULL, NULL), GROUP_STABLE);
  ck_assert_int_eq(expiry("live", &state_ms), GROUP_EXPIRY_COMMIT);
  /* the second member leaves: the next generation subscribes to a and b only */
  struct group_leaving l = {S(id2), NUL};
  int16_t err;
  group_outputs_reset(&O);
  group_leave(C, S("live"), &l, 1, &err, now, &O);
  ck_assert(group_subscribed(C, S("live"), S("c"))); /* still the last generation's */
  join_subscribed("live", id1, "consumer", ta, 2);
  ck_assert_int_eq(state_of("live", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  ck_assert(group_subscribed(C, S("live"), S("a")));
  ck_assert(!group_subscribed(C, S("live"), S("c")));
  /* another protocol type: the metadata is not read, no topic is subscribed */
  join_subscribed("other", "", "connect", ta, 2);
  tick_at(now);
  ck_assert_int_eq(state_of("other", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  ck_assert(!group_subscribed(C, S("other"), S("a")));
  /* consumer metadata that does not parse: every topic counts as subscribed (Kafka's caution) */
  struct group_store_member bad[] = {lmember("m1", NULL, BS("z"), "a1")};
  load("bad", "consumer", "range", "m1", 1, 700, bad, 1);
  ck_assert(group_subscribed(C, S("bad"), S("anything")));
  /* and a record with an unparseable member among good ones: unknown too */
  uint8_t good[64];
  const char *tg[] = {"a"};
  struct group_store_member mixed[] = {
      lmember("m1", NULL, B(good, subscription(good, tg, 1)), "a1"),
      lmember("m2", NULL, BS("zz"), "a2"),
  };
  load("mixed", "consumer", "range", "m1", 1, 700, mixed, 2);
  ck_assert(group_subscribed(C, S("mixed"), S("b")));
  ck_assert_int_eq(expiry("mixed", &state_ms), GROUP_EXPIRY_NONE);
}
END_TEST

START_TEST(offset_delete_checks) {
  start();
  ck_assert_int_eq(group_offset_delete_check(C, S("")), ERR_INVALID_GROUP_ID);
  ck_assert_int_eq(group_offset_delete_check(C, S("none")), ERR_GROUP_ID_NOT_FOUND);
  group_load_simple(C, S("simple"), now);
  ck_assert_int_eq(group_offset_delete_check(C, S("simple")), ERR_NONE);
  load_stable();
  ck_assert_int_eq(group_offset_delete_check(C, S("g")), ERR_NONE);
  struct group_store_member m[] = {lmember("m1", NULL, BS("x"), "a1")};
  load("connect", "connect", "v1", "m1", 1, 700, m, 1);
  ck_assert_int_eq(group_offset_delete_check(C, S("connect")), ERR_NON_EMPTY_GROUP);
  load("connect-empty", "connect", NULL, NULL, 1, 700, NULL, 0);
  ck_assert_int_eq(group_offset_delete_check(C, S("connect-empty")), ERR_NONE);
  /* a rebalancing consumer group passes (its subscribed topics are refused one by one) */
  join_full("g", "m1", NULL, 5, "consumer", "range", "x", "client");
  ck_assert_int_eq(state_of("g", NULL, NULL), GROUP_PREPARING_REBALANCE);
  ck_assert_int_eq(group_offset_delete_check(C, S("g")), ERR_NONE);
  /* a rebalancing group of another type does not */
  join_full("connect", "m1", NULL, 5, "connect", "v1", "y", "client");
  ck_assert_int_eq(state_of("connect", NULL, NULL), GROUP_COMPLETING_REBALANCE);
  ck_assert_int_eq(group_offset_delete_check(C, S("connect")), ERR_NON_EMPTY_GROUP);
}
END_TEST

static Suite *group_suite(void) {
  Suite *s = suite_create("group");
  TCase *t = tcase_create("states");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, state_names_are_kafkas);
  tcase_add_test(t, every_transition_of_a_group_lifetime);
  tcase_add_test(t, stable_leader_rejoin_rebalances_but_an_unchanged_follower_does_not);
  suite_add_tcase(s, t);
  t = tcase_create("join");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, member_id_required_handshake);
  tcase_add_test(t, v3_join_gets_a_member_id_at_once);
  tcase_add_test(t, three_members_join_and_sync_each_gets_its_partitions);
  tcase_add_test(t, protocol_chosen_by_votes_among_common_protocols);
  tcase_add_test(t, inconsistent_group_protocol_is_refused);
  tcase_add_test(t, join_request_checks);
  tcase_add_test(t, group_max_size_refuses_the_member_beyond_it);
  tcase_add_test(t, initial_delay_extends_but_never_past_the_rebalance_timeout);
  tcase_add_test(t, initial_delay_completes_without_new_members);
  suite_add_tcase(s, t);
  t = tcase_create("static");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, static_member_restart_causes_no_rebalance);
  tcase_add_test(t, static_leader_restart_v9_skips_assignment_older_names_old_leader);
  tcase_add_test(t, static_member_restart_with_new_protocol_rebalances);
  tcase_add_test(t, static_member_store_failure_restores_the_old_id);
  tcase_add_test(t, fenced_instance_id);
  tcase_add_test(t, static_members_stay_through_a_rebalance_they_miss);
  suite_add_tcase(s, t);
  t = tcase_create("timeouts");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, member_expiry_and_the_rebalance_that_follows);
  tcase_add_test(t, rebalance_timeout_drops_members_that_do_not_rejoin);
  tcase_add_test(t, members_that_never_sync_are_removed);
  tcase_add_test(t, pending_member_expires_and_unblocks_the_rebalance);
  tcase_add_test(t, a_new_member_join_times_out_after_five_minutes);
  tcase_add_test(t, leader_assignment_store_failure_fails_the_syncs);
  suite_add_tcase(s, t);
  t = tcase_create("late");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, duplicate_join_replaces_the_parked_one);
  tcase_add_test(t, late_requests_after_the_generation_moved_on);
  tcase_add_test(t, heartbeat_answers_by_state);
  tcase_add_test(t, a_store_completing_after_the_group_moved_on_changes_nothing);
  tcase_add_test(t, a_member_waiting_for_its_sync_response_is_not_expired);
  suite_add_tcase(s, t);
  t = tcase_create("leave");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, batched_leave_reports_each_member);
  tcase_add_test(t, leave_during_rebalance_completes_the_join);
  tcase_add_test(t, leaving_member_with_parked_join_is_answered);
  suite_add_tcase(s, t);
  t = tcase_create("offsets_and_reads");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, offset_commit_checks);
  tcase_add_test(t, describe_and_list_groups);
  suite_add_tcase(s, t);
  t = tcase_create("load");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, loaded_empty_and_stable_groups_serve_their_members);
  tcase_add_test(t, loaded_member_that_never_heartbeats_expires);
  tcase_add_test(t, a_lone_loaded_member_expiring_empties_the_group);
  tcase_add_test(t, a_v0_records_rebalance_timeout_is_the_session_timeout);
  tcase_add_test(t, static_member_rejoins_a_loaded_group_without_rebalance);
  tcase_add_test(t, later_records_replace_and_odd_records_are_tidied);
  tcase_add_test(t, a_loaded_group_over_the_max_size_rebalances);
  tcase_add_test(t, unload_removes_a_group);
  tcase_add_test(t, load_simple_creates_an_empty_group_without_protocol_only_if_absent);
  suite_add_tcase(s, t);
  t = tcase_create("expiry");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, offset_expiry_by_group_state);
  tcase_add_test(t, subscribed_topics_come_from_consumer_metadata);
  tcase_add_test(t, offset_delete_checks);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(group_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
