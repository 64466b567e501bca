/* The POSIX storage_io and the helpers built on the seam. Design note: the POSIX implementation
 * is a thin, stateless wrapper (EINTR retried, short writes completed) so that everything above
 * it can be exercised with the fault double in io_fault.c; helpers here use only the vtable. */
#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int px_open(struct storage_io *io, const char *path, int flags, int *fd_out) {
  int fd;
  do fd = open(path, flags | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return -errno;
  *fd_out = fd;
  return 0;
}

static int px_close(struct storage_io *io, int fd) { return close(fd) == 0 ? 0 : -errno; }

static int px_pread(struct storage_io *io, int fd, void *buf, size_t size, uint64_t position,
                    size_t *read_size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, (char *)buf + done, size - done, (off_t)(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  *read_size = done;
  return 0;
}

static int px_pwrite(struct storage_io *io, int fd, const void *buf, size_t size,
                     uint64_t position) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(fd, (const char *)buf + done, size - done, (off_t)(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) return -EIO;
    done += (size_t)n;
  }
  return 0;
}

static int px_fdatasync(struct storage_io *io, int fd) { return fdatasync(fd) == 0 ? 0 : -errno; }

static int px_ftruncate(struct storage_io *io, int fd, uint64_t size) {
  int rc;
  do rc = ftruncate(fd, (off_t)size);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : -errno;
}

static int px_fallocate(struct storage_io *io, int fd, uint64_t position, uint64_t size) {
  int rc = posix_fallocate(fd, (off_t)position, (off_t)size);
  return -rc; /* posix_fallocate returns the error number itself */
}

static int px_fstat(struct storage_io *io, int fd, uint64_t *size, int64_t *mtime_ms) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  if (size != NULL) *size = (uint64_t)st.st_size;
  if (mtime_ms != NULL)
    *mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
  return 0;
}

static int px_rename(struct storage_io *io, const char *from, const char *to) {
  return rename(from, to) == 0 ? 0 : -errno;
}

static int px_unlink(struct storage_io *io, const char *path) {
  return unlink(path) == 0 ? 0 : -errno;
}

static int px_mkdir(struct storage_io *io, const char *path) {
  return mkdir(path, 0755) == 0 ? 0 : -errno;
}

static int px_rmdir(struct storage_io *io, const char *path) {
  return rmdir(path) == 0 ? 0 : -errno;
}

static int px_dir_sync(struct storage_io *io, const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = fsync(fd) == 0 ? 0 : -errno;
  close(fd);
  return rc;
}

static int px_syncfs(struct storage_io *io, int fd) { return syncfs(fd) == 0 ? 0 : -errno; }

static int px_fs_id(struct storage_io *io, const char *path, uint64_t *id) {
  struct stat st;
  if (stat(path, &st) != 0) return -errno;
  *id = (uint64_t)st.st_dev;
  return 0;
}

static int px_dir_list(struct storage_io *io, const char *path, char ***names_out,
                       size_t *count_out) {
  DIR *d = opendir(path);
  if (d == NULL) return -errno;
  char **names = NULL;
  size_t count = 0, cap = 0;
  int rc = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (e == NULL) {
      rc = -errno;
      break;
    }
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      char **n = realloc(names, ncap * sizeof(*n));
      if (n == NULL) {
        rc = -ENOMEM;
        break;
      }
      names = n;
      cap = ncap;
    }
    names[count] = strdup(e->d_name);
    if (names[count] == NULL) {
      rc = -ENOMEM;
      break;
    }
    count++;
  }
  closedir(d);
  if (rc != 0) {
    sio_names_free(names, count);
    return rc;
  }
  *names_out = names;
  *count_out = count;
  return 0;
}

static const struct storage_io_ops posix_ops = {
    .open = px_open,
    .close = px_close,
    .pread = px_pread,
    .pwrite = px_pwrite,
    .fdatasync = px_fdatasync,
    .ftruncate = px_ftruncate,
    .fallocate = px_fallocate,
    .fstat = px_fstat,
    .rename = px_rename,
    .unlink = px_unlink,
    .mkdir = px_mkdir,
    .rmdir = px_rmdir,
    .dir_sync = px_dir_sync,
    .dir_list = px_dir_list,
    .syncfs = px_syncfs,
    .fs_id = px_fs_id,
};

static struct storage_io posix_io = {&posix_ops};

struct storage_io *storage_io_posix(void) {
  return &posix_io;
}

int sio_pread_full(struct storage_io *io, int fd, void *buf, size_t size, uint64_t position) {
  size_t n = 0;
  int rc = sio_pread(io, fd, buf, size, position, &n);
  if (rc != 0) return rc;
  return n == size ? 0 : -ENODATA;
}

void sio_names_free(char **names, size_t count) {
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
}

int sio_dirname(const char *path, char *dir, size_t dir_size) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    if (dir_size < 2) return -ENAMETOOLONG;
    strcpy(dir, ".");
    return 0;
  }
  size_t len = slash == path ? 1 : (size_t)(slash - path);
  if (len >= dir_size) return -ENAMETOOLONG;
  memcpy(dir, path, len);
  dir[len] = '\0';
  return 0;
}

int sio_write_atomic(struct storage_io *io, const char *path, const void *data, size_t size) {
  char tmp[4096], dir[4096];
  int fd = -1, rc;
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) return -ENAMETOOLONG;
  rc = sio_dirname(path, dir, sizeof(dir));
  if (rc != 0) return rc;
  rc = sio_open(io, tmp, O_WRONLY | O_CREAT | O_TRUNC, &fd);
  if (rc != 0) return rc;
  rc = sio_pwrite(io, fd, data, size, 0);
  if (rc != 0) goto fail;
  rc = sio_fdatasync(io, fd);
  if (rc != 0) goto fail;
  rc = sio_close(io, fd);
  fd = -1;
  if (rc != 0) goto fail;
  rc = sio_rename(io, tmp, path);
  if (rc != 0) goto fail;
  return sio_dir_sync(io, dir);

fail:
  if (fd >= 0) sio_close(io, fd);
  sio_unlink(io, tmp);
  return rc;
}

int sio_read_all(struct storage_io *io, const char *path, size_t size_max, char **out,
                 size_t *out_size) {
  int fd = -1, rc;
  char *buf = NULL;
  uint64_t size = 0;
  rc = sio_open(io, path, O_RDONLY, &fd);
  if (rc != 0) return rc;
  rc = sio_fstat(io, fd, &size, NULL);
  if (rc != 0) goto fail;
  if (size > size_max) {
    rc = -EFBIG;
    goto fail;
  }
  buf = malloc((size_t)size + 1);
  if (buf == NULL) {
    rc = -ENOMEM;
    goto fail;
  }
  size_t n = 0;
  rc = sio_pread(io, fd, buf, (size_t)size, 0, &n);
  if (rc != 0) goto fail;
  sio_close(io, fd);
  buf[n] = '\0';
  *out = buf;
  if (out_size != NULL) *out_size = n;
  return 0;

fail:
  free(buf);
  sio_close(io, fd);
  return rc;
}
