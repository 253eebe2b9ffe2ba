/*  gw_out.c - frames to clients: written at once, or queued for WRITEABLE

    A frame is written at once when nothing is ahead of it; else it joins
    the session's bounded queue (SEND_QUEUE_MAX, then the client is cut),
    counted in the gateway's BUFFER_BUDGET (past it, the largest holders
    are cut). Pings take the same way. A client that does not read is
    dropped, never waited for. Runs in lws callbacks and timers (gateway
    thread).
*/
#include "gw_out.h"

#include <inttypes.h>

#define LWS_WAKE_AFTER_CLOSE 7.0    //  lws waits 5 s for a close's answer

//  Drops a connection without a close handshake (the peer is dead or not
//  reading). lws kills it from its timer list; waking the service makes
//  that happen now rather than at its next scheduled wakeup.
void
gw_out_kill (gw_self_t *self, gw_session_t *session)
{
    session->closing = true;
    lws_set_timeout (session->wsi, PENDING_TIMEOUT_LAGGING, LWS_TO_KILL_ASYNC);
    lws_cancel_service (self->ctx);
}

//  A WebSocket ping; -1 if the connection is dead. lws hides empty pongs
//  from us, so the ping carries a payload.
static int
s_write_ping (struct lws *wsi)
{
    unsigned char ping [LWS_PRE + 8];
    memcpy (ping + LWS_PRE, "homecall", 8);
    return lws_write (wsi, ping + LWS_PRE, 8, LWS_WRITE_PING) < 8 ? -1 : 0;
}

//  Writes one frame to the client; -1 if the connection is dead
static int
s_write_frame (gw_self_t *self, gw_session_t *session,
               gw_outbuf_t *buf)
{
    //  Stamped before the write: a trace's order is then causal, even
    //  across gateways (what a client does after this comes later)
    if (self->trace)
        gw_trace_frame (self->trace, session->id, session->dialect, true,
                        (const char *) gw_outbuf_payload (buf), buf->len,
                        false);
    //  Every frame we send is JSON text
    int n = lws_write (session->wsi, gw_outbuf_payload (buf), buf->len,
                       LWS_WRITE_TEXT);
    if (n < 0 || (size_t) n < buf->len)
        return -1;
    self->frames_out++;
    session->wrote_last = true;
    return 0;
}

//  Over BUFFER_BUDGET: the connections holding most are cut, largest
//  first, until the gateway is under it again. Rare, so a walk is fine.
void
gw_out_cut_largest (gw_self_t *self)
{
    while (gw_budget_over (&self->budget)) {
        gw_session_t *largest = NULL;
        for (gw_session_t *session = (gw_session_t *) zhashx_first (
                 self->sessions);
             session; session = (gw_session_t *) zhashx_next (self->sessions))
            if (!largest || session->out_bytes > largest->out_bytes)
                largest = session;
        if (!largest || largest->out_bytes == 0)
            return;             //  what is left is partial messages
        char hex [17];
        hc_conn_hex (largest->id, hex);
        HC_EVENT (self->log, HC_LOG_WARN, "conn.over_budget",
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_int ("queued", (int64_t) largest->out_bytes),
                  hc_field_int ("held", (int64_t) self->budget.used));
        self->budget.cuts++;
        gw_budget_sub (&self->budget, largest->out_bytes);
        gw_session_drop_queue (largest);
        gw_out_kill (self, largest);
    }
}

//  Writes one frame for a session at once when nothing is ahead of it,
//  else queues it and asks lws for a write slot. The direct write saves
//  a loop turn and two epoll_ctl calls per frame (POLLOUT on, then off);
//  what the kernel does not take, lws keeps and sends first (buffered
//  out), and frames after it then queue here until WRITEABLE.
void
gw_out_enqueue (gw_self_t *self, gw_session_t *session, gw_outbuf_t *buf)
{
    if (session->closing)
        return;
    if (gw_session_queued (session) == 0 && !session->ping_due
    &&  !lws_partial_buffered (session->wsi)) {
        if (s_write_frame (self, session, buf))
            gw_out_kill (self, session);
        return;
    }
    if (gw_session_push (session, buf, (size_t) self->cfg.send_queue_max)) {
        //  The client is not reading: cut it off rather than buffer more
        char hex [17];
        hc_conn_hex (session->id, hex);
        HC_EVENT (self->log, HC_LOG_WARN, "conn.lagging",
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_int ("queued", (int64_t) session->out_bytes));
        self->lagging++;
        gw_out_kill (self, session);
        return;
    }
    gw_budget_add (&self->budget, buf->len);
    lws_callback_on_writable (session->wsi);
    if (gw_budget_over (&self->budget))
        gw_out_cut_largest (self);
}

int
gw_out_writeable (gw_self_t *self, gw_session_t *session, struct lws *wsi)
{
    if (session->ping_due && !session->closing) {
        session->ping_due = false;
        if (s_write_ping (wsi))
            return -1;
        session->wrote_last = true;
        if (gw_session_queued (session))
            lws_callback_on_writable (wsi);
        return 0;
    }
    gw_outbuf_t *buf = gw_session_pop (session);
    if (buf) {
        gw_budget_sub (&self->budget, buf->len);
        int rc = s_write_frame (self, session, buf);
        gw_outbuf_release (&buf);
        if (rc)
            return -1;
        if (gw_session_queued (session) || session->closing)
            lws_callback_on_writable (wsi);
        return 0;
    }
    if (session->closing) {
        lws_close_reason (wsi, (enum lws_close_status) session->close_code,
                          (unsigned char *) session->close_reason,
                          session->close_reason
                              ? strlen (session->close_reason) : 0);
        self->lws_wake_until = ev_now (self->loop) + LWS_WAKE_AFTER_CLOSE;
        lws_rx_flow_control (wsi, 1);   //  to read the answer to the close
        return -1;
    }
    //  Nothing of ours to write: lws wrote a pong here (it leaves the
    //  socket asking to write once more after each), unless it finished
    //  a write of ours. lws answers pings without telling us, so this is
    //  how a ping counts as a frame.
    int rc = session->wrote_last ? 0 : GW_OUT_PONG;
    session->wrote_last = false;
    return rc;
}

//  Pings now when nothing waits to go out (as gw_out_enqueue writes
//  frames: no WRITEABLE round, no epoll_ctl), else at the next WRITEABLE
void
gw_out_ping (gw_self_t *self, gw_session_t *session)
{
    if (session->closing)
        return;
    //  Silent for PING_INTERVAL: what it received and sent left no buffer
    //  behind (an idle connection's memory, docs/performance.md)
    gw_budget_sub (&self->budget, gw_session_trim (session));
    if (gw_session_queued (session) == 0
    &&  !lws_partial_buffered (session->wsi)) {
        if (s_write_ping (session->wsi))
            gw_out_kill (self, session);
        return;
    }
    session->ping_due = true;
    lws_callback_on_writable (session->wsi);
}
