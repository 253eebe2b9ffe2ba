/*  gw_timers.c - the gateway's periodic walks of its connections

    Liveness (a ping for the idle, a drop for the silent) and the p2p
    dialect's heartbeat are decided by gw_liveness.h; these timers walk
    the table and act. gateway.stats reports the counters. gateway.c
    registers the timers; they run on the gateway thread.
*/
#include "gw_timers.h"
#include "gw_liveness.h"
#include "gw_out.h"

void
gw_timers_stats (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) loop;
    (void) revents;
    gw_self_t *self = (gw_self_t *) timer->data;
    HC_LOG (self->log, HC_LOG_INFO, "gateway.stats",
            hc_field_int ("connections",
                          (int64_t) zhashx_size (self->sessions)),
            hc_field_int ("frames_in", (int64_t) self->frames_in),
            hc_field_int ("frames_out", (int64_t) self->frames_out),
            hc_field_int ("invalid", (int64_t) self->invalid),
            hc_field_int ("busy", (int64_t) self->busy),
            hc_field_int ("undeliverable", (int64_t) self->undeliverable),
            hc_field_int ("lagging", (int64_t) self->lagging),
            hc_field_int ("log_dropped",
                          (int64_t) hc_log_dropped (self->log)));
}

//  Liveness and the p2p heartbeat (gw_liveness.h)
void
gw_timers_liveness (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) revents;
    gw_self_t *self = (gw_self_t *) timer->data;
    double now = ev_now (loop);
    double interval = (double) self->cfg.ping_interval_ms / 1000;
    double timeout = (double) self->cfg.ping_timeout_ms / 1000;
    for (gw_session_t *session = (gw_session_t *) zhashx_first (
             self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions)) {
        gw_live_t live = gw_liveness_check (session, now, interval, timeout);
        if (live == GW_LIVE_DROP) {
            char hex [17];
            hc_conn_hex (session->id, hex);
            HC_EVENT (self->log, HC_LOG_INFO, "conn.timeout",
                      hc_field_str ("conn", hc_str (hex)),
                      hc_field_int ("idle_ms", (int64_t) ((now
                                                - session->last_seen) * 1000)));
            gw_out_kill (self, session);
        }
        else
        if (live == GW_LIVE_PING)
            gw_out_ping (self, session);
    }
}

void
gw_timers_heartbeat (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) revents;
    gw_self_t *self = (gw_self_t *) timer->data;
    double now = ev_now (loop);
    double timeout = (double) self->cfg.p2p_heartbeat_timeout_ms / 1000;
    for (gw_session_t *session = (gw_session_t *) zhashx_first (
             self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions)) {
        if (!gw_liveness_heartbeat_lapsed (session, now, timeout))
            continue;
        char hex [17];
        hc_conn_hex (session->id, hex);
        HC_EVENT (self->log, HC_LOG_INFO, "p2p.heartbeat_close",
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_int ("silent_ms",
                                (int64_t) ((now - session->last_app_ping)
                                           * 1000)));
        gw_session_close_after_flush (session, LWS_CLOSE_STATUS_NORMAL,
                                      "No ping received");
        lws_callback_on_writable (session->wsi);
    }
}
