/* The broker's fetch state (handle_fetch.c): the fetch session cache and the fetches waiting
 * for data (long polling). */
#ifndef QUIRE_BROKER_HANDLE_FETCH_H
#define QUIRE_BROKER_HANDLE_FETCH_H

#include "broker.h"

/* Shutdown, before the partition logs close: every waiting fetch is answered now (with what
 * its partitions hold), then the session cache is freed. */
void fetch_shutdown(struct broker *b);

#endif
