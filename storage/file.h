/* Small durable-file helpers shared by everything that keeps state on disk. */
#ifndef QUIRE_STORAGE_FILE_H
#define QUIRE_STORAGE_FILE_H

#include <stddef.h>

/* Writes data to path atomically: path.tmp, fsync, rename over path, fsync of the directory.
 * Returns 0 or -errno. */
int file_write_atomic(const char *path, const void *data, size_t size);
/* Reads a whole small file (at most size_max bytes) into a malloc'd NUL-terminated buffer.
 * Returns 0, -ENOENT when missing, -EFBIG when larger than size_max, or another -errno. */
int file_read_all(const char *path, size_t size_max, char **out, size_t *out_size);
/* mkdir -p with mode 0755. Returns 0 or -errno. */
int file_mkdirs(const char *path);

#endif
