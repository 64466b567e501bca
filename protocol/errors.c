#include "errors.h"

const char *kafka_error_name(int16_t code) {
  switch (code) {
#define KAFKA_ERROR(c, name) \
  case c:                    \
    return #name;
#include "errors.def"
#undef KAFKA_ERROR
  default: return "UNKNOWN_ERROR_CODE";
  }
}
