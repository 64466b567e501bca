/* Metadata: the brokers (with their endpoint on the listener the client used), the cluster id, the
 * controller and the topics. Topics come from the metadata image; until the metadata log exists the
 * image has none, so every named topic is answered UNKNOWN_TOPIC_OR_PARTITION (or
 * UNKNOWN_TOPIC_ID when asked for by id) and no topic is auto-created. */
#include "dispatch.h"
#include "errors.h"

static int fill_brokers(struct request_ctx *ctx, struct msg_metadata_response *resp) {
  const struct image *img = &ctx->broker->image;
  resp->brokers.items =
      wire_arena_alloc_array(ctx->arena, (size_t)img->broker_count, sizeof(*resp->brokers.items));
  if (resp->brokers.items == NULL && img->broker_count > 0) return -1;
  resp->brokers.count = 0;
  for (int i = 0; i < img->broker_count; i++) {
    const struct image_broker *b = &img->brokers[i];
    const struct image_endpoint *ep = image_broker_endpoint(b, ctx->listener);
    if (ep == NULL) continue; /* not reachable through this listener */
    struct msg_metadata_response_broker *out = &resp->brokers.items[resp->brokers.count++];
    msg_metadata_response_broker_init(out);
    out->node_id = b->node_id;
    out->host = wire_str_of(ep->host);
    out->port = ep->port;
    out->rack = b->rack[0] ? wire_str_of(b->rack) : wire_str_of(NULL);
  }
  return 0;
}

int handle_metadata(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_metadata_request *req = request;
  struct msg_metadata_response *resp = response;
  const struct image *img = &ctx->broker->image;

  if (fill_brokers(ctx, resp) != 0) return -1;
  resp->cluster_id = wire_str_of(img->cluster_id);
  resp->controller_id = img->controller_id;

  /* A null list (v1+), or an empty one at v0, asks for every topic: the image has none yet. */
  bool all_topics = req->topics.count < 0 || (ctx->api_version == 0 && req->topics.count == 0);
  if (all_topics || req->topics.count == 0) return 0;
  resp->topics.items =
      wire_arena_alloc_array(ctx->arena, (size_t)req->topics.count, sizeof(*resp->topics.items));
  if (resp->topics.items == NULL) return -1;
  resp->topics.count = req->topics.count;
  for (int32_t i = 0; i < req->topics.count; i++) {
    const struct msg_metadata_request_topic *want = &req->topics.items[i];
    struct msg_metadata_response_topic *t = &resp->topics.items[i];
    msg_metadata_response_topic_init(t);
    t->name = want->name;
    t->topic_id = want->topic_id;
    t->error_code = want->name.len < 0 ? ERR_UNKNOWN_TOPIC_ID : ERR_UNKNOWN_TOPIC_OR_PARTITION;
  }
  return 0;
}
