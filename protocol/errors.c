#include "errors.h"

const char *kafka_error_name(int16_t code) {
  switch (code) {
#define KAFKA_ERROR_CASE(c, name) \
  case c: return #name;
    KAFKA_ERRORS(KAFKA_ERROR_CASE)
#undef KAFKA_ERROR_CASE
  default: return "UNKNOWN_ERROR_CODE";
  }
}
