/* Checkpoint files, in Kafka's text formats, written through the fault seam with
 * sio_write_atomic (tmp + fdatasync + rename + fsync of the directory):
 *  - recovery-point-offset-checkpoint and log-start-offset-checkpoint, one per log dir:
 *    "0\n<count>\n" then "<topic> <partition> <offset>\n" per partition;
 *  - leader-epoch-checkpoint, one per partition directory:
 *    "0\n<count>\n" then "<epoch> <start offset>\n" per entry;
 *  - the clean-shutdown marker .kafka_cleanshutdown in a log dir (empty file). */
#ifndef QUIRE_STORAGE_CHECKPOINT_H
#define QUIRE_STORAGE_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"

#define CKPT_RECOVERY_POINT "recovery-point-offset-checkpoint"
#define CKPT_LOG_START "log-start-offset-checkpoint"
#define CKPT_LEADER_EPOCH "leader-epoch-checkpoint"
#define CKPT_CLEAN_SHUTDOWN ".kafka_cleanshutdown"

struct ckpt_offset {
  char topic[250]; /* Kafka topic names are at most 249 characters */
  int32_t partition;
  int64_t offset;
};

struct ckpt_epoch {
  int32_t epoch;
  int64_t start_offset;
};

int ckpt_offsets_write(struct storage_io *io, const char *path, const struct ckpt_offset *e,
                       size_t count);
/* *e is malloc'd; -ENOENT when the file is missing, -EBADMSG when malformed. */
int ckpt_offsets_read(struct storage_io *io, const char *path, struct ckpt_offset **e,
                      size_t *count);
int ckpt_epochs_write(struct storage_io *io, const char *path, const struct ckpt_epoch *e,
                      size_t count);
int ckpt_epochs_read(struct storage_io *io, const char *path, struct ckpt_epoch **e, size_t *count);

/* The clean-shutdown marker of a log dir: written after every log closed cleanly, removed
 * (durably) once the logs are open, before the first append. */
int ckpt_clean_marker_write(struct storage_io *io, const char *log_dir);
bool ckpt_clean_marker_exists(struct storage_io *io, const char *log_dir);
int ckpt_clean_marker_remove(struct storage_io *io, const char *log_dir);

/* "<topic>-<partition>", Kafka's partition directory name. */
int ckpt_partition_dir_name(const char *topic, int32_t partition, char *out, size_t out_size);

#endif
