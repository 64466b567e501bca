/* One log segment: BASE.log (RecordBatch v2 batches, as stored), BASE.index (sparse offset
 * index) and BASE.timeindex (time index), BASE being the base offset as 20 digits. The design
 * note is in segment.c. Segments are used by plog.c, which serialises every call on a segment
 * with its own mutex; only seg_ref/seg_unref may be called from any thread. */
#ifndef QUIRE_STORAGE_SEGMENT_H
#define QUIRE_STORAGE_SEGMENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"

enum {
  SEG_INDEX_ENTRY_SIZE = 8, /* relative offset int32 | position int32 */
  SEG_TIME_ENTRY_SIZE = 12, /* timestamp int64 | relative offset int32 */
  SEG_PATH_MAX = 4096,
  SEG_INDEX_WRITE_ENTRIES = 256, /* new index entries written to the files together */
  SEG_ZERO_FILL_MIN = 16 << 10,  /* zeros written ahead of the active segment's appends: */
  SEG_ZERO_FILL_MAX = 256 << 10, /* as many as it holds, within these bounds */
  SEG_RECENT = 32,               /* batch headers the active segment keeps of its last appends */
};

struct seg_index_entry {
  int32_t rel_offset; /* the last offset of a batch, minus the segment's base offset */
  int32_t position;   /* where that batch starts in .log */
};

struct seg_time_entry {
  int64_t timestamp;  /* the largest timestamp so far in the segment */
  int32_t rel_offset; /* the last offset of the batch where it appeared, minus the base */
};

/* What a batch header says, read from the log. */
struct seg_batch {
  int64_t base_offset, last_offset, max_timestamp;
  uint64_t position, size;
  int32_t record_count;
};

struct segment {
  atomic_int refs;
  struct storage_io *io;
  int64_t base_offset;
  char path[SEG_PATH_MAX]; /* DIR/BASE, without extension */
  char suffix[16];         /* after each extension: "" ("BASE.log"), or ".cleaned" */
  int log_fd, index_fd, time_fd;
  uint64_t size;       /* bytes of whole, valid batches in .log; nothing past it is served */
  uint64_t file_size;  /* of .log: size plus a zero-filled tail while active */
  int64_t next_offset; /* one past the last batch's last offset; base_offset when empty */
  struct seg_index_entry *index; /* grown on demand (index_cap) up to index_max entries */
  size_t index_count, index_cap, index_max;
  struct seg_time_entry *times; /* up to time_max + 1 (the final entry at inactivation) */
  size_t time_count, time_cap, time_max;
  size_t index_written, time_written; /* entries of each already in its file */
  uint32_t index_interval_bytes;
  uint64_t bytes_since_index;
  int64_t max_timestamp, offset_of_max_timestamp; /* -1 when no batch has a timestamp */
  int64_t rolling_timestamp; /* the first batch's maxTimestamp (segment.ms), -1 none */
  int64_t created_ms;        /* clock at creation or file mtime at load */
  bool index_files_stale;    /* an index write failed: rewrite both from memory on trim */
  bool active;               /* index files at full preallocated size */
  /* While active: the headers of the last SEG_RECENT batches appended, a ring (recent_next is
   * the slot of the next one), so that reads near the end of the log (consumers at the tail)
   * find their batches without a pread. NULL until the first append. */
  struct seg_batch *recent;
  size_t recent_next, recent_count;
  /* owned by plog.c under its mutex */
  bool log_dirty, index_dirty;
};

struct seg_config {
  uint64_t index_size_max;       /* bytes per index file (log.index.size.max.bytes) */
  uint32_t index_interval_bytes; /* log.index.interval.bytes */
};

/* DIR/<20-digit base><ext>. */
int seg_file_path(const char *dir, int64_t base_offset, const char *ext, char *out,
                  size_t out_size);

/* Creates (truncating leftovers) an empty active segment. */
int seg_create(struct storage_io *io, const char *dir, int64_t base_offset,
               const struct seg_config *cfg, int64_t now_ms, struct segment **out);
/* Opens an existing segment; its index files are created when missing (*indexes_missing).
 * Nothing is read yet: follow with seg_load or seg_recover. */
int seg_open(struct storage_io *io, const char *dir, int64_t base_offset,
             const struct seg_config *cfg, struct segment **out, bool *indexes_missing);
/* The same for the files BASE.log<suffix>, BASE.index<suffix> and BASE.timeindex<suffix>: the
 * cleaner builds the indexes of its rewrite (".cleaned") before swapping it in, when its files
 * take their segment names (then suffix becomes ""). */
int seg_open_suffixed(struct storage_io *io, const char *dir, int64_t base_offset,
                      const struct seg_config *cfg, const char *suffix, struct segment **out,
                      bool *indexes_missing);
/* Trusting the log up to its file size: loads the index files' valid prefix, then reads the
 * batch headers after the last index entry to learn next_offset and the largest timestamp. */
int seg_load(struct segment *s);
/* Distrusting everything: scans every batch (CRC and offsets; the first batch must have a base
 * offset >= expected_offset), rebuilds both indexes, and truncates the log at the first batch
 * that is torn or invalid. *truncated tells whether it did. */
int seg_recover(struct segment *s, int64_t expected_offset, uint32_t batch_size_max,
                bool *truncated);

/* Appends whole, validated batches (their offsets already assigned) at the end of .log and
 * indexes them; zero_fill: an append past the end of the file writes zeros after itself (see
 * the design note in segment.c). On failure the log is cut back (best effort) and size is
 * unchanged. */
int seg_append(struct segment *s, const uint8_t *data, size_t size, const struct seg_batch *batches,
               size_t batch_count, bool zero_fill);
/* Whether the indexes have room for one more entry each. */
bool seg_index_full(const struct segment *s);

/* Reads size bytes at position of the valid part of .log ([0, s->size)); -EBADMSG past it. */
int seg_read(struct segment *s, uint64_t position, void *buf, size_t size);
/* Reads the header of the batch at position (which must be < size); from memory when it is one
 * of the active segment's recent appends. */
int seg_read_batch(struct segment *s, uint64_t position, struct seg_batch *b);
/* Position of the first batch whose last offset >= offset; size when there is none. */
int seg_find_position(struct segment *s, int64_t offset, uint64_t *position);
/* The first record of batch b whose timestamp >= ts: its offset and timestamp. The batch is read
 * whole; compressed records are inflated (protocol/compression.h) into at most inflate_max
 * bytes. -ENOENT when no record qualifies, -EMSGSIZE when the records inflate past
 * inflate_max, -EBADMSG when they do not decode. */
int seg_batch_find_record(struct segment *s, const struct seg_batch *b, int64_t ts,
                          size_t inflate_max, int64_t *offset, int64_t *timestamp);
/* The first record with timestamp >= ts: its offset and timestamp; -ENOENT when none. A batch
 * whose records cannot be inflated within inflate_max answers with its base offset and
 * maxTimestamp. */
int seg_find_timestamp(struct segment *s, int64_t ts, size_t inflate_max, int64_t *offset,
                       int64_t *timestamp);
/* The first record holding the segment's largest timestamp (Kafka's offsetOfMaxTimestamp of the
 * first batch whose maxTimestamp is it): its offset and timestamp; -ENOENT when the segment has
 * no timestamp >= 0. Fallback as seg_find_timestamp's. */
int seg_find_max_timestamp(struct segment *s, size_t inflate_max, int64_t *offset,
                           int64_t *timestamp);

/* Removes every batch whose last offset >= offset (a batch containing offset goes whole). */
int seg_truncate(struct segment *s, int64_t offset);
/* Active -> inactive: final time index entry, index files cut to their entries, the log cut
 * to size. */
int seg_make_inactive(struct segment *s);
/* Inactive -> active (after a truncation or at open): index files back to full size. */
int seg_make_active(struct segment *s);
/* fdatasync of .log, and of both index files when with_indexes. */
int seg_sync(struct segment *s, bool with_indexes);
/* Unlinks the three files; the descriptors stay valid until the last reference goes. */
int seg_delete_files(struct segment *s);

void seg_ref(struct segment *s);
void seg_unref(struct segment *s);

#endif
