/* Producer ids for idempotent producers (InitProducerId), handed out from blocks the controller
 * allocates durably, as Kafka's ProducerIdManager and the controller's ProducerIdControlManager
 * do.
 *
 * Design note.
 *  - The controller writes a ProducerIdsRecord whose NextProducerId is the end of the block it
 *    gives this broker: [image.next_producer_id, +PRODUCER_ID_BLOCK_SIZE). The broker hands out
 *    ids of a block only after that record committed, so an id is never handed out twice, even
 *    across restarts (the replayed image starts past every block ever given).
 *  - The broker keeps its current block in memory and asks for the next one when 90% of it is
 *    used (Kafka's prefetch), so requests rarely wait. A request that finds no id left waits
 *    (deferred) for the block in flight; it fails with COORDINATOR_LOAD_IN_PROGRESS (Kafka's
 *    answer when no block is available) when the controller cannot write one.
 *  - Ids lost when the broker stops (the rest of a block) are never reused: Kafka does the same.
 *
 * States: no block -> FETCHING (op queued in the controller) -> block ready (ids handed out) ->
 * PREFETCHING (current block 90% used) -> next block stashed -> becomes current when the current
 * one runs out. */
#ifndef QUIRE_BROKER_PRODUCER_IDS_H
#define QUIRE_BROKER_PRODUCER_IDS_H

#include "broker.h"

#define PRODUCER_ID_BLOCK_SIZE 1000 /* ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE */

/* Frees the broker's id state after the controller failed its operations (shutdown). */
void producer_ids_shutdown(struct broker *b);

#endif
