/* meta.properties. Design note: every log dir (and metadata.log.dir when it is separate) carries
 * the identity of the node that owns it: version=1, node.id, cluster.id and a directory.id unique
 * to the dir, in Java-properties text as Kafka's KRaft mode writes it. meta_prepare runs before
 * anything else touches the dirs:
 *   1. read: each dir is either unformatted (no meta.properties) or formatted (parsed, checked);
 *   2. check: every formatted dir agrees with the configuration's node.id, with cluster.id when
 *      configured, and with the other dirs' cluster.id; directory ids are distinct;
 *   3. write: unformatted dirs get a new directory.id and the cluster id (configured, else the
 *      formatted dirs', else a fresh one), each file through file_write_atomic.
 * Nothing is written unless every check passed, so a failed start leaves the dirs as they were. */
#include "meta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "log.h"

#define META_FILE "meta.properties"
#define META_FILE_BYTES_MAX 65536

struct meta_dir {
  const char *path;
  bool formatted;
  bool needs_rewrite; /* formatted by an older writer without directory.id */
  int32_t node_id;
  char cluster_id[64];
  char directory_id[64];
};

__attribute__((format(printf, 3, 4))) static int meta_fail(char *err, int err_size, const char *fmt,
                                                           ...) {
  if (err != NULL && err_size > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, (size_t)err_size, fmt, ap);
    va_end(ap);
  }
  return -1;
}

static void meta_random_bytes(unsigned char *buf, size_t size) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = getrandom(buf + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got == size) return;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  while (fd >= 0 && got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (fd >= 0) close(fd);
  if (got != size) {
    fprintf(stderr, "%s:%d: no random source (getrandom and /dev/urandom failed)\n", __FILE__,
            __LINE__);
    abort();
  }
}

void meta_uuid_text(const uint8_t id[16], char out[23]) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char b[18] = {0}; /* padded to a multiple of 3 */
  memcpy(b, id, 16);
  char enc[24];
  for (int i = 0, o = 0; i < 18; i += 3, o += 4) {
    uint32_t v = ((uint32_t)b[i] << 16) | ((uint32_t)b[i + 1] << 8) | b[i + 2];
    enc[o] = alphabet[(v >> 18) & 63];
    enc[o + 1] = alphabet[(v >> 12) & 63];
    enc[o + 2] = alphabet[(v >> 6) & 63];
    enc[o + 3] = alphabet[v & 63];
  }
  memcpy(out, enc, 22); /* 128 bits need 22 characters; the rest encodes the padding */
  out[22] = '\0';
}

void meta_random_id(char out[23]) {
  do {
    uint8_t b[16];
    meta_random_bytes(b, 16);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* IETF variant */
    meta_uuid_text(b, out);
    /* like Kafka, avoid ids starting with '-', which command lines take for an option */
  } while (out[0] == '-');
}

static const char *meta_props_find(char **keys, char **values, int count, const char *key) {
  for (int i = 0; i < count; i++)
    if (strcmp(keys[i], key) == 0) return values[i];
  return NULL;
}

static int meta_path(char *out, size_t size, const char *dir) {
  if (snprintf(out, size, "%s/%s", dir, META_FILE) >= (int)size) return -ENAMETOOLONG;
  return 0;
}

/* Reads dir's meta.properties into d; a missing file leaves d unformatted. */
static int meta_dir_read(struct meta_dir *d, char *err, int err_size) {
  char path[4096], *text = NULL, **keys = NULL, **values = NULL;
  size_t size;
  int count = 0, rc = -1;
  if (meta_path(path, sizeof(path), d->path) != 0)
    return meta_fail(err, err_size, "log dir path too long: %s", d->path);
  int r = file_read_all(path, META_FILE_BYTES_MAX, &text, &size);
  if (r == -ENOENT) return 0;
  if (r != 0) return meta_fail(err, err_size, "cannot read %s: %s", path, strerror(-r));
  if (config_props_parse(text, size, &keys, &values, &count) != 0) {
    meta_fail(err, err_size, "out of memory reading %s", path);
    goto done;
  }
  const char *version = meta_props_find(keys, values, count, "version");
  const char *node = meta_props_find(keys, values, count, "node.id");
  const char *cluster = meta_props_find(keys, values, count, "cluster.id");
  const char *directory = meta_props_find(keys, values, count, "directory.id");
  if (version == NULL || strcmp(version, "1") != 0) {
    meta_fail(err, err_size, "%s has version=%s; Quire reads KRaft log dirs (version=1) only", path,
              version != NULL ? version : "(missing)");
    goto done;
  }
  char *end;
  long long node_id = node != NULL ? strtoll(node, &end, 10) : -1;
  if (node == NULL || *node == '\0' || *end != '\0' || node_id < 0 || node_id > INT32_MAX) {
    meta_fail(err, err_size, "%s has no valid node.id (%s)", path, node != NULL ? node : "missing");
    goto done;
  }
  if (cluster == NULL || !config_id_valid(cluster)) {
    meta_fail(err, err_size, "%s has no valid cluster.id (%s)", path,
              cluster != NULL ? cluster : "missing");
    goto done;
  }
  if (directory != NULL && !config_id_valid(directory)) {
    meta_fail(err, err_size, "%s has an invalid directory.id (%s)", path, directory);
    goto done;
  }
  d->formatted = true;
  d->node_id = (int32_t)node_id;
  snprintf(d->cluster_id, sizeof(d->cluster_id), "%s", cluster);
  if (directory != NULL) {
    snprintf(d->directory_id, sizeof(d->directory_id), "%s", directory);
  } else {
    meta_random_id(d->directory_id);
    d->needs_rewrite = true;
  }
  rc = 0;
done:
  config_props_free(keys, values, count);
  free(text);
  return rc;
}

static int meta_dir_write(const struct meta_dir *d, char *err, int err_size) {
  char path[4096], text[512], date[64];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm);
  int n = snprintf(text, sizeof(text),
                   "#\n#%s\nnode.id=%" PRId32 "\ndirectory.id=%s\nversion=1\ncluster.id=%s\n", date,
                   d->node_id, d->directory_id, d->cluster_id);
  if (n < 0 || n >= (int)sizeof(text)) return meta_fail(err, err_size, "meta.properties too long");
  if (meta_path(path, sizeof(path), d->path) != 0)
    return meta_fail(err, err_size, "log dir path too long: %s", d->path);
  int rc = file_write_atomic(path, text, (size_t)n);
  if (rc != 0) return meta_fail(err, err_size, "cannot write %s: %s", path, strerror(-rc));
  return 0;
}

/* The dirs to manage: log dirs, plus metadata.log.dir when it is not one of them. */
static int meta_dirs_collect(const struct config *cfg, struct meta_dir **out, int *count) {
  const char *mdir = config_get(cfg, "metadata.log.dir");
  int n = cfg->log_dir_count;
  bool extra = mdir != NULL && *mdir != '\0';
  for (int i = 0; extra && i < cfg->log_dir_count; i++)
    if (strcmp(cfg->log_dirs[i], mdir) == 0) extra = false;
  struct meta_dir *dirs = calloc((size_t)n + 1, sizeof(*dirs));
  if (dirs == NULL) return -1;
  for (int i = 0; i < n; i++) dirs[i].path = cfg->log_dirs[i];
  if (extra) dirs[n++].path = mdir;
  *out = dirs;
  *count = n;
  return 0;
}

/* The whole prepare/format procedure; cluster_id may be NULL (use the formatted dirs' id or a
 * new one). */
static int meta_run(const struct config *cfg, const char *cluster_id, const char *cluster_id_source,
                    struct meta_props *meta, char *err, int err_size) {
  struct meta_dir *dirs = NULL;
  const struct meta_dir *first_formatted = NULL;
  int count = 0, rc = -1;
  char chosen[64] = "";

  if (meta_dirs_collect(cfg, &dirs, &count) != 0) {
    meta_fail(err, err_size, "out of memory");
    goto done;
  }
  for (int i = 0; i < count; i++) {
    int r = file_mkdirs(dirs[i].path);
    if (r != 0) {
      meta_fail(err, err_size, "cannot create log dir %s: %s", dirs[i].path, strerror(-r));
      goto done;
    }
    if (meta_dir_read(&dirs[i], err, err_size) != 0) goto done;
  }

  for (int i = 0; i < count; i++) {
    const struct meta_dir *d = &dirs[i];
    if (!d->formatted) continue;
    if (d->node_id != cfg->node_id) {
      meta_fail(err, err_size,
                "meta.properties in %s has node.id=%" PRId32 " but the configuration says "
                "node.id=%" PRId32,
                d->path, d->node_id, cfg->node_id);
      goto done;
    }
    if (cluster_id != NULL && strcmp(d->cluster_id, cluster_id) != 0) {
      meta_fail(err, err_size, "meta.properties in %s has cluster.id=%s but %s cluster.id=%s",
                d->path, d->cluster_id, cluster_id_source, cluster_id);
      goto done;
    }
    if (first_formatted != NULL && strcmp(d->cluster_id, first_formatted->cluster_id) != 0) {
      meta_fail(err, err_size,
                "meta.properties in %s has cluster.id=%s but meta.properties in %s has "
                "cluster.id=%s",
                d->path, d->cluster_id, first_formatted->path, first_formatted->cluster_id);
      goto done;
    }
    for (int j = 0; j < i; j++) {
      if (dirs[j].formatted && strcmp(dirs[j].directory_id, d->directory_id) == 0) {
        meta_fail(err, err_size, "meta.properties in %s and %s have the same directory.id=%s",
                  dirs[j].path, d->path, d->directory_id);
        goto done;
      }
    }
    if (first_formatted == NULL) first_formatted = d;
  }

  if (cluster_id != NULL)
    snprintf(chosen, sizeof(chosen), "%s", cluster_id);
  else if (first_formatted != NULL)
    snprintf(chosen, sizeof(chosen), "%s", first_formatted->cluster_id);
  else
    meta_random_id(chosen);

  for (int i = 0; i < count; i++) {
    struct meta_dir *d = &dirs[i];
    if (d->formatted && !d->needs_rewrite) continue;
    if (!d->formatted) {
      d->node_id = cfg->node_id;
      snprintf(d->cluster_id, sizeof(d->cluster_id), "%s", chosen);
      meta_random_id(d->directory_id);
    }
    if (meta_dir_write(d, err, err_size) != 0) goto done;
    log_info("meta", "%s log dir %s (node.id=%" PRId32 ", cluster.id=%s, directory.id=%s)",
             d->formatted ? "added directory.id to" : "formatted", d->path, d->node_id,
             d->cluster_id, d->directory_id);
  }

  if (meta != NULL) {
    memset(meta, 0, sizeof(*meta));
    meta->node_id = cfg->node_id;
    snprintf(meta->cluster_id, sizeof(meta->cluster_id), "%s", chosen);
    snprintf(meta->directory_id, sizeof(meta->directory_id), "%s", dirs[0].directory_id);
  }
  rc = 0;
done:
  free(dirs);
  return rc;
}

int meta_prepare(const struct config *cfg, struct meta_props *meta, char *err, int err_size) {
  const char *cid = cfg->cluster_id[0] != '\0' ? cfg->cluster_id : NULL;
  return meta_run(cfg, cid, "the configuration says", meta, err, err_size);
}

int meta_format(const struct config *cfg, const char *cluster_id, char *err, int err_size) {
  if (cluster_id != NULL && !config_id_valid(cluster_id))
    return meta_fail(err, err_size,
                     "cluster id '%s' is not a Kafka id (22 characters of URL-safe base64)",
                     cluster_id);
  if (cluster_id != NULL && cfg->cluster_id[0] != '\0' && strcmp(cluster_id, cfg->cluster_id) != 0)
    return meta_fail(err, err_size,
                     "--cluster-id %s disagrees with the configuration's cluster.id=%s", cluster_id,
                     cfg->cluster_id);
  const char *source = "--cluster-id asks for";
  if (cluster_id == NULL && cfg->cluster_id[0] != '\0') {
    cluster_id = cfg->cluster_id;
    source = "the configuration says";
  }
  return meta_run(cfg, cluster_id, source, NULL, err, err_size);
}
