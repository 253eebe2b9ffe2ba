/*  gw_budget.c - one ceiling for the bytes the gateway holds for clients
*/
#include "gw_budget.h"

#include <assert.h>
#include <stdio.h>
#include <unistd.h>

void
gw_budget_init (gw_budget_t *self, size_t limit)
{
    self->used = 0;
    self->cuts = 0;
    if (limit == 0) {
        long pages = sysconf (_SC_PHYS_PAGES);
        long page = sysconf (_SC_PAGESIZE);
        limit = pages > 0 && page > 0 ? (size_t) pages * (size_t) page / 4
                                      : (size_t) 1 << 30;
    }
    self->limit = limit;
}

void
gw_budget_test (bool verbose)
{
    if (verbose)
        printf (" * gw_budget: ");
    gw_budget_t budget;
    gw_budget_init (&budget, 100);
    gw_budget_add (&budget, 60);
    assert (!gw_budget_over (&budget));
    gw_budget_add (&budget, 41);
    assert (gw_budget_over (&budget));
    gw_budget_sub (&budget, 1);
    assert (!gw_budget_over (&budget) && budget.used == 100);
    gw_budget_sub (&budget, 1000);          //  never below nothing
    assert (budget.used == 0);
    //  The default: a quarter of the memory, at least some
    gw_budget_init (&budget, 0);
    assert (budget.limit >= (size_t) 16 << 20);
    if (verbose)
        printf ("OK\n");
}
