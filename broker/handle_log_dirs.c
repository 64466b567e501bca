/* DescribeLogDirs: each log dir of this broker with the partitions it holds (size of their
 * segments; offset lag 0: a log only becomes a "future" replica during a move between dirs,
 * which Quire does not do) and, v4+, the file system's total and usable bytes. A null topic
 * list asks for every partition. */
#include <string.h>
#include <sys/statvfs.h>

#include "dispatch.h"
#include "errors.h"
#include "logdir.h"

static bool wanted(const struct msg_describe_log_dirs_request *req, const char *topic,
                   int32_t partition) {
  if (req->topics.count < 0) return true;
  for (int32_t i = 0; i < req->topics.count; i++) {
    const struct msg_describe_log_dirs_request_describable_log_dir_topic *t = &req->topics.items[i];
    if (!wire_str_eq(t->topic, topic)) continue;
    for (int32_t p = 0; p < t->partitions.count; p++)
      if (t->partitions.items[p] == partition) return true;
  }
  return false;
}

/* Appends partition (of topic) to the result, grouping consecutive partitions of a topic. */
static int add_partition(struct wire_arena *a, struct msg_describe_log_dirs_response_result *r,
                         size_t capacity, const char *topic, int32_t partition, int64_t size) {
  struct msg_describe_log_dirs_response_topic *t =
      r->topics.count > 0 ? &r->topics.items[r->topics.count - 1] : NULL;
  if (t == NULL || !wire_str_eq(t->name, topic)) {
    t = &r->topics.items[r->topics.count++];
    msg_describe_log_dirs_response_topic_init(t);
    t->name = wire_str_of(topic);
    t->partitions.items = wire_arena_alloc_array(a, capacity, sizeof(*t->partitions.items));
    if (t->partitions.items == NULL) return -1;
    t->partitions.count = 0;
  }
  struct msg_describe_log_dirs_response_partition *p = &t->partitions.items[t->partitions.count++];
  msg_describe_log_dirs_response_partition_init(p);
  p->partition_index = partition;
  p->partition_size = size;
  return 0;
}

int handle_describe_log_dirs(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_describe_log_dirs_request *req = request;
  struct msg_describe_log_dirs_response *resp = response;
  struct logdir *ld = ctx->broker->logs;
  if (ld == NULL) return 0; /* no storage: no log dirs */
  size_t dirs = logdir_dir_count(ld), parts = logdir_count(ld);
  resp->results.items = wire_arena_alloc_array(ctx->arena, dirs, sizeof(*resp->results.items));
  if (resp->results.items == NULL && dirs > 0) return -1;
  resp->results.count = (int32_t)dirs;
  for (size_t d = 0; d < dirs; d++) {
    struct msg_describe_log_dirs_response_result *r = &resp->results.items[d];
    msg_describe_log_dirs_response_result_init(r);
    const char *path = logdir_dir_path(ld, d);
    r->log_dir = wire_str_of(path);
    struct statvfs vfs;
    if (statvfs(path, &vfs) == 0) {
      r->total_bytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
      r->usable_bytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    }
    r->topics.items = wire_arena_alloc_array(ctx->arena, parts, sizeof(*r->topics.items));
    if (r->topics.items == NULL && parts > 0) return -1;
    r->topics.count = 0;
    for (size_t i = 0; i < parts; i++) { /* in (topic, partition) order */
      const char *topic, *dir;
      int32_t partition;
      struct plog *log = logdir_at(ld, i, &topic, &partition, &dir);
      if (strcmp(dir, path) != 0 || !wanted(req, topic, partition)) continue;
      if (add_partition(ctx->arena, r, parts, topic, partition, (int64_t)plog_size(log)) != 0)
        return -1;
    }
  }
  return 0;
}
