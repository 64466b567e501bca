/* A storage_io test double over real files that injects faults: ENOSPC/EIO on writes or syncs,
 * torn writes, and simulated power loss. See io_fault.c for the model. */
#ifndef QUIRE_STORAGE_IO_FAULT_H
#define QUIRE_STORAGE_IO_FAULT_H

#include <stdbool.h>
#include <stddef.h>

#include "io.h"

struct fault_io;

int fault_io_create(struct fault_io **out);
void fault_io_destroy(struct fault_io *f);
struct storage_io *fault_io_base(struct fault_io *f);

/* From now on pwrite, fallocate and the creation of a file fail with -err (ENOSPC, EIO);
 * 0 clears it. */
void fault_io_set_write_error(struct fault_io *f, int err);
/* From now on fdatasync, syncfs and dir_sync fail with -err; 0 clears it. */
void fault_io_set_sync_error(struct fault_io *f, int err);
/* The next pwrite writes only its first kept bytes, then fails with -err. */
void fault_io_tear_next_write(struct fault_io *f, size_t kept, int err);
/* Simulated power loss: every file seen by this io goes back to its contents at its last
 * fdatasync, and only the names present at the last fsync of their directory survive.
 * Descriptors opened before it are dead: every call on them fails with -EIO except close.
 * Returns 0 or -errno. */
int fault_io_power_loss(struct fault_io *f);
/* Number of successful fdatasync and syncfs calls so far, and of the syncfs among them. A
 * syncfs makes every file open on this io and every directory it has seen durable. */
unsigned fault_io_sync_count(struct fault_io *f);
unsigned fault_io_syncfs_count(struct fault_io *f);
/* While held, fdatasync and syncfs calls wait (tests use it to line up a flusher round). */
void fault_io_hold_syncs(struct fault_io *f, bool hold);

#endif
