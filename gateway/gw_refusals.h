/*  gw_refusals.h - why a handshake was refused: the answer, the record and
    the count

    Each reason has its HTTP answer (written whole, gw_http_refusal), a
    conn.refused record once a second with the count (a warning: any
    client can cause one, so a flood cannot page the operator), and a
    counter /metrics shows.
*/
#ifndef GW_REFUSALS_H_INCLUDED
#define GW_REFUSALS_H_INCLUDED

#include "gw_metrics.h"
#include "../common/log.h"

typedef enum {
    GW_REFUSED_STOPPING,
    GW_REFUSED_ROOMS_UNAVAILABLE,
    GW_REFUSED_MAX_CONNECTIONS,
    GW_REFUSED_MAX_CONNECTIONS_PER_IP,
    GW_REFUSED_NOT_TLS,             //  plain HTTP on the TLS port
    GW_REFUSED_ORIGIN,              //  not in ALLOWED_ORIGINS
    GW_REFUSED_MAX_HANDSHAKES,      //  the oldest handshake made room
    GW_REFUSED_HANDSHAKE_TIMEOUT,
    GW_REFUSED_HEADER_TOO_LARGE,
    GW_REFUSED_REASONS
} gw_refused_t;

typedef struct _gw_refusals_t gw_refusals_t;

//  Records go to log (which may be NULL: counted only)
gw_refusals_t *
    gw_refusals_new (hc_log_t *log);
void
    gw_refusals_destroy (gw_refusals_t **self_p);
//  Counts one refusal at now_ms (monotonic); logs it with those held back
//  when a second has passed. origin: the refused Origin, or NULL. Returns
//  the count logged now, 0 if it stayed quiet.
uint64_t
    gw_refusals_note (gw_refusals_t *self, gw_refused_t reason,
                      const char *peer, const char *via, const char *origin,
                      int64_t now_ms);
//  Every reason's count, labelled by its name, as /metrics shows them
void
    gw_refusals_metrics (gw_refusals_t *self, gw_metrics_t *metrics);
//  The whole HTTP answer to a refused handshake; its length
size_t
    gw_refusals_answer (gw_refused_t reason, char *text, size_t size);

void
    gw_refusals_test (bool verbose);

#endif
