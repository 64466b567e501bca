/* Fault-injecting storage_io. Design note (the model of a disk it simulates):
 *
 * Files live on the real file system (so descriptors stay real for sendfile); beside them the
 * double keeps what a power loss would leave:
 *  - a shadow per file (inode): its contents at the last fdatasync (none yet: empty);
 *  - the synced names: path -> shadow, as of the last dir_sync of each directory. A file
 *    created (or renamed, unlinked) after its directory's last sync has that change undone.
 * Files that already existed when first opened are adopted as fully durable.
 * fault_io_power_loss() rewrites every tracked directory to exactly its synced names with their
 * shadows' contents, and kills the descriptors open at that moment. Directories themselves are
 * treated as always durable. Injected errors: a sticky write error (pwrite, fallocate, creating
 * a file), a sticky sync error, and a one-shot torn write. One mutex serialises everything, so
 * the flusher thread and the test thread may call in concurrently. Files are read whole on each
 * fdatasync: keep test files small (index_size_max in the tests is a few KiB). */
#include "io_fault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct shadow {
  int refs;
  uint8_t *data;
  size_t size;
};

struct inode_ent {
  dev_t dev;
  ino_t ino;
  struct shadow *sh;
};

struct name_ent {
  char *path;
  struct shadow *sh;
};

struct fd_ent {
  int fd;
  unsigned epoch;
};

struct fault_io {
  struct storage_io base;
  pthread_mutex_t mu;
  struct inode_ent *inodes;
  size_t inode_count, inode_cap;
  struct name_ent *names;
  size_t name_count, name_cap;
  char **dirs;
  size_t dir_count, dir_cap;
  struct fd_ent *fds;
  size_t fd_count, fd_cap;
  unsigned epoch;
  int write_err, sync_err;
  bool tear_armed;
  size_t tear_kept;
  int tear_err;
  unsigned sync_count, syncfs_count;
  bool hold_syncs;
  pthread_cond_t released;
};

static struct fault_io *fio(struct storage_io *io) { return (struct fault_io *)io; }

static int grow(void **arr, size_t *cap, size_t count, size_t elem) {
  if (count < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 16;
  void *n = realloc(*arr, ncap * elem);
  if (n == NULL) return -ENOMEM;
  *arr = n;
  *cap = ncap;
  return 0;
}

static void shadow_unref(struct shadow *sh) {
  if (sh != NULL && --sh->refs == 0) {
    free(sh->data);
    free(sh);
  }
}

static struct shadow *shadow_new(void) {
  struct shadow *sh = calloc(1, sizeof(*sh));
  if (sh != NULL) sh->refs = 1;
  return sh;
}

/* The whole file behind fd, read through a fresh read-only descriptor (fd may be write-only). */
static int read_whole_fd(int wfd, uint8_t **data, size_t *size) {
  char proc[64];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", wfd);
  int fd = open(proc, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int rc = -errno;
    close(fd);
    return rc;
  }
  uint8_t *buf = malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    close(fd);
    return -ENOMEM;
  }
  size_t done = 0;
  while (done < (size_t)st.st_size) {
    ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int rc = -errno;
      free(buf);
      close(fd);
      return rc;
    }
    if (n == 0) break;
    done += (size_t)n;
  }
  close(fd);
  *data = buf;
  *size = done;
  return 0;
}

static struct inode_ent *inode_find(struct fault_io *f, dev_t dev, ino_t ino) {
  for (size_t i = 0; i < f->inode_count; i++)
    if (f->inodes[i].dev == dev && f->inodes[i].ino == ino) return &f->inodes[i];
  return NULL;
}

static void inode_forget(struct fault_io *f, dev_t dev, ino_t ino) {
  struct inode_ent *e = inode_find(f, dev, ino);
  if (e == NULL) return;
  shadow_unref(e->sh);
  *e = f->inodes[--f->inode_count];
}

/* Maps (dev, ino) to sh, taking a reference. */
static int inode_set(struct fault_io *f, dev_t dev, ino_t ino, struct shadow *sh) {
  inode_forget(f, dev, ino);
  int rc = grow((void **)&f->inodes, &f->inode_cap, f->inode_count, sizeof(*f->inodes));
  if (rc != 0) return rc;
  sh->refs++;
  f->inodes[f->inode_count++] = (struct inode_ent){dev, ino, sh};
  return 0;
}

static struct name_ent *name_find(struct fault_io *f, const char *path) {
  for (size_t i = 0; i < f->name_count; i++)
    if (strcmp(f->names[i].path, path) == 0) return &f->names[i];
  return NULL;
}

static int name_set(struct fault_io *f, const char *path, struct shadow *sh) {
  struct name_ent *e = name_find(f, path);
  if (e != NULL) {
    sh->refs++;
    shadow_unref(e->sh);
    e->sh = sh;
    return 0;
  }
  int rc = grow((void **)&f->names, &f->name_cap, f->name_count, sizeof(*f->names));
  if (rc != 0) return rc;
  char *p = strdup(path);
  if (p == NULL) return -ENOMEM;
  sh->refs++;
  f->names[f->name_count++] = (struct name_ent){p, sh};
  return 0;
}

static int dir_note(struct fault_io *f, const char *path) {
  char dir[4096];
  int rc = sio_dirname(path, dir, sizeof(dir));
  if (rc != 0) return rc;
  for (size_t i = 0; i < f->dir_count; i++)
    if (strcmp(f->dirs[i], dir) == 0) return 0;
  rc = grow((void **)&f->dirs, &f->dir_cap, f->dir_count, sizeof(*f->dirs));
  if (rc != 0) return rc;
  f->dirs[f->dir_count] = strdup(dir);
  if (f->dirs[f->dir_count] == NULL) return -ENOMEM;
  f->dir_count++;
  return 0;
}

/* -EIO when fd was opened before the last power loss (or is unknown). */
static int fd_check(struct fault_io *f, int fd) {
  for (size_t i = 0; i < f->fd_count; i++)
    if (f->fds[i].fd == fd) return f->fds[i].epoch == f->epoch ? 0 : -EIO;
  return -EBADF;
}

static int ft_open(struct storage_io *io, const char *path, int flags, int *fd_out) {
  struct fault_io *f = fio(io);
  int rc = 0, fd = -1;
  struct shadow *sh = NULL;
  pthread_mutex_lock(&f->mu);
  struct stat st;
  bool existed = stat(path, &st) == 0;
  if (!existed && (flags & O_CREAT) && f->write_err != 0) {
    rc = -f->write_err;
    goto out;
  }
  fd = open(path, flags | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = -errno;
    goto out;
  }
  if (fstat(fd, &st) != 0) {
    rc = -errno;
    goto out;
  }
  if (S_ISREG(st.st_mode) && (!existed || inode_find(f, st.st_dev, st.st_ino) == NULL)) {
    sh = shadow_new();
    if (sh == NULL) {
      rc = -ENOMEM;
      goto out;
    }
    if (existed) { /* adopted: durable as found */
      rc = read_whole_fd(fd, &sh->data, &sh->size);
      if (rc == 0 && name_find(f, path) == NULL) rc = name_set(f, path, sh);
    }
    if (rc == 0) rc = inode_set(f, st.st_dev, st.st_ino, sh);
    if (rc != 0) goto out;
  }
  rc = dir_note(f, path);
  if (rc == 0) rc = grow((void **)&f->fds, &f->fd_cap, f->fd_count, sizeof(*f->fds));
  if (rc != 0) goto out;
  f->fds[f->fd_count++] = (struct fd_ent){fd, f->epoch};
  *fd_out = fd;
  fd = -1;
out:
  shadow_unref(sh);
  if (fd >= 0) close(fd);
  pthread_mutex_unlock(&f->mu);
  return rc;
}

static int ft_close(struct storage_io *io, int fd) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  for (size_t i = 0; i < f->fd_count; i++) {
    if (f->fds[i].fd == fd) {
      f->fds[i] = f->fds[--f->fd_count];
      break;
    }
  }
  int rc = close(fd) == 0 ? 0 : -errno;
  pthread_mutex_unlock(&f->mu);
  return rc;
}

static int ft_pread(struct storage_io *io, int fd, void *buf, size_t size, uint64_t position,
                    size_t *read_size) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  int rc = fd_check(f, fd);
  pthread_mutex_unlock(&f->mu);
  if (rc != 0) return rc;
  return storage_io_posix()->ops->pread(io, fd, buf, size, position, read_size);
}

static int ft_pwrite(struct storage_io *io, int fd, const void *buf, size_t size,
                     uint64_t position) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  int rc = fd_check(f, fd);
  if (rc == 0 && f->write_err != 0) rc = -f->write_err;
  if (rc == 0 && f->tear_armed) {
    f->tear_armed = false;
    size_t kept = f->tear_kept < size ? f->tear_kept : size;
    rc = storage_io_posix()->ops->pwrite(io, fd, buf, kept, position);
    if (rc == 0) rc = -f->tear_err;
  } else if (rc == 0) {
    rc = storage_io_posix()->ops->pwrite(io, fd, buf, size, position);
  }
  pthread_mutex_unlock(&f->mu);
  return rc;
}

/* Makes fd's contents its inode's shadow. Under f->mu. */
static int fd_sync_locked(struct fault_io *f, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -errno;
  struct inode_ent *e = inode_find(f, st.st_dev, st.st_ino);
  if (e == NULL) {
    struct shadow *sh = shadow_new();
    if (sh == NULL) return -ENOMEM;
    int rc = inode_set(f, st.st_dev, st.st_ino, sh);
    shadow_unref(sh);
    if (rc != 0) return rc;
    e = inode_find(f, st.st_dev, st.st_ino);
  }
  uint8_t *data = NULL;
  size_t len = 0;
  int rc = read_whole_fd(fd, &data, &len);
  if (rc != 0) return rc;
  free(e->sh->data);
  e->sh->data = data;
  e->sh->size = len;
  return 0;
}

static int ft_fdatasync(struct storage_io *io, int fd) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  while (f->hold_syncs) pthread_cond_wait(&f->released, &f->mu);
  int rc = fd_check(f, fd);
  if (rc == 0 && f->sync_err != 0) rc = -f->sync_err;
  if (rc == 0) rc = fd_sync_locked(f, fd);
  if (rc == 0) f->sync_count++;
  pthread_mutex_unlock(&f->mu);
  return rc;
}

static int ft_ftruncate(struct storage_io *io, int fd, uint64_t size) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  int rc = fd_check(f, fd);
  pthread_mutex_unlock(&f->mu);
  if (rc != 0) return rc;
  return storage_io_posix()->ops->ftruncate(io, fd, size);
}

static int ft_fallocate(struct storage_io *io, int fd, uint64_t position, uint64_t size) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  int rc = fd_check(f, fd);
  if (rc == 0 && f->write_err != 0) rc = -f->write_err;
  pthread_mutex_unlock(&f->mu);
  if (rc != 0) return rc;
  return storage_io_posix()->ops->fallocate(io, fd, position, size);
}

static int ft_fstat(struct storage_io *io, int fd, uint64_t *size, int64_t *mtime_ms) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  int rc = fd_check(f, fd);
  pthread_mutex_unlock(&f->mu);
  if (rc != 0) return rc;
  return storage_io_posix()->ops->fstat(io, fd, size, mtime_ms);
}

/* Before a name stops pointing at an inode: forget the inode when this was its last link (its
 * shadow lives on in the synced names that still refer to it). */
static void name_unlinking(struct fault_io *f, const char *path) {
  struct stat st;
  if (stat(path, &st) == 0 && st.st_nlink <= 1) inode_forget(f, st.st_dev, st.st_ino);
}

static int ft_rename(struct storage_io *io, const char *from, const char *to) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  struct stat st_from, st_to;
  int rc = 0;
  if (stat(from, &st_from) != 0) rc = -errno;
  bool replacing = rc == 0 && stat(to, &st_to) == 0 &&
                   !(st_to.st_dev == st_from.st_dev && st_to.st_ino == st_from.st_ino);
  if (rc == 0 && rename(from, to) != 0) rc = -errno;
  if (rc == 0 && replacing && st_to.st_nlink <= 1) inode_forget(f, st_to.st_dev, st_to.st_ino);
  if (rc == 0) rc = dir_note(f, to);
  pthread_mutex_unlock(&f->mu);
  return rc;
}

static int ft_unlink(struct storage_io *io, const char *path) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  name_unlinking(f, path);
  int rc = unlink(path) == 0 ? 0 : -errno;
  pthread_mutex_unlock(&f->mu);
  return rc;
}

static int ft_mkdir(struct storage_io *io, const char *path) {
  return storage_io_posix()->ops->mkdir(io, path);
}

/* Directories count as always durable here (see the design note), so removal passes through. */
static int ft_rmdir(struct storage_io *io, const char *path) {
  return storage_io_posix()->ops->rmdir(io, path);
}

/* Makes path's current names its synced names. Under f->mu. */
static int dir_sync_locked(struct fault_io *f, const char *path) {
  int rc = 0;
  char full[4096], dir[4096];
  /* drop the synced names of this directory that no longer exist */
  for (size_t i = 0; i < f->name_count;) {
    struct stat st;
    if (sio_dirname(f->names[i].path, dir, sizeof(dir)) == 0 && strcmp(dir, path) == 0 &&
        stat(f->names[i].path, &st) != 0) {
      free(f->names[i].path);
      shadow_unref(f->names[i].sh);
      f->names[i] = f->names[--f->name_count];
      continue;
    }
    i++;
  }
  DIR *d = opendir(path);
  if (d == NULL) return -errno;
  while (rc == 0) {
    struct dirent *e = readdir(d);
    if (e == NULL) break;
    if (snprintf(full, sizeof(full), "%s/%s", path, e->d_name) >= (int)sizeof(full)) continue;
    struct stat st;
    if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    struct inode_ent *ie = inode_find(f, st.st_dev, st.st_ino);
    if (ie == NULL) {
      struct shadow *sh = shadow_new();
      if (sh == NULL) rc = -ENOMEM;
      if (rc == 0) rc = inode_set(f, st.st_dev, st.st_ino, sh);
      shadow_unref(sh);
      ie = inode_find(f, st.st_dev, st.st_ino);
    }
    if (rc == 0) rc = name_set(f, full, ie->sh);
  }
  closedir(d);
  return rc;
}

static int ft_dir_sync(struct storage_io *io, const char *path) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  int rc = f->sync_err != 0 ? -f->sync_err : 0;
  if (rc == 0) rc = dir_sync_locked(f, path);
  if (rc == 0) rc = storage_io_posix()->ops->dir_sync(io, path);
  pthread_mutex_unlock(&f->mu);
  return rc;
}

/* The whole (simulated) file system: every open file's contents and every tracked directory's
 * names become durable. */
static int ft_syncfs(struct storage_io *io, int fd) {
  struct fault_io *f = fio(io);
  pthread_mutex_lock(&f->mu);
  while (f->hold_syncs) pthread_cond_wait(&f->released, &f->mu);
  int rc = fd_check(f, fd);
  if (rc == 0 && f->sync_err != 0) rc = -f->sync_err;
  for (size_t i = 0; rc == 0 && i < f->fd_count; i++)
    if (f->fds[i].epoch == f->epoch) rc = fd_sync_locked(f, f->fds[i].fd);
  for (size_t i = 0; rc == 0 && i < f->dir_count; i++) rc = dir_sync_locked(f, f->dirs[i]);
  if (rc == 0) rc = storage_io_posix()->ops->syncfs(io, fd);
  if (rc == 0) {
    f->sync_count++;
    f->syncfs_count++;
  }
  pthread_mutex_unlock(&f->mu);
  return rc;
}

static int ft_fs_id(struct storage_io *io, const char *path, uint64_t *id) {
  return storage_io_posix()->ops->fs_id(io, path, id);
}

static int ft_dir_list(struct storage_io *io, const char *path, char ***names, size_t *count) {
  return storage_io_posix()->ops->dir_list(io, path, names, count);
}

static const struct storage_io_ops fault_ops = {
    .open = ft_open,
    .close = ft_close,
    .pread = ft_pread,
    .pwrite = ft_pwrite,
    .fdatasync = ft_fdatasync,
    .ftruncate = ft_ftruncate,
    .fallocate = ft_fallocate,
    .fstat = ft_fstat,
    .rename = ft_rename,
    .unlink = ft_unlink,
    .mkdir = ft_mkdir,
    .rmdir = ft_rmdir,
    .dir_sync = ft_dir_sync,
    .dir_list = ft_dir_list,
    .syncfs = ft_syncfs,
    .fs_id = ft_fs_id,
};

int fault_io_create(struct fault_io **out) {
  struct fault_io *f = calloc(1, sizeof(*f));
  if (f == NULL) return -ENOMEM;
  f->base.ops = &fault_ops;
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->released, NULL);
  *out = f;
  return 0;
}

void fault_io_destroy(struct fault_io *f) {
  if (f == NULL) return;
  for (size_t i = 0; i < f->inode_count; i++) shadow_unref(f->inodes[i].sh);
  for (size_t i = 0; i < f->name_count; i++) {
    free(f->names[i].path);
    shadow_unref(f->names[i].sh);
  }
  for (size_t i = 0; i < f->dir_count; i++) free(f->dirs[i]);
  free(f->inodes);
  free(f->names);
  free(f->dirs);
  free(f->fds);
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->released);
  free(f);
}

struct storage_io *fault_io_base(struct fault_io *f) {
  return &f->base;
}

void fault_io_set_write_error(struct fault_io *f, int err) {
  pthread_mutex_lock(&f->mu);
  f->write_err = err;
  pthread_mutex_unlock(&f->mu);
}

void fault_io_set_sync_error(struct fault_io *f, int err) {
  pthread_mutex_lock(&f->mu);
  f->sync_err = err;
  pthread_mutex_unlock(&f->mu);
}

void fault_io_tear_next_write(struct fault_io *f, size_t kept, int err) {
  pthread_mutex_lock(&f->mu);
  f->tear_armed = true;
  f->tear_kept = kept;
  f->tear_err = err;
  pthread_mutex_unlock(&f->mu);
}

unsigned fault_io_sync_count(struct fault_io *f) {
  pthread_mutex_lock(&f->mu);
  unsigned n = f->sync_count;
  pthread_mutex_unlock(&f->mu);
  return n;
}

unsigned fault_io_syncfs_count(struct fault_io *f) {
  pthread_mutex_lock(&f->mu);
  unsigned n = f->syncfs_count;
  pthread_mutex_unlock(&f->mu);
  return n;
}

void fault_io_hold_syncs(struct fault_io *f, bool hold) {
  pthread_mutex_lock(&f->mu);
  f->hold_syncs = hold;
  if (!hold) pthread_cond_broadcast(&f->released);
  pthread_mutex_unlock(&f->mu);
}

int fault_io_power_loss(struct fault_io *f) {
  int rc = 0;
  char full[4096];
  pthread_mutex_lock(&f->mu);
  f->epoch++;
  for (size_t i = 0; i < f->inode_count; i++) shadow_unref(f->inodes[i].sh);
  f->inode_count = 0;
  for (size_t i = 0; rc == 0 && i < f->dir_count; i++) {
    DIR *d = opendir(f->dirs[i]);
    if (d == NULL) continue;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      struct stat st;
      if (snprintf(full, sizeof(full), "%s/%s", f->dirs[i], e->d_name) >= (int)sizeof(full))
        continue;
      if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) unlink(full);
    }
    closedir(d);
  }
  for (size_t i = 0; rc == 0 && i < f->name_count; i++) {
    struct name_ent *n = &f->names[i];
    int fd = open(n->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      rc = -errno;
      break;
    }
    size_t done = 0;
    while (rc == 0 && done < n->sh->size) {
      ssize_t w = write(fd, n->sh->data + done, n->sh->size - done);
      if (w <= 0)
        rc = w < 0 ? -errno : -EIO;
      else
        done += (size_t)w;
    }
    struct stat st;
    if (rc == 0 && fstat(fd, &st) != 0) rc = -errno;
    if (rc == 0) rc = inode_set(f, st.st_dev, st.st_ino, n->sh);
    close(fd);
  }
  pthread_mutex_unlock(&f->mu);
  return rc;
}
