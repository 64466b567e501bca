/* Produce: the broker's part beyond the handler (dispatch.h's handle_produce). */
#ifndef QUIRE_BROKER_HANDLE_PRODUCE_H
#define QUIRE_BROKER_HANDLE_PRODUCE_H

#include "broker.h"

/* Shutdown: every acks=all produce still waiting is dropped (its connection closes). Before the
 * partition waiters go. */
void produce_shutdown(struct broker *b);

#endif
