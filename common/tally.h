/*  tally.h - a repeated event, logged at most once per interval

    The first occurrence is reported at once; later ones within a second
    are only counted, and the next report carries their count.
    So a flood of refused connections or garbage messages makes one log
    line a second, not one per message, and no occurrence goes uncounted.
*/
#ifndef TALLY_H_INCLUDED
#define TALLY_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define HC_TALLY_MS 1000        //  at most one report in this long

//  Zeroed is ready to use
typedef struct {
    uint64_t count;             //  occurrences so far
    uint64_t reported;          //  of them, already in a report
    int64_t reported_at;        //  when the last report went out (ms)
} hc_tally_t;

//  Counts one occurrence at now_ms (a monotonic clock); returns how many
//  to report now (this one and those held back), or 0 to stay quiet
uint64_t
    hc_tally_add (hc_tally_t *self, int64_t now_ms);

void
    hc_tally_test (bool verbose);

#endif
