/* Checkpoint files. Design note: each file is replaced whole with sio_write_atomic, so a
 * reader sees the previous version or the new one; a file that does not parse is reported as
 * -EBADMSG and the caller falls back to the safe value (recovery point 0: scan everything; log
 * start 0: the first segment's base). Formats in checkpoint.h. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CKPT_FILE_MAX = 64 * 1024 * 1024 };

struct strbuf {
  char *p;
  size_t len, cap;
};

static int sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sb_printf(struct strbuf *b, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return -EINVAL;
    if (b->p != NULL && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return 0;
    }
    size_t ncap = (b->cap ? b->cap * 2 : 256) + (size_t)n;
    char *np = realloc(b->p, ncap);
    if (np == NULL) return -ENOMEM;
    b->p = np;
    b->cap = ncap;
  }
}

/* Reads the "0\n<count>\n" header; *rest points after it. */
static int ckpt_header(char *text, size_t *count, char **rest) {
  char *end;
  if (strncmp(text, "0\n", 2) != 0) return -EBADMSG;
  errno = 0;
  unsigned long long n = strtoull(text + 2, &end, 10);
  if (errno != 0 || end == text + 2 || *end != '\n' || n > CKPT_FILE_MAX) return -EBADMSG;
  *count = (size_t)n;
  *rest = end + 1;
  return 0;
}

int ckpt_offsets_write(struct storage_io *io, const char *path, const struct ckpt_offset *e,
                       size_t count) {
  struct strbuf b = {0};
  int rc = sb_printf(&b, "0\n%zu\n", count);
  for (size_t i = 0; rc == 0 && i < count; i++)
    rc = sb_printf(&b, "%s %" PRId32 " %" PRId64 "\n", e[i].topic, e[i].partition, e[i].offset);
  if (rc == 0) rc = sio_write_atomic(io, path, b.p, b.len);
  free(b.p);
  return rc;
}

int ckpt_offsets_read(struct storage_io *io, const char *path, struct ckpt_offset **out,
                      size_t *out_count) {
  char *text = NULL, *p;
  size_t count = 0;
  struct ckpt_offset *e = NULL;
  int rc = sio_read_all(io, path, CKPT_FILE_MAX, &text, NULL);
  if (rc != 0) return rc;
  rc = ckpt_header(text, &count, &p);
  if (rc == 0) {
    e = calloc(count ? count : 1, sizeof(*e));
    if (e == NULL) rc = -ENOMEM;
  }
  for (size_t i = 0; rc == 0 && i < count; i++) {
    int used = 0;
    if (sscanf(p, "%249s %" SCNd32 " %" SCNd64 "%n", e[i].topic, &e[i].partition, &e[i].offset,
               &used) != 3 ||
        p[used] != '\n')
      rc = -EBADMSG;
    else
      p += used + 1;
  }
  free(text);
  if (rc != 0) {
    free(e);
    return rc;
  }
  *out = e;
  *out_count = count;
  return 0;
}

int ckpt_epochs_write(struct storage_io *io, const char *path, const struct ckpt_epoch *e,
                      size_t count) {
  struct strbuf b = {0};
  int rc = sb_printf(&b, "0\n%zu\n", count);
  for (size_t i = 0; rc == 0 && i < count; i++)
    rc = sb_printf(&b, "%" PRId32 " %" PRId64 "\n", e[i].epoch, e[i].start_offset);
  if (rc == 0) rc = sio_write_atomic(io, path, b.p, b.len);
  free(b.p);
  return rc;
}

int ckpt_epochs_read(struct storage_io *io, const char *path, struct ckpt_epoch **out,
                     size_t *out_count) {
  char *text = NULL, *p;
  size_t count = 0;
  struct ckpt_epoch *e = NULL;
  int rc = sio_read_all(io, path, CKPT_FILE_MAX, &text, NULL);
  if (rc != 0) return rc;
  rc = ckpt_header(text, &count, &p);
  if (rc == 0) {
    e = calloc(count ? count : 1, sizeof(*e));
    if (e == NULL) rc = -ENOMEM;
  }
  for (size_t i = 0; rc == 0 && i < count; i++) {
    int used = 0;
    if (sscanf(p, "%" SCNd32 " %" SCNd64 "%n", &e[i].epoch, &e[i].start_offset, &used) != 2 ||
        p[used] != '\n')
      rc = -EBADMSG;
    else
      p += used + 1;
  }
  free(text);
  if (rc != 0) {
    free(e);
    return rc;
  }
  *out = e;
  *out_count = count;
  return 0;
}

static int marker_path(const char *log_dir, char *out, size_t size) {
  int n = snprintf(out, size, "%s/%s", log_dir, CKPT_CLEAN_SHUTDOWN);
  return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int ckpt_clean_marker_write(struct storage_io *io, const char *log_dir) {
  char path[4096];
  int rc = marker_path(log_dir, path, sizeof(path));
  return rc == 0 ? sio_write_atomic(io, path, "", 0) : rc;
}

bool ckpt_clean_marker_exists(struct storage_io *io, const char *log_dir) {
  char path[4096];
  int fd;
  if (marker_path(log_dir, path, sizeof(path)) != 0) return false;
  if (sio_open(io, path, O_RDONLY, &fd) != 0) return false;
  sio_close(io, fd);
  return true;
}

int ckpt_clean_marker_remove(struct storage_io *io, const char *log_dir) {
  char path[4096];
  int rc = marker_path(log_dir, path, sizeof(path));
  if (rc == 0) rc = sio_unlink(io, path);
  if (rc == -ENOENT) return 0;
  return rc == 0 ? sio_dir_sync(io, log_dir) : rc;
}

int ckpt_partition_dir_name(const char *topic, int32_t partition, char *out, size_t out_size) {
  int n = snprintf(out, out_size, "%s-%" PRId32, topic, partition);
  return n < 0 || (size_t)n >= out_size ? -ENAMETOOLONG : 0;
}
