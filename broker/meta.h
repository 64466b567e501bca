/* meta.properties: the identity of a log directory, written as Kafka writes it
 * (version=1, node.id, cluster.id, directory.id). */
#ifndef QUIRE_BROKER_META_H
#define QUIRE_BROKER_META_H

#include <stdint.h>

#include "config.h"

struct meta_props {
  int32_t node_id;
  char cluster_id[64];
  char directory_id[64]; /* of the first log dir */
};

/* A new cluster id: a random UUID in URL-safe base64 without padding (22 characters). */
void meta_random_id(char out[23]);
/* A UUID as Kafka prints it: URL-safe base64 without padding (22 characters). */
void meta_uuid_text(const uint8_t id[16], char out[23]);
/* Formats every log dir that has no meta.properties yet and checks the ones that do: a node.id or
 * cluster.id that disagrees with cfg (or between dirs) fails with a message naming both values.
 * On success fills meta. */
int meta_prepare(const struct config *cfg, struct meta_props *meta, char *err, int err_size);
/* `quire format`: writes meta.properties into every log dir; fails if one is already formatted
 * with a different cluster id (like kafka-storage format without --ignore-formatted). */
int meta_format(const struct config *cfg, const char *cluster_id, char *err, int err_size);

#endif
