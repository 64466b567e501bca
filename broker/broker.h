/* The state request handlers see: configuration, identity and the metadata image. One instance per
 * process, owned by the server and passed down (no globals). */
#ifndef QUIRE_BROKER_BROKER_H
#define QUIRE_BROKER_BROKER_H

#include "config.h"
#include "image.h"
#include "meta.h"

struct broker {
  const struct config *cfg;
  struct meta_props meta;
  struct image image;
};

#endif
