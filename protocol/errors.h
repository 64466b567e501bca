/* Kafka error codes (errors.def holds the table). */
#ifndef QUIRE_PROTOCOL_ERRORS_H
#define QUIRE_PROTOCOL_ERRORS_H

#include <stdint.h>

enum kafka_error {
#define KAFKA_ERROR(code, name) ERR_##name = code,
#include "errors.def"
#undef KAFKA_ERROR
};

/* Kafka's name of an error code, or "UNKNOWN_ERROR_CODE". */
const char *kafka_error_name(int16_t code);

#endif
