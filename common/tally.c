/*  tally.c - a repeated event, logged at most once per interval
*/
#include "tally.h"

#include <assert.h>
#include <stdio.h>

uint64_t
hc_tally_add (hc_tally_t *self, int64_t now_ms)
{
    self->count++;
    if (self->reported > 0 && now_ms - self->reported_at < HC_TALLY_MS)
        return 0;
    uint64_t due = self->count - self->reported;
    self->reported = self->count;
    self->reported_at = now_ms;
    return due;
}

void
hc_tally_test (bool verbose)
{
    if (verbose)
        printf (" * tally: ");
    hc_tally_t tally = {0};
    //  The first at once, even at time 0
    assert (hc_tally_add (&tally, 0) == 1);
    //  Then quiet within the interval
    assert (hc_tally_add (&tally, 10) == 0);
    assert (hc_tally_add (&tally, 999) == 0);
    //  The next one after it carries those held back
    assert (hc_tally_add (&tally, 1000) == 3);
    assert (hc_tally_add (&tally, 1500) == 0);
    //  Long after: itself and the one held back
    assert (hc_tally_add (&tally, 90000) == 2);
    assert (hc_tally_add (&tally, 91000) == 1);
    assert (tally.count == 7 && tally.reported == 7);
    if (verbose)
        printf ("OK\n");
}
