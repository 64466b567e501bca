/* ApiVersions: which APIs and versions this broker serves. The list is computed from the codec's
 * table and the handler table: an API is advertised only when it has a handler, over the versions
 * both support (the newest version only when it is stable). */
#include <stdbool.h>

#include "dispatch.h"
#include "errors.h"

/* Kafka's rule for ClientSoftwareName/Version (v3+): letters, digits, '-' and '.', starting and
 * ending with a letter or digit. */
static bool software_field_valid(struct wire_str s) {
  if (s.len <= 0) return false;
  for (int32_t i = 0; i < s.len; i++) {
    char c = s.ptr[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    bool edge = i == 0 || i == s.len - 1;
    if (!alnum && (edge || (c != '-' && c != '.'))) return false;
  }
  return true;
}

int handle_api_versions(struct request_ctx *ctx, const void *request, void *response) {
  const struct msg_api_versions_request *req = request;
  struct msg_api_versions_response *resp = response;
  if (ctx->api_version >= 3 && (!software_field_valid(req->client_software_name) ||
                                !software_field_valid(req->client_software_version))) {
    resp->error_code = ERR_INVALID_REQUEST;
    return 0;
  }
  size_t count;
  const struct handler *handlers = dispatch_handlers(&count);
  resp->api_keys.items = wire_arena_alloc_array(ctx->arena, count, sizeof(*resp->api_keys.items));
  if (resp->api_keys.items == NULL) return -1;
  resp->api_keys.count = 0;
  for (size_t i = 0; i < count; i++) {
    const struct msg_api *api = msg_api_find(handlers[i].key);
    int16_t min =
        handlers[i].min_version > api->min_version ? handlers[i].min_version : api->min_version;
    int16_t max = handlers[i].max_version < api->max_stable_version ? handlers[i].max_version
                                                                    : api->max_stable_version;
    if (min > max) continue;
    struct msg_api_versions_response_api_version *v = &resp->api_keys.items[resp->api_keys.count++];
    msg_api_versions_response_api_version_init(v);
    v->api_key = handlers[i].key;
    v->min_version = min;
    v->max_version = max;
  }
  return 0;
}
