/* The classic group coordinator's state machine; see group.h for how a caller drives it.
 *
 * States of a group (Kafka's ClassicGroupState) and the function that makes each transition:
 *
 *   Empty ---------------> PreparingRebalance    prepare_rebalance (first JoinGroup; the join
 *                                                phase then waits for the initial delay)
 *   Stable, Completing --> PreparingRebalance    prepare_rebalance (a new member, the leader's
 *                                                JoinGroup, changed metadata, a leave, a
 *                                                session or sync timeout)
 *   PreparingRebalance --> CompletingRebalance   complete_join -> next_generation (members left)
 *   PreparingRebalance --> Empty                 complete_join -> next_generation (nobody left)
 *   CompletingRebalance -> Stable                group_store_done -> store_sync_done (the
 *                                                leader's assignment is committed)
 *   CompletingRebalance -> PreparingRebalance    store_sync_done (that store failed)
 *   Empty -> Dead                                group_delete (the group then leaves the table)
 *
 * Loading (replay of __consumer_offsets, before any request) sets states directly, as Kafka's
 * replay constructs groups: group_load makes a group Empty (no members) or Stable (members, with
 * the stored assignments), replacing any of that id; group_load_simple makes an Empty group
 * without protocol type (an offset commit's); group_unload removes one (a tombstone).
 *
 * transition() refuses (aborts on) any other move. Dead groups are never in the table, so no
 * request meets one (Kafka answers COORDINATOR_NOT_AVAILABLE there only in races a single
 * threaded machine does not have).
 *
 * Invariants (check_group() asserts them after every call):
 *  1. A group with members has a leader, and the leader is a member; protocol_type is set.
 *  2. Instance ids are unique among members (the static member map is the member list).
 *  3. No member id is both a member and pending (MEMBER_ID_REQUIRED handed out, not back yet).
 *  4. Parked JoinGroups (awaiting_join) exist only in PreparingRebalance, except a static
 *     member's JoinGroup waiting for its store in Stable; parked SyncGroups (awaiting_sync) only
 *     in CompletingRebalance.
 *  5. protocol_name (the generation's protocol) is set in CompletingRebalance and Stable, and
 *     unset in Empty.
 *  6. pending_sync members exist only in CompletingRebalance and Stable.
 *  7. Every tag handed in is answered exactly once: by an immediate response, by the event that
 *     completes it, or at once with REBALANCE_IN_PROGRESS when the same member's retry replaces
 *     it (Kafka leaves the replaced request unanswered).
 *  8. The subscribed topics, when known, are sorted and unique. They are computed (Kafka's
 *     computeSubscribedTopics) by next_generation and group_load only, so between generations
 *     they describe the last one, as in Kafka.
 *
 * Timers are deadlines kept in the group and its members, run by group_tick in deadline order:
 *   join     initial delay (Empty -> PreparingRebalance: delayed while new members keep
 *            arriving, at most the rebalance timeout in all) or the rebalance timeout
 *   sync     rebalance timeout after a join phase completes: members that never sent SyncGroup
 *            are removed and the group rebalances
 *   member   session timeout (new members: new_member_join_timeout_ms while their first
 *            JoinGroup is parked); a member awaiting a join or sync response is spared
 *   pending  session timeout of a member id handed out with MEMBER_ID_REQUIRED
 *
 * Allocation failures abort: a half-made transition would break the invariants above, and the
 * state is bounded by group.max.size and by the request limits upstream. */
#include "group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "group_offsets.h"
#include "xalloc.h"

#define NO_DEADLINE INT64_MAX

/* ---- memory ---- */

static char *xstrdup(const char *s) { return s == NULL ? NULL : xstrndup(s, strlen(s)); }

/* NULL for a null string. */
static char *str_dup(struct wire_str s) {
  return s.len < 0 ? NULL : xstrndup(s.ptr, (size_t)s.len);
}

static struct wire_str str_of(const char *s) {
  return (struct wire_str){s, s == NULL ? -1 : (int32_t)strlen(s)};
}

/* a equals b, a NULL matching only a null b. */
static bool str_is(const char *a, struct wire_str b) {
  if (a == NULL || b.len < 0) return a == NULL && b.len < 0;
  return strlen(a) == (size_t)b.len && memcmp(a, b.ptr, (size_t)b.len) == 0;
}

static bool str_cmp_eq(const char *a, const char *b) {
  return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

struct gbytes {
  uint8_t *p;
  size_t len;
};

static struct gbytes bytes_dup(const uint8_t *p, size_t len) {
  struct gbytes b = {xmalloc(len), len};
  if (len > 0) memcpy(b.p, p, len);
  return b;
}

static struct gbytes bytes_of(struct wire_bytes b) {
  return bytes_dup(b.ptr, b.len > 0 ? (size_t)b.len : 0);
}

/* ---- state ---- */

struct gproto {
  char *name;
  struct gbytes metadata;
};

struct gmember {
  char *id, *instance_id; /* instance_id NULL: dynamic */
  char *client_id, *client_host, *protocol_type;
  int32_t session_timeout_ms, rebalance_timeout_ms;
  struct gproto *protocols; /* in the member's order of preference */
  size_t protocol_count;
  struct gbytes assignment;
  bool is_new;       /* joined, no join response yet: may expire while parked */
  bool pending_sync; /* got the join response of this generation, no SyncGroup yet */
  bool awaiting_join, awaiting_sync;
  uint64_t join_tag, sync_tag;
  int16_t join_version;
  int64_t heartbeat_deadline_ms;
};

struct gpending {
  char *id;
  int64_t deadline_ms;
};

enum join_timer { JOIN_TIMER_NONE, JOIN_TIMER_INITIAL, JOIN_TIMER_REBALANCE };

struct group {
  char *id;
  uint64_t serial; /* tells a re-created group from an old one of the same id */
  enum group_state state, previous_state;
  int64_t state_timestamp_ms;
  int32_t generation;
  char *protocol_type, *protocol_name; /* NULL: none */
  struct gmember *leader;
  struct gmember **members; /* in join order */
  size_t member_count, member_capacity;
  struct gpending *pending;
  size_t pending_count, pending_capacity;
  bool new_member_added; /* during the initial delay: extend it */
  enum join_timer join_timer;
  int64_t join_deadline_ms;
  int32_t initial_delay_ms, initial_remaining_ms;
  int64_t sync_deadline_ms;
  int32_t sync_generation;
  int64_t next_deadline_ms; /* the earliest of the above and the members'; may be early */
  bool topics_known;        /* Kafka's subscribedTopics is present */
  char **topics;            /* sorted, unique; topic_count of them */
  size_t topic_count;
};

enum store_kind { STORE_SYNC, STORE_STATIC };

struct gassign {
  char *member_id;
  struct gbytes assignment;
};

/* A store whose outcome responses wait for. */
struct gstore {
  struct gstore *next;
  uint64_t id, group_serial;
  enum store_kind kind;
  char *group_id;
  int32_t generation;
  /* STORE_SYNC: the leader's assignment */
  struct gassign *assignments;
  size_t assignment_count;
  /* STORE_STATIC: what to answer, and what to restore on failure */
  char *instance_id, *old_member_id, *new_member_id, *leader_before;
  struct gproto *old_protocols;
  size_t old_protocol_count;
  int32_t old_session_timeout_ms, old_rebalance_timeout_ms;
};

struct group_coord {
  struct group_config cfg;
  group_random_fn *random;
  void *random_arg;
  struct group **groups; /* sorted by id */
  size_t group_count, group_capacity;
  struct gstore *stores;
  uint64_t next_store_id, next_serial;
};

/* What a step needs besides the group. */
struct ctx {
  struct group_coord *c;
  int64_t now;
  struct group_outputs *out;
};

const char *group_state_name(enum group_state s) {
  switch (s) {
  case GROUP_EMPTY: return "Empty";
  case GROUP_PREPARING_REBALANCE: return "PreparingRebalance";
  case GROUP_COMPLETING_REBALANCE: return "CompletingRebalance";
  case GROUP_STABLE: return "Stable";
  case GROUP_DEAD: return "Dead";
  }
  return "Unknown";
}

void group_config_default(struct group_config *cfg) {
  cfg->max_size = INT32_MAX;
  cfg->initial_rebalance_delay_ms = 0;
  cfg->min_session_timeout_ms = 6000;
  cfg->max_session_timeout_ms = 1800000;
  cfg->new_member_join_timeout_ms = 5 * 60 * 1000;
}

/* ---- outputs ---- */

void group_outputs_init(struct group_outputs *o) {
  memset(o, 0, sizeof(*o));
  o->deadline_ms = NO_DEADLINE;
  wire_arena_init(&o->arena, SIZE_MAX);
}

void group_outputs_reset(struct group_outputs *o) {
  o->count = 0;
  o->deadline_ms = NO_DEADLINE;
  wire_arena_free(&o->arena);
}

void group_outputs_free(struct group_outputs *o) {
  wire_arena_free(&o->arena);
  free(o->items);
  memset(o, 0, sizeof(*o));
}

const struct group_out *group_outputs_find(const struct group_outputs *o, uint64_t tag) {
  for (size_t i = 0; i < o->count; i++)
    if (o->items[i].kind != GROUP_OUT_STORE && o->items[i].tag == tag) return &o->items[i];
  return NULL;
}

static void *out_alloc(struct group_outputs *o, size_t size) {
  void *p = wire_arena_alloc(&o->arena, size);
  if (p == NULL) abort();
  return p;
}

static struct wire_str out_str(struct group_outputs *o, const char *s) {
  if (s == NULL) return (struct wire_str){NULL, -1};
  size_t n = strlen(s);
  char *d = out_alloc(o, n + 1);
  memcpy(d, s, n);
  return (struct wire_str){d, (int32_t)n};
}

static struct wire_bytes out_bytes(struct group_outputs *o, struct gbytes b) {
  uint8_t *d = out_alloc(o, b.len);
  if (b.len > 0) memcpy(d, b.p, b.len);
  return (struct wire_bytes){d, (int32_t)b.len, NULL};
}

static struct group_out *out_push(struct group_outputs *o, enum group_out_kind kind, uint64_t tag) {
  if (o->count == o->capacity) {
    o->capacity = o->capacity ? o->capacity * 2 : 8;
    o->items = xrealloc(o->items, o->capacity, sizeof(*o->items));
  }
  struct group_out *e = &o->items[o->count++];
  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->tag = tag;
  return e;
}

/* An error JoinGroup response (Kafka's defaults: generation -1, protocol name "", no leader). */
static void join_error(struct ctx *x, uint64_t tag, int16_t error, const char *member_id) {
  struct group_join_response *r = &out_push(x->out, GROUP_OUT_JOIN, tag)->u.join;
  r->error = error;
  r->generation_id = -1;
  r->protocol_type = (struct wire_str){NULL, -1};
  r->protocol_name = out_str(x->out, "");
  r->leader = out_str(x->out, "");
  r->member_id = out_str(x->out, member_id != NULL ? member_id : "");
}

static const struct gproto *member_protocol(const struct gmember *m, const char *name) {
  for (size_t i = 0; name != NULL && i < m->protocol_count; i++)
    if (strcmp(m->protocols[i].name, name) == 0) return &m->protocols[i];
  return NULL;
}

static struct gbytes member_metadata(const struct gmember *m, const char *protocol) {
  const struct gproto *p = member_protocol(m, protocol);
  return p != NULL ? p->metadata : (struct gbytes){NULL, 0};
}

/* The current generation's JoinGroup response to m: with the member list when with_members. */
static void join_answer(struct ctx *x, const struct group *g, const struct gmember *m, uint64_t tag,
                        bool with_members, bool skip_assignment, const char *leader) {
  struct group_join_response *r = &out_push(x->out, GROUP_OUT_JOIN, tag)->u.join;
  r->error = ERR_NONE;
  r->generation_id = g->generation;
  r->protocol_type = out_str(x->out, g->protocol_type);
  r->protocol_name = out_str(x->out, g->protocol_name);
  r->leader = out_str(x->out, leader != NULL ? leader : "");
  r->member_id = out_str(x->out, m->id);
  r->skip_assignment = skip_assignment;
  if (with_members) {
    r->members = out_alloc(x->out, g->member_count * sizeof(*r->members));
    r->member_count = g->member_count;
    for (size_t i = 0; i < g->member_count; i++) {
      const struct gmember *o = g->members[i];
      r->members[i].member_id = out_str(x->out, o->id);
      r->members[i].group_instance_id = out_str(x->out, o->instance_id);
      r->members[i].metadata = out_bytes(x->out, member_metadata(o, g->protocol_name));
    }
  }
}

static void sync_answer(struct ctx *x, const struct group *g, uint64_t tag, int16_t error,
                        struct gbytes assignment) {
  struct group_sync_response *r = &out_push(x->out, GROUP_OUT_SYNC, tag)->u.sync;
  r->error = error;
  r->protocol_type = out_str(x->out, g != NULL ? g->protocol_type : NULL);
  r->protocol_name = out_str(x->out, g != NULL ? g->protocol_name : NULL);
  r->assignment = out_bytes(x->out, assignment);
}

static const struct gassign *assign_find(const struct gstore *s, const char *member_id) {
  for (size_t i = 0; s != NULL && i < s->assignment_count; i++)
    if (strcmp(s->assignments[i].member_id, member_id) == 0) return &s->assignments[i];
  return NULL;
}

/* A GroupMetadata record of g; with_assignment (the leader's, not yet applied) when not NULL. */
static void store_emit(struct ctx *x, const struct group *g, uint64_t store_id, bool awaited,
                       const struct gstore *with_assignment) {
  struct group_store *s = &out_push(x->out, GROUP_OUT_STORE, 0)->u.store;
  s->store_id = store_id;
  s->awaited = awaited;
  s->group_id = out_str(x->out, g->id);
  s->protocol_type = out_str(x->out, g->protocol_type);
  s->protocol_name = out_str(x->out, g->protocol_name);
  s->leader = out_str(x->out, g->leader != NULL ? g->leader->id : NULL);
  s->generation_id = g->generation;
  s->state_timestamp_ms = g->state_timestamp_ms;
  s->members = out_alloc(x->out, g->member_count * sizeof(*s->members));
  s->member_count = g->member_count;
  for (size_t i = 0; i < g->member_count; i++) {
    const struct gmember *m = g->members[i];
    struct group_store_member *sm = &s->members[i];
    sm->member_id = out_str(x->out, m->id);
    sm->group_instance_id = out_str(x->out, m->instance_id);
    sm->client_id = out_str(x->out, m->client_id);
    sm->client_host = out_str(x->out, m->client_host);
    sm->rebalance_timeout_ms = m->rebalance_timeout_ms;
    sm->session_timeout_ms = m->session_timeout_ms;
    sm->subscription = out_bytes(x->out, member_metadata(m, g->protocol_name));
    struct gbytes a = m->assignment;
    if (with_assignment != NULL) {
      const struct gassign *ga = assign_find(with_assignment, m->id);
      a = ga != NULL ? ga->assignment : (struct gbytes){NULL, 0};
    }
    sm->assignment = out_bytes(x->out, a);
  }
}

/* ---- groups and members ---- */

static void protocols_free(struct gproto *p, size_t count) {
  for (size_t i = 0; i < count; i++) {
    free(p[i].name);
    free(p[i].metadata.p);
  }
  free(p);
}

static void member_free(struct gmember *m) {
  free(m->id);
  free(m->instance_id);
  free(m->client_id);
  free(m->client_host);
  free(m->protocol_type);
  protocols_free(m->protocols, m->protocol_count);
  free(m->assignment.p);
  free(m);
}

static void topics_clear(struct group *g) {
  for (size_t i = 0; i < g->topic_count; i++) free(g->topics[i]);
  free(g->topics);
  g->topics = NULL;
  g->topic_count = 0;
  g->topics_known = false;
}

static void group_free(struct group *g) {
  topics_clear(g);
  for (size_t i = 0; i < g->member_count; i++) member_free(g->members[i]);
  for (size_t i = 0; i < g->pending_count; i++) free(g->pending[i].id);
  free(g->members);
  free(g->pending);
  free(g->id);
  free(g->protocol_type);
  free(g->protocol_name);
  free(g);
}

static int id_cmp(const char *a, struct wire_str b) {
  size_t a_len = strlen(a), b_len = b.len > 0 ? (size_t)b.len : 0;
  int r = memcmp(a, b.ptr != NULL ? b.ptr : "", a_len < b_len ? a_len : b_len);
  if (r != 0) return r;
  return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

static size_t group_lower_bound(const struct group_coord *c, struct wire_str id) {
  size_t lo = 0, hi = c->group_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (id_cmp(c->groups[mid]->id, id) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static struct group *group_get(const struct group_coord *c, struct wire_str id) {
  size_t i = group_lower_bound(c, id);
  return i < c->group_count && id_cmp(c->groups[i]->id, id) == 0 ? c->groups[i] : NULL;
}

static struct group *group_create(struct group_coord *c, struct wire_str id, int64_t now) {
  size_t i = group_lower_bound(c, id);
  if (c->group_count == c->group_capacity) {
    c->group_capacity = c->group_capacity ? c->group_capacity * 2 : 16;
    c->groups = xrealloc(c->groups, c->group_capacity, sizeof(*c->groups));
  }
  struct group *g = xcalloc(1, sizeof(*g));
  g->id = str_dup(id);
  g->serial = ++c->next_serial;
  g->state = GROUP_EMPTY;
  g->previous_state = GROUP_DEAD;
  g->state_timestamp_ms = now;
  g->join_deadline_ms = NO_DEADLINE;
  g->sync_deadline_ms = NO_DEADLINE;
  g->next_deadline_ms = NO_DEADLINE;
  memmove(&c->groups[i + 1], &c->groups[i], (c->group_count - i) * sizeof(*c->groups));
  c->groups[i] = g;
  c->group_count++;
  return g;
}

/* Takes the group at index i out of the table and frees it. */
static void group_remove_at(struct group_coord *c, size_t i) {
  struct group *g = c->groups[i];
  memmove(&c->groups[i], &c->groups[i + 1], (c->group_count - i - 1) * sizeof(*c->groups));
  c->group_count--;
  group_free(g);
}

static bool transition_valid(enum group_state from, enum group_state to) {
  switch (to) {
  case GROUP_EMPTY: return from == GROUP_PREPARING_REBALANCE;
  case GROUP_PREPARING_REBALANCE:
    return from == GROUP_EMPTY || from == GROUP_STABLE || from == GROUP_COMPLETING_REBALANCE;
  case GROUP_COMPLETING_REBALANCE: return from == GROUP_PREPARING_REBALANCE;
  case GROUP_STABLE: return from == GROUP_COMPLETING_REBALANCE;
  case GROUP_DEAD: return true;
  }
  return false;
}

static void transition(struct group *g, enum group_state to, int64_t now) {
  INVARIANT(transition_valid(g->state, to));
  g->previous_state = g->state;
  g->state = to;
  g->state_timestamp_ms = now;
}

static struct gmember *member_find(const struct group *g, struct wire_str id) {
  for (size_t i = 0; i < g->member_count; i++)
    if (str_is(g->members[i]->id, id)) return g->members[i];
  return NULL;
}

static struct gmember *static_member(const struct group *g, struct wire_str instance_id) {
  for (size_t i = 0; instance_id.len >= 0 && i < g->member_count; i++)
    if (g->members[i]->instance_id != NULL && str_is(g->members[i]->instance_id, instance_id))
      return g->members[i];
  return NULL;
}

static size_t pending_find(const struct group *g, struct wire_str id) {
  for (size_t i = 0; i < g->pending_count; i++)
    if (str_is(g->pending[i].id, id)) return i;
  return SIZE_MAX;
}

static void pending_remove(struct group *g, size_t i) {
  free(g->pending[i].id);
  g->pending[i] = g->pending[--g->pending_count];
}

static size_t awaiting_join_count(const struct group *g) {
  size_t n = 0;
  for (size_t i = 0; i < g->member_count; i++) n += g->members[i]->awaiting_join;
  return n;
}

static bool all_members_joined(const struct group *g) {
  return awaiting_join_count(g) == g->member_count && g->pending_count == 0;
}

/* The largest rebalance timeout of the members (Kafka's group rebalance timeout). */
static int32_t group_rebalance_timeout(const struct group *g) {
  int32_t t = 0;
  for (size_t i = 0; i < g->member_count; i++)
    if (g->members[i]->rebalance_timeout_ms > t) t = g->members[i]->rebalance_timeout_ms;
  return t;
}

/* How many members list protocol name. */
static size_t protocol_support(const struct group *g, const char *name, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < g->member_count; i++) {
    const struct gmember *m = g->members[i];
    for (size_t k = 0; k < m->protocol_count; k++)
      if (strlen(m->protocols[k].name) == len && memcmp(m->protocols[k].name, name, len) == 0) {
        n++;
        break;
      }
  }
  return n;
}

/* Kafka's supportsProtocols: an Empty group takes any non-empty type and list; otherwise the
 * type must be the group's and one of the protocols supported by every member. */
static bool supports_protocols(const struct group *g, const struct group_join_request *req) {
  if (g->state == GROUP_EMPTY) return req->protocol_type.len > 0 && req->protocol_count > 0;
  if (g->protocol_type == NULL || !str_is(g->protocol_type, req->protocol_type)) return false;
  for (size_t i = 0; i < req->protocol_count; i++) {
    struct wire_str n = req->protocols[i].name;
    if (protocol_support(g, n.ptr != NULL ? n.ptr : "", n.len > 0 ? (size_t)n.len : 0) ==
        g->member_count)
      return true;
  }
  return false;
}

/* A member's vote: its most preferred protocol among those every member supports. */
static const char *member_vote(const struct group *g, const struct gmember *m) {
  for (size_t k = 0; k < m->protocol_count; k++)
    if (protocol_support(g, m->protocols[k].name, strlen(m->protocols[k].name)) == g->member_count)
      return m->protocols[k].name;
  return NULL;
}

/* Kafka's selectProtocol: each member votes; the most votes wins. Ties (Kafka: hash map order)
 * go to the protocol voted for first in member order. O(members^2), once per generation. */
static const char *select_protocol(const struct group *g) {
  INVARIANT(g->member_count > 0);
  const char *best = NULL;
  size_t best_votes = 0;
  for (size_t i = 0; i < g->member_count; i++) {
    const char *vote = member_vote(g, g->members[i]);
    INVARIANT(vote != NULL); /* joins keep a protocol common to all */
    bool counted = false;
    for (size_t j = 0; j < i && !counted; j++)
      counted = strcmp(member_vote(g, g->members[j]), vote) == 0;
    if (counted) continue;
    size_t votes = 0;
    for (size_t j = i; j < g->member_count; j++)
      votes += strcmp(member_vote(g, g->members[j]), vote) == 0;
    if (votes > best_votes) {
      best = vote;
      best_votes = votes;
    }
  }
  return best;
}

static struct gproto *protocols_copy(const struct group_protocol *p, size_t count) {
  struct gproto *d = xcalloc(count, sizeof(*d));
  for (size_t i = 0; i < count; i++) {
    d[i].name = xstrndup(p[i].name.ptr != NULL ? p[i].name.ptr : "",
                         p[i].name.len > 0 ? (size_t)p[i].name.len : 0);
    d[i].metadata = bytes_of(p[i].metadata);
  }
  return d;
}

/* Same protocols, in the same order, with the same metadata (Kafka's member.matches). */
static bool member_matches(const struct gmember *m, const struct group_join_request *req) {
  if (m->protocol_count != req->protocol_count) return false;
  for (size_t i = 0; i < m->protocol_count; i++) {
    const struct group_protocol *p = &req->protocols[i];
    size_t len = p->metadata.len > 0 ? (size_t)p->metadata.len : 0;
    if (!str_is(m->protocols[i].name, p->name) || m->protocols[i].metadata.len != len ||
        (len > 0 && memcmp(m->protocols[i].metadata.p, p->metadata.ptr, len) != 0))
      return false;
  }
  return true;
}

static void member_update(struct gmember *m, const struct group_join_request *req,
                          int32_t rebalance_timeout_ms) {
  protocols_free(m->protocols, m->protocol_count);
  m->protocols = protocols_copy(req->protocols, req->protocol_count);
  m->protocol_count = req->protocol_count;
  m->session_timeout_ms = req->session_timeout_ms;
  m->rebalance_timeout_ms = rebalance_timeout_ms;
}

/* Parks m's JoinGroup; a JoinGroup of m already parked is answered (see invariant 7). */
static void park_join(struct ctx *x, struct gmember *m, uint64_t tag, int16_t version) {
  if (m->awaiting_join) join_error(x, m->join_tag, ERR_REBALANCE_IN_PROGRESS, m->id);
  m->awaiting_join = true;
  m->join_tag = tag;
  m->join_version = version;
}

static void park_sync(struct ctx *x, const struct group *g, struct gmember *m, uint64_t tag) {
  if (m->awaiting_sync)
    sync_answer(x, g, m->sync_tag, ERR_REBALANCE_IN_PROGRESS, (struct gbytes){NULL, 0});
  m->awaiting_sync = true;
  m->sync_tag = tag;
}

static void member_add(struct group *g, struct gmember *m) {
  INVARIANT(m->instance_id == NULL || static_member(g, str_of(m->instance_id)) == NULL);
  INVARIANT(pending_find(g, str_of(m->id)) == SIZE_MAX);
  if (g->member_count == 0) {
    free(g->protocol_type);
    g->protocol_type = xstrdup(m->protocol_type);
  }
  if (g->leader == NULL) g->leader = m;
  if (g->member_count == g->member_capacity) {
    g->member_capacity = g->member_capacity ? g->member_capacity * 2 : 8;
    g->members = xrealloc(g->members, g->member_capacity, sizeof(*g->members));
  }
  g->members[g->member_count++] = m;
}

/* Takes m out of g and frees it. A parked JoinGroup or SyncGroup of m is answered with
 * UNKNOWN_MEMBER_ID (Kafka's answer to a removed member's JoinGroup; it leaves a SyncGroup
 * unanswered). The leader's place passes to the first member left. */
static void member_remove(struct ctx *x, struct group *g, struct gmember *m) {
  if (m->awaiting_join) join_error(x, m->join_tag, ERR_UNKNOWN_MEMBER_ID, "");
  if (m->awaiting_sync)
    sync_answer(x, NULL, m->sync_tag, ERR_UNKNOWN_MEMBER_ID, (struct gbytes){0});
  size_t i = 0;
  while (g->members[i] != m) i++;
  memmove(&g->members[i], &g->members[i + 1], (g->member_count - i - 1) * sizeof(*g->members));
  g->member_count--;
  if (g->leader == m) g->leader = g->member_count > 0 ? g->members[0] : NULL;
  member_free(m);
}

/* A member id as Kafka forms it: prefix (client id, or instance id for static members), '-',
 * then a random (version 4) UUID in its 8-4-4-4-12 hex form. */
static char *member_id_new(struct group_coord *c, const char *prefix, size_t prefix_len) {
  uint8_t b[16];
  c->random(c->random_arg, b);
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
  char *id = xmalloc(prefix_len + 1 + 36 + 1);
  if (prefix_len > 0) memcpy(id, prefix, prefix_len);
  char *p = id + prefix_len;
  *p++ = '-';
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = hex[b[i] >> 4];
    *p++ = hex[b[i] & 15];
  }
  *p = '\0';
  return id;
}

/* Kafka's validateMember: the instance id (when given) must name this member id. */
static int16_t validate_member(const struct group *g, struct wire_str member_id,
                               struct wire_str instance_id) {
  if (instance_id.len >= 0) {
    const struct gmember *s = static_member(g, instance_id);
    if (s == NULL) return ERR_UNKNOWN_MEMBER_ID;
    if (!str_is(s->id, member_id)) return ERR_FENCED_INSTANCE_ID;
  }
  return member_find(g, member_id) != NULL ? ERR_NONE : ERR_UNKNOWN_MEMBER_ID;
}

/* ---- rebalancing ---- */

static void complete_join(struct ctx *x, struct group *g);

static void heartbeat_schedule(struct ctx *x, struct gmember *m) {
  m->heartbeat_deadline_ms = x->now + m->session_timeout_ms;
}

/* Answers every parked SyncGroup with error (and the member's assignment when NONE). */
static void assignment_propagate(struct ctx *x, struct group *g, int16_t error) {
  for (size_t i = 0; i < g->member_count; i++) {
    struct gmember *m = g->members[i];
    if (!m->awaiting_sync) continue;
    sync_answer(x, g, m->sync_tag, error,
                error == ERR_NONE ? m->assignment : (struct gbytes){NULL, 0});
    m->awaiting_sync = false;
    /* its session timer may have fired (and been ignored) while it waited */
    heartbeat_schedule(x, m);
  }
}

static void assignment_reset(struct ctx *x, struct group *g, int16_t error) {
  INVARIANT(g->state == GROUP_COMPLETING_REBALANCE);
  for (size_t i = 0; i < g->member_count; i++) {
    free(g->members[i]->assignment.p);
    g->members[i]->assignment = (struct gbytes){NULL, 0};
  }
  assignment_propagate(x, g, error);
}

static void sync_timer_clear(struct group *g) {
  for (size_t i = 0; i < g->member_count; i++) g->members[i]->pending_sync = false;
  g->sync_deadline_ms = NO_DEADLINE;
}

/* Empty, CompletingRebalance or Stable -> PreparingRebalance. */
static void prepare_rebalance(struct ctx *x, struct group *g) {
  if (g->state == GROUP_COMPLETING_REBALANCE) assignment_reset(x, g, ERR_REBALANCE_IN_PROGRESS);
  sync_timer_clear(g);
  bool initial = g->state == GROUP_EMPTY;
  if (initial) {
    /* a new group: wait the initial delay for more members before completing the join */
    int32_t delay = x->c->cfg.initial_rebalance_delay_ms;
    int32_t rest = group_rebalance_timeout(g) - delay;
    g->join_timer = JOIN_TIMER_INITIAL;
    g->join_deadline_ms = x->now + delay;
    g->initial_delay_ms = delay;
    g->initial_remaining_ms = rest > 0 ? rest : 0;
    g->new_member_added = false;
  }
  transition(g, GROUP_PREPARING_REBALANCE, x->now);
  if (initial) return;
  if (all_members_joined(g)) {
    complete_join(x, g);
  } else {
    g->join_timer = JOIN_TIMER_REBALANCE;
    g->join_deadline_ms = x->now + group_rebalance_timeout(g);
  }
}

/* Completes the join phase when every member (and pending member) has joined, except during
 * the initial rebalance, which only its timer completes. */
static void maybe_complete_join(struct ctx *x, struct group *g) {
  if (g->state == GROUP_PREPARING_REBALANCE && g->previous_state != GROUP_EMPTY &&
      all_members_joined(g))
    complete_join(x, g);
}

static void rebalance_or_complete_join(struct ctx *x, struct group *g) {
  if (g->state == GROUP_EMPTY || g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
    prepare_rebalance(x, g);
  else
    maybe_complete_join(x, g);
}

/* Keeps the leader if it rejoined, else makes the first rejoined member leader. False when no
 * member rejoined. */
static bool leader_elect(struct group *g) {
  if (g->leader == NULL) return false;
  if (g->leader->awaiting_join) return true;
  for (size_t i = 0; i < g->member_count; i++)
    if (g->members[i]->awaiting_join) {
      g->leader = g->members[i];
      return true;
    }
  return false;
}

/* ---- subscribed topics ---- */

static bool is_consumer_type(const char *protocol_type) {
  return protocol_type != NULL && strcmp(protocol_type, "consumer") == 0;
}

struct topic_list {
  char **items;
  size_t count, capacity;
};

static void topic_collect(void *arg, struct wire_str topic) {
  struct topic_list *l = arg;
  if (topic.len < 0) return;
  if (l->count == l->capacity) {
    l->capacity = l->capacity ? l->capacity * 2 : 8;
    l->items = xrealloc(l->items, l->capacity, sizeof(*l->items));
  }
  l->items[l->count++] = str_dup(topic);
}

static int topic_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Kafka's computeSubscribedTopics: known for a "consumer" group without members (none), or with
 * a protocol and every member's metadata for it parsing as a ConsumerProtocolSubscription (the
 * union of their topics); unknown otherwise. */
static void topics_compute(struct group *g) {
  topics_clear(g);
  if (!is_consumer_type(g->protocol_type)) return;
  if (g->member_count > 0 && g->protocol_name == NULL) return;
  struct topic_list l = {NULL, 0, 0};
  bool ok = true;
  for (size_t i = 0; ok && i < g->member_count; i++) {
    struct gbytes meta = member_metadata(g->members[i], g->protocol_name);
    ok = group_subscription_topics(meta.p, meta.len, topic_collect, &l) == 0;
  }
  if (!ok) {
    for (size_t i = 0; i < l.count; i++) free(l.items[i]);
    free(l.items);
    return;
  }
  if (l.count > 1) qsort(l.items, l.count, sizeof(*l.items), topic_cmp);
  size_t n = 0;
  for (size_t i = 0; i < l.count; i++) {
    if (n > 0 && strcmp(l.items[n - 1], l.items[i]) == 0)
      free(l.items[i]);
    else
      l.items[n++] = l.items[i];
  }
  g->topics = l.items;
  g->topic_count = n;
  g->topics_known = true;
}

static bool topics_contain(const struct group *g, struct wire_str topic) {
  size_t lo = 0, hi = g->topic_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = id_cmp(g->topics[mid], topic);
    if (r == 0) return true;
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return false;
}

/* PreparingRebalance -> CompletingRebalance (or Empty): a new generation. */
static void next_generation(struct ctx *x, struct group *g) {
  g->generation++;
  free(g->protocol_name);
  if (g->member_count > 0) {
    g->protocol_name = xstrdup(select_protocol(g));
    transition(g, GROUP_COMPLETING_REBALANCE, x->now);
  } else {
    g->protocol_name = NULL;
    transition(g, GROUP_EMPTY, x->now);
  }
  topics_compute(g);
  sync_timer_clear(g);
}

/* The join phase ends (all joined, or the rebalance timeout): dynamic members that did not
 * rejoin are dropped (static ones stay, as KIP-345 says), a leader is chosen among those that
 * rejoined, and every parked JoinGroup is answered with the new generation. */
static void complete_join(struct ctx *x, struct group *g) {
  INVARIANT(g->state == GROUP_PREPARING_REBALANCE);
  g->join_timer = JOIN_TIMER_NONE;
  g->join_deadline_ms = NO_DEADLINE;
  for (size_t i = 0; i < g->member_count;) {
    struct gmember *m = g->members[i];
    if (!m->awaiting_join && m->instance_id == NULL)
      member_remove(x, g, m);
    else
      i++;
  }
  if (!leader_elect(g) && g->member_count > 0) {
    /* only static members that have not rejoined: wait another rebalance timeout */
    g->join_timer = JOIN_TIMER_REBALANCE;
    g->join_deadline_ms = x->now + group_rebalance_timeout(g);
    return;
  }
  next_generation(x, g);
  if (g->state == GROUP_EMPTY) {
    store_emit(x, g, 0, false, NULL);
    return;
  }
  for (size_t i = 0; i < g->member_count; i++) {
    struct gmember *m = g->members[i];
    if (m->awaiting_join) {
      join_answer(x, g, m, m->join_tag, m == g->leader, false, g->leader->id);
      m->awaiting_join = false;
    }
    heartbeat_schedule(x, m);
    m->is_new = false;
    m->pending_sync = true;
  }
  g->sync_deadline_ms = x->now + group_rebalance_timeout(g);
  g->sync_generation = g->generation;
}

/* A member dropped by its session timeout. */
static void member_expire(struct ctx *x, struct group *g, struct gmember *m) {
  member_remove(x, g, m);
  if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
    rebalance_or_complete_join(x, g);
  else if (g->state == GROUP_PREPARING_REBALANCE && all_members_joined(g))
    complete_join(x, g);
}

/* ---- JoinGroup ---- */

static void join_add_member(struct ctx *x, struct group *g, char *member_id,
                            const struct group_join_request *req, int32_t rebalance_timeout_ms,
                            uint64_t tag) {
  struct gmember *m = xcalloc(1, sizeof(*m));
  m->id = member_id;
  m->instance_id = str_dup(req->group_instance_id);
  m->client_id =
      xstrndup(req->client_id.ptr, req->client_id.len > 0 ? (size_t)req->client_id.len : 0);
  m->client_host =
      xstrndup(req->client_host.ptr, req->client_host.len > 0 ? (size_t)req->client_host.len : 0);
  m->protocol_type = str_dup(req->protocol_type);
  member_update(m, req, rebalance_timeout_ms);
  m->is_new = true;
  if (g->state == GROUP_PREPARING_REBALANCE && g->previous_state == GROUP_EMPTY)
    g->new_member_added = true;
  member_add(g, m);
  park_join(x, m, tag, req->version);
  /* a parked new member cannot heartbeat: its JoinGroup itself times out instead */
  m->heartbeat_deadline_ms = x->now + x->c->cfg.new_member_join_timeout_ms;
  rebalance_or_complete_join(x, g);
}

static struct gstore *store_new(struct group_coord *c, const struct group *g, enum store_kind k) {
  struct gstore *s = xcalloc(1, sizeof(*s));
  s->id = ++c->next_store_id;
  s->group_serial = g->serial;
  s->kind = k;
  s->group_id = xstrdup(g->id);
  s->generation = g->generation;
  s->next = c->stores;
  c->stores = s;
  return s;
}

static void store_free(struct gstore *s) {
  for (size_t i = 0; i < s->assignment_count; i++) {
    free(s->assignments[i].member_id);
    free(s->assignments[i].assignment.p);
  }
  free(s->assignments);
  free(s->group_id);
  free(s->instance_id);
  free(s->old_member_id);
  free(s->new_member_id);
  free(s->leader_before);
  protocols_free(s->old_protocols, s->old_protocol_count);
  free(s);
}

/* Gives static member m a new member id: a JoinGroup or SyncGroup parked under the old id is
 * fenced; everything else (assignment, client id and host, leadership) stays. */
static void static_rename(struct ctx *x, struct gmember *m, char *new_id) {
  if (m->awaiting_join) {
    struct group_join_response *r = &out_push(x->out, GROUP_OUT_JOIN, m->join_tag)->u.join;
    r->error = ERR_FENCED_INSTANCE_ID;
    r->generation_id = -1;
    r->protocol_type = r->protocol_name = (struct wire_str){NULL, -1};
    r->leader = out_str(x->out, "");
    r->member_id = out_str(x->out, m->id);
    m->awaiting_join = false;
  }
  if (m->awaiting_sync) {
    sync_answer(x, NULL, m->sync_tag, ERR_FENCED_INSTANCE_ID, (struct gbytes){NULL, 0});
    m->awaiting_sync = false;
  }
  free(m->id);
  m->id = new_id;
}

/* A known static member joins with an unknown member id (a restart): it takes over under a new
 * id. In Stable with the selected protocol unchanged there is no rebalance: the group is stored
 * and the member answered with the current generation once the store commits (KIP-345). */
static void join_static_rejoin(struct ctx *x, struct group *g, struct gmember *m, char *new_id,
                               const struct group_join_request *req, int32_t rebalance_timeout_ms,
                               uint64_t tag) {
  char *old_id = xstrdup(m->id);
  char *leader_before = g->leader != NULL ? xstrdup(g->leader->id) : NULL;
  static_rename(x, m, new_id);
  m->is_new = false;
  heartbeat_schedule(x, m);
  struct gproto *old_protocols = m->protocols;
  size_t old_protocol_count = m->protocol_count;
  int32_t old_session = m->session_timeout_ms, old_rebalance = m->rebalance_timeout_ms;
  m->protocols = NULL;
  m->protocol_count = 0;
  member_update(m, req, rebalance_timeout_ms);
  park_join(x, m, tag, req->version);

  if (g->state == GROUP_STABLE && strcmp(g->protocol_name, select_protocol(g)) == 0) {
    struct gstore *s = store_new(x->c, g, STORE_STATIC);
    s->instance_id = xstrdup(m->instance_id);
    s->old_member_id = old_id;
    s->new_member_id = xstrdup(m->id);
    s->leader_before = leader_before;
    s->old_protocols = old_protocols;
    s->old_protocol_count = old_protocol_count;
    s->old_session_timeout_ms = old_session;
    s->old_rebalance_timeout_ms = old_rebalance;
    store_emit(x, g, s->id, true, NULL);
    return;
  }
  free(old_id);
  free(leader_before);
  protocols_free(old_protocols, old_protocol_count);
  switch (g->state) {
  case GROUP_STABLE: /* the selected protocol would change */
    rebalance_or_complete_join(x, g);
    break;
  case GROUP_COMPLETING_REBALANCE: /* the leader may be assigning to the old id: start over */
    prepare_rebalance(x, g);
    break;
  case GROUP_PREPARING_REBALANCE: maybe_complete_join(x, g); break;
  case GROUP_EMPTY:
  case GROUP_DEAD: INVARIANT(!"a static member in an Empty or Dead group");
  }
}

static void join_new_member(struct ctx *x, struct group *g, const struct group_join_request *req,
                            int32_t rebalance_timeout_ms, uint64_t tag) {
  if (!supports_protocols(g, req)) {
    join_error(x, tag, ERR_INCONSISTENT_GROUP_PROTOCOL, "");
    return;
  }
  bool is_static = req->group_instance_id.len >= 0;
  struct wire_str prefix = is_static ? req->group_instance_id : req->client_id;
  char *id = member_id_new(x->c, prefix.ptr, prefix.len > 0 ? (size_t)prefix.len : 0);
  if (is_static) {
    struct gmember *old = static_member(g, req->group_instance_id);
    if (old != NULL)
      join_static_rejoin(x, g, old, id, req, rebalance_timeout_ms, tag);
    else
      join_add_member(x, g, id, req, rebalance_timeout_ms, tag);
  } else if (req->version >= 4) {
    /* KIP-394: hand out the id, and count the member only when it comes back with it */
    if (g->pending_count == g->pending_capacity) {
      g->pending_capacity = g->pending_capacity ? g->pending_capacity * 2 : 8;
      g->pending = xrealloc(g->pending, g->pending_capacity, sizeof(*g->pending));
    }
    g->pending[g->pending_count++] = (struct gpending){id, x->now + req->session_timeout_ms};
    join_error(x, tag, ERR_MEMBER_ID_REQUIRED, id);
  } else {
    join_add_member(x, g, id, req, rebalance_timeout_ms, tag);
  }
}

static void join_existing_member(struct ctx *x, struct group *g,
                                 const struct group_join_request *req, int32_t rebalance_timeout_ms,
                                 uint64_t tag) {
  char *member_id = str_dup(req->member_id);
  if (!supports_protocols(g, req)) {
    join_error(x, tag, ERR_INCONSISTENT_GROUP_PROTOCOL, member_id);
    goto done;
  }
  size_t p = pending_find(g, req->member_id);
  if (p != SIZE_MAX) {
    if (req->group_instance_id.len >= 0) {
      /* pending ids are handed to dynamic members only (Kafka: an internal error) */
      join_error(x, tag, ERR_UNKNOWN_SERVER_ERROR, member_id);
      goto done;
    }
    pending_remove(g, p);
    join_add_member(x, g, member_id, req, rebalance_timeout_ms, tag);
    return;
  }
  int16_t err = validate_member(g, req->member_id, req->group_instance_id);
  if (err != ERR_NONE) {
    join_error(x, tag, err, member_id);
    goto done;
  }
  struct gmember *m = member_find(g, req->member_id);
  bool rebalance = false;
  switch (g->state) {
  case GROUP_PREPARING_REBALANCE: rebalance = true; break;
  case GROUP_COMPLETING_REBALANCE:
    /* same metadata: it missed the join response; give it again */
    if (member_matches(m, req))
      join_answer(x, g, m, tag, m == g->leader, false, g->leader->id);
    else
      rebalance = true;
    break;
  case GROUP_STABLE:
    /* the leader's JoinGroup always rebalances (it may have seen metadata change) */
    if (m == g->leader || !member_matches(m, req))
      rebalance = true;
    else
      join_answer(x, g, m, tag, false, false, g->leader->id);
    break;
  case GROUP_EMPTY:
  case GROUP_DEAD: join_error(x, tag, ERR_UNKNOWN_MEMBER_ID, member_id); break;
  }
  if (rebalance) {
    member_update(m, req, rebalance_timeout_ms);
    park_join(x, m, tag, req->version);
    rebalance_or_complete_join(x, g);
  }
done:
  free(member_id);
}

/* group.max.size: existing members are kept; while preparing, only those already rejoined count
 * (a shrunk limit then drops the last to rejoin). */
static bool join_accept(const struct group_coord *c, const struct group *g,
                        struct wire_str member_id) {
  const struct gmember *m = member_find(g, member_id);
  switch (g->state) {
  case GROUP_EMPTY:
  case GROUP_DEAD: return true;
  case GROUP_PREPARING_REBALANCE:
    return (m != NULL && m->awaiting_join) || awaiting_join_count(g) < (size_t)c->cfg.max_size;
  case GROUP_COMPLETING_REBALANCE:
  case GROUP_STABLE: return m != NULL || g->member_count < (size_t)c->cfg.max_size;
  }
  return false;
}

static void check_group(const struct group *g);
static int64_t group_next_deadline(const struct group *g);

/* After every call: the invariants, and the group's earliest timer. Only a call's own group
 * changes; a deadline that only moves later (a heartbeat) may be left early: a tick then finds
 * nothing due and refreshes it. */
static void finish(struct ctx *x, struct group *g) {
  if (g != NULL) {
    check_group(g);
    g->next_deadline_ms = group_next_deadline(g);
  }
  x->out->deadline_ms = group_deadline(x->c);
}

void group_join(struct group_coord *c, const struct group_join_request *req, uint64_t tag,
                int64_t now_ms, struct group_outputs *out) {
  struct ctx x = {c, now_ms, out};
  struct group *g = NULL;
  char *member_id = str_dup(req->member_id);
  int32_t rebalance_timeout_ms =
      req->rebalance_timeout_ms < 0 ? req->session_timeout_ms : req->rebalance_timeout_ms;
  if (req->group_id.len <= 0) {
    join_error(&x, tag, ERR_INVALID_GROUP_ID, member_id);
    goto done;
  }
  if (req->session_timeout_ms < c->cfg.min_session_timeout_ms ||
      req->session_timeout_ms > c->cfg.max_session_timeout_ms) {
    join_error(&x, tag, ERR_INVALID_SESSION_TIMEOUT, member_id);
    goto done;
  }
  bool unknown = req->member_id.len <= 0;
  g = group_get(c, req->group_id);
  if (g == NULL) {
    if (!unknown) {
      join_error(&x, tag, ERR_UNKNOWN_MEMBER_ID, member_id);
      goto done;
    }
    g = group_create(c, req->group_id, now_ms);
  }
  if (!join_accept(c, g, req->member_id)) {
    struct gmember *m = member_find(g, req->member_id);
    if (m != NULL) member_remove(&x, g, m);
    size_t p = pending_find(g, req->member_id);
    if (p != SIZE_MAX) pending_remove(g, p);
    join_error(&x, tag, ERR_GROUP_MAX_SIZE_REACHED, "");
  } else if (unknown) {
    join_new_member(&x, g, req, rebalance_timeout_ms, tag);
  } else {
    join_existing_member(&x, g, req, rebalance_timeout_ms, tag);
  }
done:
  free(member_id);
  finish(&x, g);
}

/* ---- SyncGroup ---- */

/* A v5+ protocol type or name that disagrees with the group's (null on either side passes). */
static bool protocol_inconsistent(struct wire_str requested, const char *group) {
  return requested.len >= 0 && group != NULL && !str_is(group, requested);
}

static bool store_pending(const struct group_coord *c, const struct group *g, enum store_kind k) {
  for (const struct gstore *s = c->stores; s != NULL; s = s->next)
    if (s->group_serial == g->serial && s->kind == k && s->generation == g->generation) return true;
  return false;
}

static int16_t sync_check(const struct group *g, const struct group_sync_request *req) {
  if (req->group_id.len <= 0) return ERR_INVALID_GROUP_ID;
  if (g == NULL || req->member_id.len <= 0) return ERR_UNKNOWN_MEMBER_ID;
  int16_t err = validate_member(g, req->member_id, req->group_instance_id);
  if (err != ERR_NONE) return err;
  if (req->generation_id != g->generation) return ERR_ILLEGAL_GENERATION;
  if (protocol_inconsistent(req->protocol_type, g->protocol_type) ||
      protocol_inconsistent(req->protocol_name, g->protocol_name))
    return ERR_INCONSISTENT_GROUP_PROTOCOL;
  if (g->state == GROUP_PREPARING_REBALANCE) return ERR_REBALANCE_IN_PROGRESS;
  return ERR_NONE;
}

void group_sync(struct group_coord *c, const struct group_sync_request *req, uint64_t tag,
                int64_t now_ms, struct group_outputs *out) {
  struct ctx x = {c, now_ms, out};
  struct group *g = group_get(c, req->group_id);
  int16_t err = sync_check(g, req);
  if (err != ERR_NONE) {
    sync_answer(&x, NULL, tag, err, (struct gbytes){NULL, 0});
    goto done;
  }
  struct gmember *m = member_find(g, req->member_id);
  if (g->state == GROUP_STABLE) {
    m->pending_sync = false;
    sync_answer(&x, g, tag, ERR_NONE, m->assignment);
    goto done;
  }
  INVARIANT(g->state == GROUP_COMPLETING_REBALANCE);
  park_sync(&x, g, m, tag);
  m->pending_sync = false;
  if (m == g->leader && !store_pending(c, g, STORE_SYNC)) {
    /* store the leader's assignment; members answered (and Stable) once it is committed */
    struct gstore *s = store_new(c, g, STORE_SYNC);
    s->assignments = xcalloc(req->assignment_count, sizeof(*s->assignments));
    for (size_t i = 0; i < req->assignment_count; i++) {
      const struct group_assignment *a = &req->assignments[i];
      if (member_find(g, a->member_id) == NULL) continue; /* not a member: nobody to give it */
      char *id = str_dup(a->member_id);
      struct gassign *ga = NULL;
      for (size_t k = 0; k < s->assignment_count && ga == NULL; k++)
        if (strcmp(s->assignments[k].member_id, id) == 0) ga = &s->assignments[k];
      if (ga != NULL) { /* named twice: the last one counts, as in Kafka's map */
        free(id);
        free(ga->assignment.p);
      } else {
        ga = &s->assignments[s->assignment_count++];
        ga->member_id = id;
      }
      ga->assignment = bytes_of(a->assignment);
    }
    store_emit(&x, g, s->id, true, s);
  }
done:
  finish(&x, g);
}

/* ---- Heartbeat ---- */

static int16_t heartbeat_check(const struct group *g, struct wire_str group_id,
                               struct wire_str member_id, struct wire_str group_instance_id,
                               int32_t generation_id) {
  if (group_id.len <= 0) return ERR_INVALID_GROUP_ID;
  if (g == NULL) return ERR_UNKNOWN_MEMBER_ID;
  int16_t err = validate_member(g, member_id, group_instance_id);
  if (err != ERR_NONE) return err;
  if (generation_id != g->generation) return ERR_ILLEGAL_GENERATION;
  if (g->state == GROUP_EMPTY) return ERR_UNKNOWN_MEMBER_ID;
  return ERR_NONE;
}

int16_t group_heartbeat(struct group_coord *c, struct wire_str group_id, struct wire_str member_id,
                        struct wire_str group_instance_id, int32_t generation_id, int64_t now_ms,
                        struct group_outputs *out) {
  struct ctx x = {c, now_ms, out};
  struct group *g = group_get(c, group_id);
  int16_t err = heartbeat_check(g, group_id, member_id, group_instance_id, generation_id);
  if (err == ERR_NONE) {
    heartbeat_schedule(&x, member_find(g, member_id));
    /* members keep heartbeating while they wait to rejoin; CompletingRebalance is normal */
    if (g->state == GROUP_PREPARING_REBALANCE) err = ERR_REBALANCE_IN_PROGRESS;
  }
  finish(&x, g);
  return err;
}

/* ---- LeaveGroup ---- */

int16_t group_leave(struct group_coord *c, struct wire_str group_id,
                    const struct group_leaving *members, size_t member_count, int16_t *errors,
                    int64_t now_ms, struct group_outputs *out) {
  struct ctx x = {c, now_ms, out};
  struct group *g = group_id.len > 0 ? group_get(c, group_id) : NULL;
  if (g == NULL) {
    /* Kafka: an unknown group is every member's UNKNOWN_MEMBER_ID, no top-level error */
    for (size_t i = 0; i < member_count; i++) errors[i] = ERR_UNKNOWN_MEMBER_ID;
    finish(&x, NULL);
    return group_id.len > 0 ? ERR_NONE : ERR_INVALID_GROUP_ID;
  }
  bool left = false;
  for (size_t i = 0; i < member_count; i++) {
    const struct group_leaving *l = &members[i];
    errors[i] = ERR_NONE;
    size_t p;
    if (l->member_id.len <= 0) {
      /* an administrative removal by instance id (kafka-consumer-groups --delete-members) */
      struct gmember *m = static_member(g, l->group_instance_id);
      if (m != NULL)
        member_remove(&x, g, m);
      else
        errors[i] = ERR_UNKNOWN_MEMBER_ID;
    } else if ((p = pending_find(g, l->member_id)) != SIZE_MAX) {
      pending_remove(g, p);
    } else if ((errors[i] = validate_member(g, l->member_id, l->group_instance_id)) == ERR_NONE) {
      member_remove(&x, g, member_find(g, l->member_id));
    }
    left |= errors[i] == ERR_NONE;
  }
  if (left) {
    if (g->state == GROUP_STABLE || g->state == GROUP_COMPLETING_REBALANCE)
      rebalance_or_complete_join(&x, g);
    else if (g->state == GROUP_PREPARING_REBALANCE)
      maybe_complete_join(&x, g);
  }
  finish(&x, g);
  return ERR_NONE;
}

/* ---- OffsetCommit, DeleteGroups ---- */

int16_t group_commit_check(struct group_coord *c, struct wire_str group_id,
                           struct wire_str member_id, struct wire_str group_instance_id,
                           int32_t generation_id, int16_t version, int64_t now_ms) {
  /* Kafka keeps the empty group id usable for offsets (backwards compatibility): only null is
   * refused */
  if (group_id.len < 0) return ERR_INVALID_GROUP_ID;
  struct group *g = group_get(c, group_id);
  if (g == NULL) {
    /* generation -1: an admin client or a consumer without group management; the commit
     * creates a "simple" group */
    if (generation_id < 0) {
      group_create(c, group_id, now_ms);
      return ERR_NONE;
    }
    return version >= 9 ? ERR_GROUP_ID_NOT_FOUND : ERR_ILLEGAL_GENERATION;
  }
  if (generation_id < 0 && g->state == GROUP_EMPTY) return ERR_NONE;
  struct gmember *m = NULL;
  if (generation_id >= 0 || member_id.len > 0 || group_instance_id.len >= 0) {
    int16_t err = validate_member(g, member_id, group_instance_id);
    if (err != ERR_NONE) return err;
    if (generation_id != g->generation) return ERR_ILLEGAL_GENERATION;
    m = member_find(g, member_id);
  } else if (g->state != GROUP_EMPTY) {
    return ERR_UNKNOWN_MEMBER_ID; /* no member id (v0) on a group with members */
  }
  if (g->state == GROUP_COMPLETING_REBALANCE) return ERR_REBALANCE_IN_PROGRESS;
  /* a member's commit keeps its session alive, as a heartbeat does */
  if (m != NULL && (g->state == GROUP_STABLE || g->state == GROUP_PREPARING_REBALANCE)) {
    m->heartbeat_deadline_ms = now_ms + m->session_timeout_ms;
    if (m->heartbeat_deadline_ms < g->next_deadline_ms)
      g->next_deadline_ms = m->heartbeat_deadline_ms;
  }
  return ERR_NONE;
}

int16_t group_delete(struct group_coord *c, struct wire_str group_id) {
  size_t i = group_lower_bound(c, group_id);
  if (i == c->group_count || id_cmp(c->groups[i]->id, group_id) != 0) return ERR_GROUP_ID_NOT_FOUND;
  struct group *g = c->groups[i];
  if (g->state != GROUP_EMPTY) return ERR_NON_EMPTY_GROUP;
  transition(g, GROUP_DEAD, g->state_timestamp_ms);
  group_remove_at(c, i);
  return ERR_NONE;
}

/* ---- stores ---- */

/* Kafka's mapping of an append error to the error members see. */
static int16_t store_error(int16_t error) {
  switch (error) {
  case ERR_UNKNOWN_TOPIC_OR_PARTITION:
  case ERR_NOT_ENOUGH_REPLICAS:
  case ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
  case ERR_REQUEST_TIMED_OUT: return ERR_COORDINATOR_NOT_AVAILABLE;
  case ERR_NOT_LEADER_OR_FOLLOWER:
  case ERR_KAFKA_STORAGE_ERROR: return ERR_NOT_COORDINATOR;
  case ERR_MESSAGE_TOO_LARGE:
  case ERR_RECORD_LIST_TOO_LARGE:
  case ERR_INVALID_FETCH_SIZE: return ERR_UNKNOWN_SERVER_ERROR;
  default: return error;
  }
}

/* The leader's assignment committed (or not). Applies only if the group is still waiting for
 * it: same group, CompletingRebalance, same generation. */
static void store_sync_done(struct ctx *x, struct group *g, struct gstore *s, int16_t error) {
  if (g->state != GROUP_COMPLETING_REBALANCE || g->generation != s->generation) return;
  if (error != ERR_NONE) {
    assignment_reset(x, g, store_error(error));
    rebalance_or_complete_join(x, g);
    return;
  }
  for (size_t i = 0; i < g->member_count; i++) {
    struct gmember *m = g->members[i];
    const struct gassign *a = assign_find(s, m->id);
    free(m->assignment.p);
    m->assignment =
        a != NULL ? bytes_dup(a->assignment.p, a->assignment.len) : (struct gbytes){NULL, 0};
  }
  assignment_propagate(x, g, ERR_NONE);
  transition(g, GROUP_STABLE, x->now);
}

/* A restarted static member's new id committed (or not). Quire answers it only while the group
 * is still Stable in the same generation; otherwise its JoinGroup is part of the rebalance that
 * began meanwhile and is answered by it (Kafka answers with the generation it had). */
static void store_static_done(struct ctx *x, struct group *g, struct gstore *s, int16_t error) {
  struct gmember *m = member_find(g, str_of(s->new_member_id));
  if (m == NULL || g->state != GROUP_STABLE || g->generation != s->generation || !m->awaiting_join)
    return;
  uint64_t tag = m->join_tag;
  int16_t version = m->join_version;
  m->awaiting_join = false;
  if (error == ERR_NONE) {
    bool leader = m == g->leader;
    if (version >= 9) /* KIP-814: the leader gets the members but need not assign again */
      join_answer(x, g, m, tag, leader, leader, g->leader->id);
    else /* older leaders would reassign: name the old id as leader so none does */
      join_answer(x, g, m, tag, false, false, s->leader_before);
    return;
  }
  /* undo: the old id and protocols come back */
  protocols_free(m->protocols, m->protocol_count);
  m->protocols = s->old_protocols;
  m->protocol_count = s->old_protocol_count;
  s->old_protocols = NULL;
  s->old_protocol_count = 0;
  m->session_timeout_ms = s->old_session_timeout_ms;
  m->rebalance_timeout_ms = s->old_rebalance_timeout_ms;
  static_rename(x, m, s->old_member_id);
  s->old_member_id = NULL;
  heartbeat_schedule(x, m);
  struct group_join_response *r = &out_push(x->out, GROUP_OUT_JOIN, tag)->u.join;
  r->error = store_error(error);
  r->generation_id = g->generation;
  r->protocol_type = out_str(x->out, g->protocol_type);
  r->protocol_name = out_str(x->out, g->protocol_name);
  r->leader = out_str(x->out, s->leader_before != NULL ? s->leader_before : "");
  r->member_id = out_str(x->out, "");
}

void group_store_done(struct group_coord *c, uint64_t store_id, int16_t error, int64_t now_ms,
                      struct group_outputs *out) {
  struct ctx x = {c, now_ms, out};
  struct gstore **pp = &c->stores;
  while (*pp != NULL && (*pp)->id != store_id) pp = &(*pp)->next;
  struct group *g = NULL;
  if (*pp != NULL) {
    struct gstore *s = *pp;
    *pp = s->next;
    g = group_get(c, str_of(s->group_id));
    if (g != NULL && g->serial != s->group_serial) g = NULL; /* deleted and made anew */
    if (g != NULL && s->kind == STORE_SYNC) store_sync_done(&x, g, s, error);
    if (g != NULL && s->kind == STORE_STATIC) store_static_done(&x, g, s, error);
    store_free(s);
  }
  finish(&x, g);
}

/* ---- timers ---- */

static int64_t group_next_deadline(const struct group *g) {
  int64_t d = g->join_timer != JOIN_TIMER_NONE ? g->join_deadline_ms : NO_DEADLINE;
  if (g->sync_deadline_ms < d) d = g->sync_deadline_ms;
  for (size_t i = 0; i < g->member_count; i++)
    if (g->members[i]->heartbeat_deadline_ms < d) d = g->members[i]->heartbeat_deadline_ms;
  for (size_t i = 0; i < g->pending_count; i++)
    if (g->pending[i].deadline_ms < d) d = g->pending[i].deadline_ms;
  return d;
}

int64_t group_deadline(const struct group_coord *c) {
  int64_t d = NO_DEADLINE;
  for (size_t i = 0; i < c->group_count; i++)
    if (c->groups[i]->next_deadline_ms < d) d = c->groups[i]->next_deadline_ms;
  return d;
}

static void join_timer_fire(struct ctx *x, struct group *g) {
  if (g->join_timer == JOIN_TIMER_INITIAL && g->new_member_added && g->initial_remaining_ms != 0) {
    /* members are still arriving: wait again, never past the rebalance timeout in all */
    int32_t delay = x->c->cfg.initial_rebalance_delay_ms;
    int32_t next = delay < g->initial_remaining_ms ? delay : g->initial_remaining_ms;
    int32_t rest = g->initial_remaining_ms - g->initial_delay_ms;
    g->new_member_added = false;
    g->initial_delay_ms = next;
    g->initial_remaining_ms = rest > 0 ? rest : 0;
    g->join_deadline_ms = x->now + next;
    return;
  }
  complete_join(x, g);
}

/* Members that never sent SyncGroup within the rebalance timeout leave; the rest rebalance. */
static void sync_timer_fire(struct ctx *x, struct group *g) {
  g->sync_deadline_ms = NO_DEADLINE;
  if (g->sync_generation != g->generation ||
      (g->state != GROUP_COMPLETING_REBALANCE && g->state != GROUP_STABLE))
    return;
  bool removed = false;
  for (size_t i = 0; i < g->member_count;) {
    if (g->members[i]->pending_sync) {
      member_remove(x, g, g->members[i]);
      removed = true;
    } else {
      i++;
    }
  }
  if (removed) prepare_rebalance(x, g);
}

/* Runs the group's earliest due timer; false when none is due. */
static bool group_tick_one(struct ctx *x, struct group *g) {
  int64_t best = x->now + 1;
  int what = 0; /* 1 join, 2 sync, 3 member, 4 pending */
  size_t index = 0;
  if (g->join_timer != JOIN_TIMER_NONE && g->join_deadline_ms < best) {
    best = g->join_deadline_ms;
    what = 1;
  }
  if (g->sync_deadline_ms < best) {
    best = g->sync_deadline_ms;
    what = 2;
  }
  for (size_t i = 0; i < g->member_count; i++)
    if (g->members[i]->heartbeat_deadline_ms < best) {
      best = g->members[i]->heartbeat_deadline_ms;
      what = 3;
      index = i;
    }
  for (size_t i = 0; i < g->pending_count; i++)
    if (g->pending[i].deadline_ms < best) {
      best = g->pending[i].deadline_ms;
      what = 4;
      index = i;
    }
  switch (what) {
  case 1: join_timer_fire(x, g); break;
  case 2: sync_timer_fire(x, g); break;
  case 3: {
    struct gmember *m = g->members[index];
    m->heartbeat_deadline_ms = NO_DEADLINE;
    /* a member waiting for its join or sync response cannot heartbeat; it is spared (unless
     * new: then this is its JoinGroup timing out) and timed again once answered */
    if (m->is_new || !(m->awaiting_join || m->awaiting_sync)) member_expire(x, g, m);
    break;
  }
  case 4:
    pending_remove(g, index);
    if (g->state == GROUP_PREPARING_REBALANCE && all_members_joined(g)) complete_join(x, g);
    break;
  default: return false;
  }
  return true;
}

void group_tick(struct group_coord *c, int64_t now_ms, struct group_outputs *out) {
  struct ctx x = {c, now_ms, out};
  for (size_t i = 0; i < c->group_count; i++) {
    struct group *g = c->groups[i];
    if (g->next_deadline_ms > now_ms) continue;
    while (group_tick_one(&x, g)) {
    }
    check_group(g);
    g->next_deadline_ms = group_next_deadline(g);
  }
  finish(&x, NULL);
}

/* ---- loading ---- */

/* Loading precedes serving: a group being replaced or removed has no parked request. */
static void assert_nothing_parked(const struct group *g) {
  for (size_t i = 0; i < g->member_count; i++)
    INVARIANT(!g->members[i]->awaiting_join && !g->members[i]->awaiting_sync);
}

/* A member of a GroupMetadata record; it supports only the group's protocol, with its stored
 * subscription as metadata (as Kafka's replay builds it). */
static struct gmember *member_load(const struct group *g, const struct group_store_member *r) {
  struct gmember *m = xcalloc(1, sizeof(*m));
  m->id = xstrndup(r->member_id.ptr, r->member_id.len > 0 ? (size_t)r->member_id.len : 0);
  m->instance_id = str_dup(r->group_instance_id);
  m->client_id = xstrndup(r->client_id.ptr, r->client_id.len > 0 ? (size_t)r->client_id.len : 0);
  m->client_host =
      xstrndup(r->client_host.ptr, r->client_host.len > 0 ? (size_t)r->client_host.len : 0);
  m->protocol_type = xstrdup(g->protocol_type);
  m->session_timeout_ms = r->session_timeout_ms;
  m->rebalance_timeout_ms =
      r->rebalance_timeout_ms == -1 ? r->session_timeout_ms : r->rebalance_timeout_ms;
  m->protocols = xcalloc(1, sizeof(*m->protocols));
  m->protocols[0].name = xstrdup(g->protocol_name);
  m->protocols[0].metadata = bytes_of(r->subscription);
  m->protocol_count = 1;
  m->assignment = bytes_of(r->assignment);
  return m;
}

void group_load(struct group_coord *c, const struct group_store *record, int64_t now_ms,
                struct group_outputs *out) {
  struct ctx x = {c, now_ms, out};
  if (record->group_id.len < 0) { /* not a record's key */
    finish(&x, NULL);
    return;
  }
  size_t i = group_lower_bound(c, record->group_id);
  if (i < c->group_count && id_cmp(c->groups[i]->id, record->group_id) == 0) {
    assert_nothing_parked(c->groups[i]);
    group_remove_at(c, i);
  }
  struct group *g = group_create(c, record->group_id, record->state_timestamp_ms);
  g->generation = record->generation_id;
  if (record->protocol_type.len > 0) g->protocol_type = str_dup(record->protocol_type);
  bool members =
      record->member_count > 0 && g->protocol_type != NULL && record->protocol_name.len >= 0;
  if (members) {
    g->protocol_name = str_dup(record->protocol_name);
    for (size_t k = 0; k < record->member_count; k++) {
      const struct group_store_member *r = &record->members[k];
      if (member_find(g, r->member_id) != NULL || static_member(g, r->group_instance_id) != NULL)
        continue; /* a duplicate: the first one stays */
      struct gmember *m = member_load(g, r);
      member_add(g, m);
      heartbeat_schedule(&x, m); /* Kafka's onLoaded reschedules every member's heartbeat */
    }
    /* the stored leader, when it is a member (member_add made the first one leader) */
    struct gmember *leader = record->leader.len >= 0 ? member_find(g, record->leader) : NULL;
    if (leader != NULL) g->leader = leader;
    g->state = GROUP_STABLE;
  }
  topics_compute(g);
  /* onLoaded: a group over a lowered group.max.size rebalances, so members can commit first */
  if (g->member_count > (size_t)c->cfg.max_size) prepare_rebalance(&x, g);
  finish(&x, g);
}

void group_unload(struct group_coord *c, struct wire_str group_id) {
  size_t i = group_lower_bound(c, group_id);
  if (i == c->group_count || id_cmp(c->groups[i]->id, group_id) != 0) return;
  /* a tombstone is replayed only while loading, before any request could be parked (a
   * coordinator that resigns drops its groups with group_coord_destroy instead) */
  assert_nothing_parked(c->groups[i]);
  group_remove_at(c, i);
}

void group_load_simple(struct group_coord *c, struct wire_str group_id, int64_t now_ms) {
  if (group_id.len < 0 || group_get(c, group_id) != NULL) return;
  struct group *g = group_create(c, group_id, now_ms);
  check_group(g);
}

/* ---- offsets ---- */

enum group_expiry group_offset_expiry(const struct group_coord *c, struct wire_str group_id,
                                      int64_t *state_ms) {
  const struct group *g = group_get(c, group_id);
  if (g == NULL || g->protocol_type == NULL) return GROUP_EXPIRY_COMMIT;
  if (g->state == GROUP_EMPTY) {
    if (g->state_timestamp_ms < 0) return GROUP_EXPIRY_COMMIT; /* a record older than v2 */
    *state_ms = g->state_timestamp_ms;
    return GROUP_EXPIRY_STATE;
  }
  if (g->state == GROUP_STABLE && is_consumer_type(g->protocol_type) && g->topics_known)
    return GROUP_EXPIRY_COMMIT;
  return GROUP_EXPIRY_NONE;
}

bool group_subscribed(const struct group_coord *c, struct wire_str group_id,
                      struct wire_str topic) {
  const struct group *g = group_get(c, group_id);
  if (g == NULL) return false;
  if (g->topics_known) return topics_contain(g, topic);
  return is_consumer_type(g->protocol_type);
}

int16_t group_offset_delete_check(const struct group_coord *c, struct wire_str group_id) {
  if (group_id.len <= 0) return ERR_INVALID_GROUP_ID;
  const struct group *g = group_get(c, group_id);
  if (g == NULL) return ERR_GROUP_ID_NOT_FOUND;
  if (g->state != GROUP_EMPTY && !is_consumer_type(g->protocol_type)) return ERR_NON_EMPTY_GROUP;
  return ERR_NONE;
}

/* ---- reads ---- */

static bool arena_str(struct wire_arena *a, const char *s, struct wire_str *out) {
  size_t n = s != NULL ? strlen(s) : 0;
  char *d = wire_arena_alloc(a, n + 1);
  if (d == NULL) return false;
  if (n > 0) memcpy(d, s, n);
  *out = (struct wire_str){d, (int32_t)n};
  return true;
}

static bool arena_bytes(struct wire_arena *a, struct gbytes b, struct wire_bytes *out) {
  uint8_t *d = wire_arena_alloc(a, b.len > 0 ? b.len : 1);
  if (d == NULL) return false;
  if (b.len > 0) memcpy(d, b.p, b.len);
  *out = (struct wire_bytes){d, (int32_t)b.len, NULL};
  return true;
}

bool group_describe(const struct group_coord *c, struct wire_str group_id, struct wire_arena *a,
                    struct group_description *d) {
  memset(d, 0, sizeof(*d));
  const struct group *g = group_get(c, group_id);
  if (g == NULL) return false;
  bool stable = g->state == GROUP_STABLE;
  bool ok = arena_str(a, g->id, &d->group_id) &&
            arena_str(a, group_state_name(g->state), &d->state) &&
            arena_str(a, g->protocol_type, &d->protocol_type) &&
            arena_str(a, stable ? g->protocol_name : NULL, &d->protocol_data);
  d->members = ok ? wire_arena_alloc_array(a, g->member_count, sizeof(*d->members)) : NULL;
  ok = ok && d->members != NULL;
  for (size_t i = 0; ok && i < g->member_count; i++) {
    const struct gmember *m = g->members[i];
    struct group_described_member *dm = &d->members[i];
    ok = arena_str(a, m->id, &dm->member_id) && arena_str(a, m->client_id, &dm->client_id) &&
         arena_str(a, m->client_host, &dm->client_host) &&
         arena_bytes(a, stable ? member_metadata(m, g->protocol_name) : (struct gbytes){0},
                     &dm->metadata) &&
         arena_bytes(a, stable ? m->assignment : (struct gbytes){0}, &dm->assignment);
    if (ok && m->instance_id != NULL)
      ok = arena_str(a, m->instance_id, &dm->group_instance_id);
    else
      dm->group_instance_id = (struct wire_str){NULL, -1};
  }
  if (!ok) {
    memset(d, 0, sizeof(*d));
    return false;
  }
  d->member_count = g->member_count;
  return true;
}

static bool name_in(const char *name, const struct wire_str *names, size_t count) {
  if (count == 0) return true;
  for (size_t i = 0; i < count; i++)
    if (names[i].len >= 0 && strlen(name) == (size_t)names[i].len &&
        strncasecmp(name, names[i].ptr, (size_t)names[i].len) == 0)
      return true;
  return false;
}

int group_list(const struct group_coord *c, const struct wire_str *states, size_t state_count,
               const struct wire_str *types, size_t type_count, struct wire_arena *a,
               struct group_listed **items, size_t *count) {
  *items = NULL;
  *count = 0;
  if (!name_in("classic", types, type_count)) return 0;
  struct group_listed *l = wire_arena_alloc_array(a, c->group_count, sizeof(*l));
  if (l == NULL) return -1;
  size_t n = 0;
  for (size_t i = 0; i < c->group_count; i++) {
    const struct group *g = c->groups[i];
    if (!name_in(group_state_name(g->state), states, state_count)) continue;
    if (!arena_str(a, g->id, &l[n].group_id) ||
        !arena_str(a, g->protocol_type, &l[n].protocol_type) ||
        !arena_str(a, group_state_name(g->state), &l[n].state) ||
        !arena_str(a, "classic", &l[n].type))
      return -1;
    n++;
  }
  *items = l;
  *count = n;
  return 0;
}

size_t group_count(const struct group_coord *c) { return c->group_count; }

bool group_find_state(const struct group_coord *c, const char *group_id, enum group_state *state,
                      int32_t *generation_id, size_t *member_count) {
  const struct group *g = group_get(c, str_of(group_id));
  if (g == NULL) return false;
  *state = g->state;
  *generation_id = g->generation;
  *member_count = g->member_count;
  return true;
}

/* ---- life ---- */

struct group_coord *group_coord_create(const struct group_config *cfg, group_random_fn *random,
                                       void *random_arg) {
  struct group_coord *c = xcalloc(1, sizeof(*c));
  c->cfg = *cfg;
  c->random = random;
  c->random_arg = random_arg;
  return c;
}

void group_coord_destroy(struct group_coord *c) {
  if (c == NULL) return;
  for (size_t i = 0; i < c->group_count; i++) group_free(c->groups[i]);
  while (c->stores != NULL) {
    struct gstore *s = c->stores;
    c->stores = s->next;
    store_free(s);
  }
  free(c->groups);
  free(c);
}

/* The invariants of the design note. */
static void check_group(const struct group *g) {
  INVARIANT(g->state != GROUP_DEAD);
  INVARIANT((g->member_count > 0) == (g->leader != NULL));
  bool leader_found = g->leader == NULL;
  for (size_t i = 0; i < g->member_count; i++) {
    const struct gmember *m = g->members[i];
    leader_found |= m == g->leader;
    INVARIANT(g->protocol_type != NULL && str_cmp_eq(g->protocol_type, m->protocol_type));
    for (size_t j = i + 1; j < g->member_count; j++) {
      INVARIANT(strcmp(m->id, g->members[j]->id) != 0);
      INVARIANT(m->instance_id == NULL || g->members[j]->instance_id == NULL ||
                strcmp(m->instance_id, g->members[j]->instance_id) != 0);
    }
    INVARIANT(pending_find(g, str_of(m->id)) == SIZE_MAX);
    INVARIANT(!m->awaiting_join || g->state == GROUP_PREPARING_REBALANCE ||
              (g->state == GROUP_STABLE && m->instance_id != NULL));
    INVARIANT(!m->awaiting_sync || g->state == GROUP_COMPLETING_REBALANCE);
    INVARIANT(!m->pending_sync || g->state == GROUP_COMPLETING_REBALANCE ||
              g->state == GROUP_STABLE);
  }
  INVARIANT(leader_found);
  INVARIANT(g->topics_known || g->topic_count == 0);
  for (size_t i = 1; i < g->topic_count; i++) INVARIANT(strcmp(g->topics[i - 1], g->topics[i]) < 0);
  INVARIANT(g->state != GROUP_EMPTY || g->protocol_name == NULL);
  INVARIANT(g->protocol_name != NULL ||
            (g->state != GROUP_COMPLETING_REBALANCE && g->state != GROUP_STABLE));
}
