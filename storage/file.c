/* Durable small-file helpers. Design note: file_write_atomic makes a replacement visible only
 * when it is complete and on disk: write PATH.tmp, fsync it, rename it over PATH, fsync the
 * directory so the rename itself survives a crash. A reader therefore sees the old contents or the
 * new ones, never a torn file. Every failure returns -errno and leaves no .tmp behind. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int file_write_full(int fd, const void *data, size_t size) {
  const char *p = data;
  while (size > 0) {
    ssize_t n = write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    size -= (size_t)n;
  }
  return 0;
}

/* fsync of the directory that holds path ("." when path has no slash). */
static int file_sync_parent(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    strcpy(dir, ".");
  } else if (slash == path) {
    strcpy(dir, "/");
  } else {
    size_t len = (size_t)(slash - path);
    if (len >= sizeof(dir)) return -ENAMETOOLONG;
    memcpy(dir, path, len);
    dir[len] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = 0;
  if (fsync(fd) != 0) rc = -errno;
  close(fd);
  return rc;
}

int file_write_atomic(const char *path, const void *data, size_t size) {
  char tmp[4096];
  int fd = -1, rc;
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) return -ENAMETOOLONG;

  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  rc = file_write_full(fd, data, size);
  if (rc != 0) goto fail;
  if (fsync(fd) != 0) {
    rc = -errno;
    goto fail;
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = -errno;
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    rc = -errno;
    goto fail;
  }
  return file_sync_parent(path);

fail:
  if (fd >= 0) close(fd);
  unlink(tmp);
  return rc;
}

int file_read_all(const char *path, size_t size_max, char **out, size_t *out_size) {
  char *buf = NULL;
  size_t len = 0;
  int rc;
  if (size_max > SIZE_MAX - 2) return -EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;

  struct stat st;
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto fail;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    goto fail;
  }
  if ((size_t)st.st_size > size_max) {
    rc = -EFBIG;
    goto fail;
  }
  /* read up to size_max + 1 so a file that grew since fstat is still caught */
  buf = malloc(size_max + 2);
  if (buf == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  for (;;) {
    ssize_t n = read(fd, buf + len, size_max + 1 - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = -errno;
      goto fail;
    }
    if (n == 0) break;
    len += (size_t)n;
    if (len > size_max) {
      rc = -EFBIG;
      goto fail;
    }
  }
  close(fd);
  buf[len] = '\0';
  *out = buf;
  if (out_size != NULL) *out_size = len;
  return 0;

fail:
  free(buf);
  close(fd);
  return rc;
}

int file_mkdirs(const char *path) {
  char buf[4096];
  size_t len = strlen(path);
  if (len == 0) return -EINVAL;
  if (len >= sizeof(buf)) return -ENAMETOOLONG;
  memcpy(buf, path, len + 1);

  /* create each prefix ending before a '/', then the whole path */
  for (size_t i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    if (buf[i - 1] == '/') continue; /* repeated slashes */
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -errno;
    buf[i] = saved;
  }
  struct stat st;
  if (stat(path, &st) != 0) return -errno;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  return 0;
}
