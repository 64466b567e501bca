/* The storage fault seam: every disk operation of the storage module goes through a
 * struct storage_io, so tests can tear writes, fail with ENOSPC/EIO, or simulate a power loss.
 *
 * Contract for implementations:
 *  - every function returns 0 or -errno;
 *  - file descriptors are real kernel descriptors (the broker sends file ranges with sendfile);
 *  - pwrite writes everything or fails (a failure may leave a prefix written: a torn write);
 *  - pread returns fewer bytes than asked only at end of file;
 *  - calls may come from several threads at once (the flusher thread syncs while the event loop
 *    appends), so implementations are thread-safe.
 * storage_io_posix() is the real thing; storage/io_fault.h is the test double. */
#ifndef QUIRE_STORAGE_IO_H
#define QUIRE_STORAGE_IO_H

#include <stddef.h>
#include <stdint.h>

struct storage_io;

struct storage_io_ops {
  /* flags as open(2) (O_RDWR, O_CREAT ...); O_CLOEXEC is added; mode 0644 */
  int (*open)(struct storage_io *io, const char *path, int flags, int *fd_out);
  int (*close)(struct storage_io *io, int fd);
  int (*pread)(struct storage_io *io, int fd, void *buf, size_t size, uint64_t position,
               size_t *read_size);
  int (*pwrite)(struct storage_io *io, int fd, const void *buf, size_t size, uint64_t position);
  int (*fdatasync)(struct storage_io *io, int fd);
  int (*ftruncate)(struct storage_io *io, int fd, uint64_t size);
  /* reserves blocks for [position, position + size) */
  int (*fallocate)(struct storage_io *io, int fd, uint64_t position, uint64_t size);
  int (*fstat)(struct storage_io *io, int fd, uint64_t *size, int64_t *mtime_ms);
  int (*rename)(struct storage_io *io, const char *from, const char *to);
  int (*unlink)(struct storage_io *io, const char *path);
  int (*mkdir)(struct storage_io *io, const char *path); /* one level; EEXIST is an error */
  int (*rmdir)(struct storage_io *io, const char *path); /* an empty directory */
  int (*dir_sync)(struct storage_io *io, const char *path);
  /* names in the directory (no "." or ".."), each and the array malloc'd; free with
   * sio_names_free */
  int (*dir_list)(struct storage_io *io, const char *path, char ***names, size_t *count);
  /* every file and directory of fd's file system made durable, as syncfs(2): one device flush
   * instead of one per file */
  int (*syncfs)(struct storage_io *io, int fd);
  /* an id of the file system holding path (st_dev): equal ids share one syncfs */
  int (*fs_id)(struct storage_io *io, const char *path, uint64_t *id);
};

struct storage_io {
  const struct storage_io_ops *ops;
};

/* The POSIX implementation; stateless, shared. */
struct storage_io *storage_io_posix(void);

static inline int sio_open(struct storage_io *io, const char *path, int flags, int *fd) {
  return io->ops->open(io, path, flags, fd);
}
static inline int sio_close(struct storage_io *io, int fd) { return io->ops->close(io, fd); }
static inline int sio_pread(struct storage_io *io, int fd, void *buf, size_t size, uint64_t pos,
                            size_t *read_size) {
  return io->ops->pread(io, fd, buf, size, pos, read_size);
}
static inline int sio_pwrite(struct storage_io *io, int fd, const void *buf, size_t size,
                             uint64_t pos) {
  return io->ops->pwrite(io, fd, buf, size, pos);
}
static inline int sio_fdatasync(struct storage_io *io, int fd) {
  return io->ops->fdatasync(io, fd);
}
static inline int sio_ftruncate(struct storage_io *io, int fd, uint64_t size) {
  return io->ops->ftruncate(io, fd, size);
}
static inline int sio_fallocate(struct storage_io *io, int fd, uint64_t pos, uint64_t size) {
  return io->ops->fallocate(io, fd, pos, size);
}
static inline int sio_fstat(struct storage_io *io, int fd, uint64_t *size, int64_t *mtime_ms) {
  return io->ops->fstat(io, fd, size, mtime_ms);
}
static inline int sio_rename(struct storage_io *io, const char *from, const char *to) {
  return io->ops->rename(io, from, to);
}
static inline int sio_unlink(struct storage_io *io, const char *path) {
  return io->ops->unlink(io, path);
}
static inline int sio_mkdir(struct storage_io *io, const char *path) {
  return io->ops->mkdir(io, path);
}
static inline int sio_rmdir(struct storage_io *io, const char *path) {
  return io->ops->rmdir(io, path);
}
static inline int sio_dir_sync(struct storage_io *io, const char *path) {
  return io->ops->dir_sync(io, path);
}
static inline int sio_dir_list(struct storage_io *io, const char *path, char ***names,
                               size_t *count) {
  return io->ops->dir_list(io, path, names, count);
}
static inline int sio_syncfs(struct storage_io *io, int fd) { return io->ops->syncfs(io, fd); }
static inline int sio_fs_id(struct storage_io *io, const char *path, uint64_t *id) {
  return io->ops->fs_id(io, path, id);
}

/* Reads exactly size bytes at position; -ENODATA when the file ends first. */
int sio_pread_full(struct storage_io *io, int fd, void *buf, size_t size, uint64_t position);
void sio_names_free(char **names, size_t count);
/* file_write_atomic through the seam: PATH.tmp, fdatasync, rename over PATH, fsync of the
 * directory. A reader sees the old contents or the new ones, never a torn file. */
int sio_write_atomic(struct storage_io *io, const char *path, const void *data, size_t size);
/* Reads a whole small file (at most size_max bytes) into a malloc'd NUL-terminated buffer. */
int sio_read_all(struct storage_io *io, const char *path, size_t size_max, char **out,
                 size_t *out_size);
/* The directory part of path ("." when there is none) into dir. */
int sio_dirname(const char *path, char *dir, size_t dir_size);

#endif
