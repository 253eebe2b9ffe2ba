/*  gw_frames.c - what a client's frames get: the policy of the gateway

    Reassembly up to MAX_FRAME_SIZE, the rate limit charged per frame, the
    UTF-8 check, then the dialect's reader (gw_signal.c, gw_p2p.c): a
    command for rooms, an answer of the gateway's own (PONG, the ICE
    servers), or an error frame. Bad input is answered or closed, never
    asserted on (docs/limits.md). Runs in lws callbacks (gateway thread).
*/
#include "gw_frames.h"
#include "gw_json.h"
#include "gw_out.h"
#include "gw_signal.h"
#include "../common/sig_errors.h"
#include "../common/utf8.h"

#include <time.h>

#define RX_KEEP_MAX (16 * 1024) //  reassembly memory kept between messages

void
gw_frames_send_fields (gw_self_t *self, gw_session_t *session,
                       const hc_field_t *fields, size_t n)
{
    hc_buf_reset (&self->render);
    gw_json_render (&self->render, fields, n);
    if (self->render.failed)
        return;
    gw_outbuf_t *buf = gw_outbuf_new (self->render.data, self->render.len);
    if (!buf)
        return;
    gw_out_enqueue (self, session, buf);
    gw_outbuf_release (&buf);
}

//  An error of the gateway's own, in the session's dialect:
//  /signal  {"type":"error","message":text,"code":code}
//  p2p      {"type":"error","message":text,"handler":handler,"context":{}}
static void
s_send_error (gw_self_t *self, gw_session_t *session, const char *text,
              const char *code, const char *handler)
{
    hc_field_t fields [] = {
        hc_field_str ("type", HC_STR_LIT ("error")),
        hc_field_str ("message", hc_str (text)),
        session->dialect == HC_DIALECT_SIGNAL
            ? hc_field_str ("code", hc_str (code))
            : hc_field_str ("handler", hc_str (handler)),
        hc_field_obj ("context", NULL, 0),
    };
    gw_frames_send_fields (self, session, fields,
                           session->dialect == HC_DIALECT_SIGNAL ? 3 : 4);
}

//  A frame that is not JSON: the p2p dialect's PONG
static void
s_send_text (gw_self_t *self, gw_session_t *session, const char *text)
{
    gw_outbuf_t *buf = gw_outbuf_new (text, strlen (text));
    if (buf) {
        gw_out_enqueue (self, session, buf);
        gw_outbuf_release (&buf);
    }
}

//  The ICE servers, asked of the gateway itself in either dialect; TURN
//  credentials name the connection (docs/deploy.md)
static void
s_send_ice (gw_self_t *self, gw_session_t *session)
{
    char hex [17];
    hc_conn_hex (session->id, hex);
    hc_buf_t servers;
    hc_buf_init (&servers, 0);
    gw_ice_render (self->ice, hex, (int64_t) time (NULL), &servers);
    bool signal = session->dialect == HC_DIALECT_SIGNAL;
    hc_field_t fields [] = {
        hc_field_str ("type", signal ? HC_STR_LIT ("ice-servers")
                                     : HC_STR_LIT ("iceServers")),
        hc_field_raw ("iceServers", hc_buf_str (&servers)),
    };
    if (!servers.failed)
        gw_frames_send_fields (self, session, fields, 2);
    hc_buf_free (&servers);
    HC_LOG (self->log, HC_LOG_DEBUG, "ice.servers",
            hc_field_str ("conn", hc_str (hex)));
}

//  Closes once the replies already queued are written, from inside an lws
//  callback for this wsi (return its 0). Reading stops: the rest of a
//  flood or of an oversized message is not worth parsing (docs/limits.md).
static int
s_close_after_replies (gw_self_t *self, gw_session_t *session, uint16_t code,
                       const char *reason)
{
    char hex [17];
    hc_conn_hex (session->id, hex);
    HC_LOG (self->log, HC_LOG_INFO, "conn.closing",
            hc_field_str ("conn", hc_str (hex)), hc_field_int ("code", code),
            hc_field_str ("reason", hc_str (reason)));
    gw_session_close_after_flush (session, code, reason);
    lws_rx_flow_control (session->wsi, 0);
    lws_callback_on_writable (session->wsi);
    return 0;
}

//  Rooms cannot take the command now: the client is told, and the operator
//  sees a record once a second at most
static void
s_busy (gw_self_t *self, gw_session_t *session)
{
    self->busy++;
    s_send_error (self, session, SIG_T_SERVER_BUSY, SIG_E_SERVER_BUSY,
                  "SERVER");
    uint64_t count = hc_tally_add (&self->busy_log, zclock_mono ());
    if (count)
        HC_LOG (self->log, HC_LOG_WARN, "signal.busy",
                hc_field_int ("count", (int64_t) count));
}

//  Malformed input: "Invalid message" (with a code saying why, or the p2p
//  dialect's handler PARSE), and a record
static void
s_invalid (gw_self_t *self, gw_session_t *session, const char *code,
           size_t size)
{
    self->invalid++;
    s_send_error (self, session, SIG_INVALID_MESSAGE, code, "PARSE");
    char hex [17];
    hc_conn_hex (session->id, hex);
    HC_EVENT_ERROR (self->log, HC_LOG_INFO,
                    session->dialect == HC_DIALECT_SIGNAL ? "signal.invalid"
                                                          : "p2p.invalid",
                    hc_field_str ("conn", hc_str (hex)),
                    hc_field_str ("code", hc_str (code)),
                    hc_field_int ("size", (int64_t) size));
}

static void
s_signal_frame (gw_self_t *self, gw_session_t *session, const char *data,
                size_t len)
{
    cJSON *root = NULL;
    gw_sig_result_t result;
    gw_signal_read (data, len, &root, &result);
    char hex [17];
    switch (result.kind) {
        case GW_SIG_INVALID:
            s_invalid (self, session, result.code, len);
            break;
        case GW_SIG_CLIENT_ERROR: {
            hc_str_t text = result.client_message;
            if (text.len > 200)
                text.len = 200;     //  may cut a UTF-8 sequence: the log
                                    //  writer escapes what it cannot print
            hc_conn_hex (session->id, hex);
            HC_EVENT_ERROR (self->log, HC_LOG_WARN, "client.error",
                            hc_field_str ("conn", hc_str (hex)),
                            hc_field_str ("message", text));
            break;
        }
        case GW_SIG_ICE_SERVERS:
            s_send_ice (self, session);
            break;
        case GW_SIG_COMMAND:
            result.cmd.conn = session->id;
            if (msg_enc_sig (self->enc, &result.cmd) == 0
            &&  gw_self_to_rooms (self, MSG_SIG) == 0)
                break;
            s_busy (self, session);
            break;
    }
    gw_json_release (&root);
}

static void
s_p2p_frame (gw_self_t *self, gw_session_t *session, const char *data,
             size_t len)
{
    cJSON *root = NULL;
    gw_p2p_result_t *result = self->p2p;
    gw_p2p_read (data, len, &root, result);
    switch (result->kind) {
        case GW_P2P_PING:
            //  Text PING and {"route":"PING"} both keep the session (B5)
            session->last_app_ping = ev_now (self->loop);
            s_send_text (self, session, "PONG");
            break;
        case GW_P2P_ICE_SERVERS:
            s_send_ice (self, session);
            break;
        case GW_P2P_INVALID:
            s_invalid (self, session, SIG_E_INVALID_JSON, len);
            break;
        case GW_P2P_COMMAND:
            result->cmd.conn = session->id;
            if (msg_enc_p2p (self->enc, &result->cmd) == 0
            &&  gw_self_to_rooms (self, MSG_P2P) == 0)
                break;
            s_busy (self, session);
            break;
    }
    gw_json_release (&root);
}

//  Charges one frame to the rate limit: true if it may pass. Every frame
//  counts, the empty continuation as much as a whole message, so that no
//  kind of frame is a free flood (docs/limits.md).
bool
gw_frames_rate (gw_self_t *self, gw_session_t *session)
{
    gw_rate_t rate = gw_session_rate (session, ev_now (self->loop),
                                      (double) self->cfg.rate_limit,
                                      (double) self->cfg.rate_burst);
    if (rate == GW_RATE_CLOSE) {
        //  What we already owe it (the rate_limited error) goes out first
        HC_EVENT (self->log, HC_LOG_WARN, "conn.flood",
                  hc_field_str ("peer", hc_str (session->peer)));
        s_close_after_replies (self, session,
                               LWS_CLOSE_STATUS_POLICY_VIOLATION,
                               SIG_E_RATE_LIMITED);
    }
    else
    if (rate == GW_RATE_DROP_TELL)
        s_send_error (self, session, SIG_T_RATE_LIMITED, SIG_E_RATE_LIMITED,
                      "RATE_LIMIT");
    return rate == GW_RATE_OK;
}

//  One whole client message. Returns -1 to close the connection.
static int
s_frame (gw_self_t *self, gw_session_t *session, const char *data,
         size_t len, bool binary)
{
    //  lws leaves text to us (no LWS_SERVER_OPTION_VALIDATE_UTF8): one
    //  eight-bytes-a-step pass over the whole message is cheaper than its
    //  byte-at-a-time check of every fragment
    if (!binary && !utf8_valid (data, len))
        return s_close_after_replies (self, session,
                                      LWS_CLOSE_STATUS_INVALID_PAYLOAD,
                                      "invalid_utf8");
    self->frames_in++;
    if (self->trace)
        gw_trace_frame (self->trace, session->id, session->dialect, false,
                        data, len, binary);
    //  Binary frames carry the same JSON; bad UTF-8 there is malformed
    if (binary && !utf8_valid (data, len)) {
        s_invalid (self, session, SIG_E_INVALID_JSON, len);
        return 0;
    }
    if (session->dialect == HC_DIALECT_SIGNAL)
        s_signal_frame (self, session, data, len);
    else
        s_p2p_frame (self, session, data, len);
    return 0;
}

static int
s_receive (gw_self_t *self, gw_session_t *session, struct lws *wsi,
           const char *in, size_t len)
{
    if (!session->registered || session->closing)
        return 0;               //  input after a close request is ignored
    session->last_seen = ev_now (self->loop);
    size_t remaining = lws_remaining_packet_payload (wsi);
    if (gw_session_rx_starts (session, remaining)
    &&  !gw_frames_rate (self, session))
        gw_session_rx_drop (session);   //  the whole message goes
    gw_rx_message_t message;
    switch (gw_session_rx (session, in, len, remaining,
                           lws_is_final_fragment (wsi),
                           lws_frame_is_binary (wsi),
                           (size_t) self->cfg.max_frame_size, &message)) {
        case GW_RX_WAIT:
            return 0;
        case GW_RX_TOO_LARGE:
            if (self->trace)
                gw_trace_oversize (self->trace, session->id,
                                   session->dialect, message.len);
            return s_close_after_replies (self, session,
                                          LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                                          "frame_too_large");
        case GW_RX_NO_MEMORY:
            return s_close_after_replies (self, session,
                                          LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
                                          "out of memory");
        case GW_RX_WHOLE:
            break;
    }
    int rc = s_frame (self, session, message.data, message.len,
                      message.binary);
    gw_session_rx_done (session, RX_KEEP_MAX);
    return rc;
}

//  Input, with what reassembly holds counted in the budget
int
gw_frames_receive (gw_self_t *self, gw_session_t *session, struct lws *wsi,
                   const char *in, size_t len)
{
    size_t held = session->rx.cap;
    int rc = s_receive (self, session, wsi, in, len);
    gw_budget_sub (&self->budget, held);
    gw_budget_add (&self->budget, session->rx.cap);
    if (gw_budget_over (&self->budget))
        gw_out_cut_largest (self);
    return rc;
}
