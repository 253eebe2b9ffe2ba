/*  deadline.c - the earliest of deadlines, where -1 means none */
#include "deadline.h"

#include <assert.h>
#include <stdio.h>

int64_t
hc_deadline_earliest (int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    return b < 0 || a < b ? a : b;
}

int64_t
hc_deadline_wait (int64_t deadline, int64_t now)
{
    if (deadline < 0)
        return -1;
    return deadline <= now ? 0 : deadline - now;
}

void
hc_deadline_test (bool verbose)
{
    if (verbose)
        printf (" * deadline: ");
    assert (hc_deadline_earliest (-1, -1) == -1);
    assert (hc_deadline_earliest (-1, 5) == 5);
    assert (hc_deadline_earliest (5, -1) == 5);
    assert (hc_deadline_earliest (7, 5) == 5);
    assert (hc_deadline_earliest (0, 5) == 0);
    assert (hc_deadline_wait (-1, 100) == -1);
    assert (hc_deadline_wait (100, 100) == 0);
    assert (hc_deadline_wait (90, 100) == 0);
    assert (hc_deadline_wait (150, 100) == 50);
    if (verbose)
        printf ("OK\n");
}
