/*  gw_metrics.h - the gateway's /metrics page, in the Prometheus text format

    The gateway's own counters, and rooms' state as of its last WELCOME
    (at most LINK_HEARTBEAT old), so one scrape of any gateway shows the
    whole server. Rendering is a plain function of a plain struct.
*/
#ifndef GW_METRICS_H_INCLUDED
#define GW_METRICS_H_INCLUDED

#include "../common/buf.h"
#include "../common/msg_rooms.h"

typedef struct {
    uint64_t value;
    const char *label;          //  the label's value
} gw_metric_labelled_t;

typedef struct {
    const char *version;
    const char *gateway;        //  instance, in hex
    gw_metric_labelled_t connections [2];   //  by dialect
    uint64_t frames_in, frames_out, invalid, busy, undeliverable, lagging;
    gw_metric_labelled_t refused [9];       //  by reason
    bool rooms_up;              //  the link to rooms is up
    bool rooms_known;           //  stats came with a WELCOME
    msg_rooms_stats_t rooms;
    uint64_t handshakes;        //  sockets still in their handshake
    uint64_t lingering;         //  closed sockets draining (gw_linger.h)
    uint64_t buffered;          //  bytes held for clients (gw_budget.h)
    uint64_t budget_cuts;       //  connections cut over BUFFER_BUDGET
} gw_metrics_t;

//  Appends the page to out
void
    gw_metrics_render (const gw_metrics_t *self, hc_buf_t *out);

void
    gw_metrics_test (bool verbose);

#endif
