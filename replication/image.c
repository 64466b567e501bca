/* The metadata image; see image.h. Brokers are kept sorted by node id so responses list them in a
 * stable order. */
#include "image.h"

#include <stdio.h>
#include <string.h>

void image_init(struct image *img, const char *cluster_id, int32_t controller_id) {
  memset(img, 0, sizeof(*img));
  snprintf(img->cluster_id, sizeof(img->cluster_id), "%s", cluster_id);
  img->controller_id = controller_id;
}

int image_broker_put(struct image *img, const struct image_broker *broker) {
  int i = 0;
  while (i < img->broker_count && img->brokers[i].node_id < broker->node_id) i++;
  if (i < img->broker_count && img->brokers[i].node_id == broker->node_id) {
    img->brokers[i] = *broker;
    return 0;
  }
  if (img->broker_count == IMAGE_BROKERS_MAX) return -1;
  memmove(&img->brokers[i + 1], &img->brokers[i],
          (size_t)(img->broker_count - i) * sizeof(img->brokers[0]));
  img->brokers[i] = *broker;
  img->broker_count++;
  return 0;
}

const struct image_broker *image_broker_find(const struct image *img, int32_t node_id) {
  for (int i = 0; i < img->broker_count; i++)
    if (img->brokers[i].node_id == node_id) return &img->brokers[i];
  return NULL;
}

const struct image_endpoint *image_broker_endpoint(const struct image_broker *broker,
                                                   const char *listener) {
  for (int i = 0; i < broker->endpoint_count; i++)
    if (strcmp(broker->endpoints[i].listener, listener) == 0) return &broker->endpoints[i];
  return NULL;
}
