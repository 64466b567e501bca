/* The metadata image: the cluster state handlers read (brokers, their endpoints, the controller).
 * Today it is built at start-up from the local configuration; the metadata log and the Raft quorum
 * will fill it from records. Topics join it with the metadata log. */
#ifndef QUIRE_REPLICATION_IMAGE_H
#define QUIRE_REPLICATION_IMAGE_H

#include <stdbool.h>
#include <stdint.h>

#define IMAGE_BROKERS_MAX 64
#define IMAGE_ENDPOINTS_MAX 8

struct image_endpoint {
  char listener[64]; /* listener name, e.g. PLAINTEXT */
  char host[256];
  int32_t port;
};

struct image_broker {
  int32_t node_id;
  char rack[64]; /* "" when none */
  struct image_endpoint endpoints[IMAGE_ENDPOINTS_MAX];
  int endpoint_count;
};

struct image {
  char cluster_id[64];
  int32_t controller_id; /* -1 when unknown */
  struct image_broker brokers[IMAGE_BROKERS_MAX];
  int broker_count;
};

void image_init(struct image *img, const char *cluster_id, int32_t controller_id);
/* Adds a broker or replaces the one with the same node id. Returns 0, or -1 when full. */
int image_broker_put(struct image *img, const struct image_broker *broker);
const struct image_broker *image_broker_find(const struct image *img, int32_t node_id);
/* The endpoint of a broker on a listener, or NULL when the broker has none there. */
const struct image_endpoint *image_broker_endpoint(const struct image_broker *broker,
                                                   const char *listener);

#endif
