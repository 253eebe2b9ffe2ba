/*  deadline.h - the earliest of deadlines, where -1 means none

    Every timer of an actor is a deadline in monotonic ms, or -1 when it
    has nothing to wait for (the same holds for a wait in ms: -1 is
    forever). A loop sleeps until the earliest of its timers.
*/
#ifndef HC_DEADLINE_H_INCLUDED
#define HC_DEADLINE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

//  The earlier of a and b; -1 only when both are -1
int64_t
    hc_deadline_earliest (int64_t a, int64_t b);
//  How long to wait at now for deadline: -1 (forever) for none, 0 when
//  it has passed
int64_t
    hc_deadline_wait (int64_t deadline, int64_t now);

void
    hc_deadline_test (bool verbose);

#endif
