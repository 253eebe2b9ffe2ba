/*  gw_callback.c - the lws callback: what each event of a socket does

    One callback serves both dialects and plain HTTP. It hands each event
    to the file whose job it is (gw_handshake.c before the upgrade,
    gw_frames.c for input, gw_out.c for WRITEABLE) and keeps a session's
    life itself: opened (an id, the table, OPEN to rooms), closed (CLOSE
    to rooms, a linger for the close we sent). Runs on the gateway thread,
    inside lws_service.
*/
#include "gw_callback.h"
#include "gw_frames.h"
#include "gw_handshake.h"
#include "gw_http.h"
#include "gw_metrics.h"
#include "gw_out.h"
#include "gw_tls.h"
#include "../common/sig_errors.h"

#include <fcntl.h>

static void
s_session_open (gw_self_t *self, gw_session_t *session, struct lws *wsi)
{
    session->wsi = wsi;
    session->id = ((uint64_t) self->instance << 32) | ++self->next_seq;
    char path [256] = "";
    if (lws_hdr_copy (wsi, path, sizeof (path), WSI_TOKEN_GET_URI) < 0)
        path [0] = 0;
    session->dialect = gw_http_dialect (path);
    gw_handshake_done (self, wsi);
    int rc = zhashx_insert (self->sessions, &session->id, session);
    assert (rc == 0);
    (void) rc;
    session->registered = true;
    session->last_seen = ev_now (self->loop);

    msg_open_t open = {session->id, (hc_dialect_t) session->dialect,
                       hc_str (session->peer)};
    bool announced = msg_enc_open (self->enc, &open) == 0
                  && gw_self_to_rooms (self, MSG_OPEN) == 0;
    char hex [17];
    hc_conn_hex (session->id, hex);
    HC_EVENT (self->log, HC_LOG_INFO, "conn.open",
              hc_field_str ("conn", hc_str (hex)),
              hc_field_str ("gateway", hc_str (self->instance_hex)),
              hc_field_str ("dialect", hc_str (hc_dialect_name (
                                               session->dialect))),
              hc_field_str ("path", hc_str (path)),
              hc_field_str ("peer", hc_str (session->peer)),
              hc_field_str ("via", hc_str (session->via)));
    if (self->trace)
        gw_trace_open (self->trace, session->id, session->dialect, path,
                       session->peer);
    if (!announced) {
        //  Rooms would not know this connection: better none than that
        self->busy++;
        gw_session_close_after_flush (session, CLOSE_TRY_LATER,
                                      SIG_E_SERVER_BUSY);
        lws_callback_on_writable (wsi);
    }
    if (self->stopping) {
        gw_session_close_after_flush (session, LWS_CLOSE_STATUS_GOINGAWAY,
                                      "server shutting down");
        lws_callback_on_writable (wsi);
    }
    else
    if (session->dialect == HC_DIALECT_P2P) {
        session->last_app_ping = session->last_seen;
        hc_field_t hello [] = {
            hc_field_str ("type", HC_STR_LIT ("userConnect"))};
        gw_frames_send_fields (self, session, hello, 1);
    }
}

//  Who closed, and how: a close we asked for, the client's close frame,
//  or a connection that ended without one (1006)
static void
s_trace_close (gw_self_t *self, gw_session_t *session)
{
    bool by_server = session->closing
                  && (session->close_code || !session->peer_close_code);
    uint16_t code = by_server ? session->close_code : session->peer_close_code;
    gw_trace_close (self->trace, session->id, session->dialect, !by_server,
                    code ? code : LWS_CLOSE_STATUS_ABNORMAL_CLOSE,
                    by_server ? session->close_reason : NULL);
}

static void
s_session_closed (gw_self_t *self, gw_session_t *session)
{
    //  A close we sent: the socket lingers (gw_linger.h), so the client
    //  reads the close frame and what came before it, not a reset
    int fd = lws_get_socket_fd (session->wsi);
    if (session->closing && session->close_code && fd >= 0)
        gw_linger_add (self->linger, fcntl (fd, F_DUPFD_CLOEXEC, 0), NULL, 0);
    if (session->registered) {
        zhashx_delete (self->sessions, &session->id);
        session->registered = false;
        msg_close_t close = {session->id};
        if (msg_enc_close (self->enc, &close) == 0)
            gw_self_to_rooms (self, MSG_CLOSE);
        char hex [17];
        hc_conn_hex (session->id, hex);
        HC_EVENT (self->log, HC_LOG_INFO, "conn.close",
                  hc_field_str ("conn", hc_str (hex)),
                  hc_field_str ("gateway", hc_str (self->instance_hex)),
                  hc_field_str ("dialect", hc_str (hc_dialect_name (
                                                   session->dialect))),
                  hc_field_str ("peer", hc_str (session->peer)));
        if (self->trace)
            s_trace_close (self, session);
    }
    gw_budget_sub (&self->budget, gw_session_held (session));
    gw_session_clear (session);
    if (self->stopping && zhashx_size (self->sessions) == 0)
        ev_break (self->loop, EVBREAK_ALL);
}

//  /metrics, to the clients METRICS_ALLOW names (behind a trusted proxy,
//  the client it forwarded, so a public proxy does not open it to all)
static int
s_http_metrics (gw_self_t *self, struct lws *wsi)
{
    if (self->metrics_allow.size == 0)
        return gw_http_text (wsi, HTTP_STATUS_NOT_FOUND, "not found\n");
    char client [HC_ADDR_TEXT], via [HC_ADDR_TEXT];
    gw_handshake_client_address (self, wsi, client, via);
    if (!hc_netlist_contains (&self->metrics_allow, client))
        return gw_http_text (wsi, HTTP_STATUS_FORBIDDEN, "forbidden\n");
    gw_metrics_t metrics = {
        .version = HOMECALL_VERSION, .gateway = self->instance_hex,
        .connections = {{0, "signal"}, {0, "p2p"}},
        .frames_in = self->frames_in, .frames_out = self->frames_out,
        .invalid = self->invalid, .busy = self->busy,
        .undeliverable = self->undeliverable, .lagging = self->lagging,
        .rooms_up = self->link.up, .rooms_known = self->rooms_stats_known,
        .rooms = self->rooms_stats,
        .handshakes = gw_admission_pending (self->admission),
        .lingering = gw_linger_size (self->linger),
        .buffered = self->budget.used, .budget_cuts = self->budget.cuts
    };
    for (gw_session_t *session = (gw_session_t *) zhashx_first (
             self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions))
        metrics.connections [session->dialect == HC_DIALECT_SIGNAL ? 0 : 1]
            .value++;
    gw_refusals_metrics (self->refusals, &metrics);
    hc_buf_t body;
    hc_buf_init (&body, LWS_PRE);
    gw_metrics_render (&metrics, &body);
    int rc = gw_http_answer (wsi, HTTP_STATUS_OK,
                             "text/plain; version=0.0.4; charset=utf-8", NULL,
                             &body);
    hc_buf_free (&body);
    return rc;
}

//  Plain HTTP (gw_http.h); on the TLS port, only over TLS
static int
s_http (gw_self_t *self, struct lws *wsi, const char *path)
{
    if (gw_tls_enabled (&self->cfg) && !lws_is_ssl (wsi)) {
        char client [HC_ADDR_TEXT], via [HC_ADDR_TEXT];
        gw_handshake_client_address (self, wsi, client, via);
        gw_refusals_note (self->refusals, GW_REFUSED_NOT_TLS, client, via,
                          NULL, zclock_mono ());
        return gw_http_text (wsi, HTTP_STATUS_BAD_REQUEST, "not_tls\n");
    }
    const gw_demo_file_t *file;
    switch (gw_http_route (path, self->cfg.demo_page, &file)) {
        case GW_HTTP_DEMO:      return gw_http_file (wsi, file);
        case GW_HTTP_METRICS:   return s_http_metrics (self, wsi);
        case GW_HTTP_HEALTH:    return gw_http_health (wsi, self->link.up);
        case GW_HTTP_UPGRADE:   break;
    }
    return gw_http_text (wsi, 426, "Upgrade Required\n");
}

static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user,
            void *in, size_t len)
{
    gw_self_t *self = (gw_self_t *) lws_context_user (lws_get_context (wsi));
    gw_session_t *session = (gw_session_t *) user;
    switch (reason) {
        case LWS_CALLBACK_HTTP:
            return s_http (self, wsi, (const char *) in);
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            return gw_handshake_filter (self, session, wsi);
        case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
            return gw_handshake_accept (self, (int) (intptr_t) in);
        case LWS_CALLBACK_WSI_CREATE:
            gw_handshake_created (self, wsi);
            return 0;
        case LWS_CALLBACK_WSI_DESTROY:
            gw_handshake_destroyed (self, wsi);
            return 0;
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if (len >= 2)
                session->peer_close_code = (uint16_t) (
                    ((const unsigned char *) in) [0] << 8
                    | ((const unsigned char *) in) [1]);
            return 0;
        case LWS_CALLBACK_ESTABLISHED:
            s_session_open (self, session, wsi);
            return 0;
        case LWS_CALLBACK_RECEIVE:
            return gw_frames_receive (self, session, wsi, (const char *) in,
                                      len);
        case LWS_CALLBACK_SERVER_WRITEABLE: {
            int rc = gw_out_writeable (self, session, wsi);
            if (rc == GW_OUT_PONG) {
                gw_frames_rate (self, session);     //  a ping is a frame
                rc = 0;
            }
            return rc;
        }
        case LWS_CALLBACK_RECEIVE_PONG:
            session->last_seen = ev_now (self->loop);
            return 0;
        case LWS_CALLBACK_CLOSED:
            s_session_closed (self, session);
            return 0;
        default:
            return 0;
    }
}

//  lws keeps a receive buffer of RX_CHUNK per connection for its whole
//  life, and reads a socket RX_CHUNK at a time: 1 KiB is a third of an
//  idle client's memory (2 KiB were 4.2 KiB, 8 KiB twice that), and a
//  longer message comes in chunks (gw_frames_receive joins them): a 1.5 KB
//  offer costs one recv() and ~2,800 instructions more than at 2 KiB
//  (docs/performance.md). A send is not cut to RX_CHUNK (what lws does when
//  tx_packet_size is 0): the kernel takes a whole frame, or lws keeps the
//  rest.
#define RX_CHUNK 1024
#define TX_PACKET_MAX (1024 * 1024)

const struct lws_protocols gw_callback_protocols [] = {
    //  Serves both dialects and plain HTTP
    {"homecall", s_callback, sizeof (gw_session_t), RX_CHUNK, 0, NULL,
     TX_PACKET_MAX},
    {NULL, NULL, 0, 0, 0, NULL, 0}
};
