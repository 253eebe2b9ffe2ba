/*  gw_budget.h - one ceiling for the bytes the gateway holds for clients

    SEND_QUEUE_MAX bounds one client's queue, MAX_FRAME_SIZE one partial
    message; times MAX_CONNECTIONS that is far more than the machine has.
    The budget counts what all connections hold together (queued frames,
    each counted once per queue it is in, and reassembly buffers); past
    BUFFER_BUDGET the gateway cuts the largest holders first, until it is
    under again (docs/limits.md).
*/
#ifndef GW_BUDGET_H_INCLUDED
#define GW_BUDGET_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t limit;               //  bytes
    size_t used;                //  bytes held now
    uint64_t cuts;              //  connections cut for it
} gw_budget_t;

//  limit 0: a quarter of the machine's memory
void
    gw_budget_init (gw_budget_t *self, size_t limit);
static inline void
gw_budget_add (gw_budget_t *self, size_t bytes)
{
    self->used += bytes;
}
static inline void
gw_budget_sub (gw_budget_t *self, size_t bytes)
{
    self->used = bytes > self->used ? 0 : self->used - bytes;
}
static inline bool
gw_budget_over (const gw_budget_t *self)
{
    return self->used > self->limit;
}

void
    gw_budget_test (bool verbose);

#endif
