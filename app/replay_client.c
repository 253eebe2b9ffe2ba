/*  replay_client.c - homecall-replay's WebSocket clients, on the
    libwebsockets client API (the server's own libraries, nothing more) */
#include "replay_client.h"

#include <czmq.h>
#include <libwebsockets.h>

#define TICK_US (10 * LWS_US_PER_MS)

struct _rc_client_t {
    struct lws_context *ctx;    //  the client
    lws_sorted_usec_list_t tick;    //  wakes lws_service every TICK_US
};

//  Frames and connections

static rc_frame_t *
s_frame_new (const char *data, size_t len, bool binary)
{
    rc_frame_t *frame = (rc_frame_t *) zmalloc (sizeof (rc_frame_t));
    frame->data = (char *) malloc (LWS_PRE + len + 1);
    memcpy (frame->data + LWS_PRE, data, len);
    frame->data [LWS_PRE + len] = 0;
    frame->len = len;
    frame->binary = binary;
    return frame;
}

void
rc_frame_destroy (void **item)
{
    rc_frame_t *frame = (rc_frame_t *) *item;
    if (frame) {
        free (frame->data);
        free (frame);
        *item = NULL;
    }
}

const char *
rc_frame_payload (const rc_frame_t *frame)
{
    return frame->data + LWS_PRE;
}

void
rc_conn_destroy (void **item)
{
    rc_conn_t *conn = (rc_conn_t *) *item;
    if (conn) {
        zlistx_destroy (&conn->rx);
        zlistx_destroy (&conn->tx);
        hc_buf_free (&conn->partial);
        free (conn);
        *item = NULL;
    }
}

//  lws thread (the only thread)
static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user,
            void *in, size_t len)
{
    rc_conn_t *conn = (rc_conn_t *) user;
    if (!conn)
        return 0;
    switch (reason) {
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            conn->state = RC_OPEN;
            if (zlistx_size (conn->tx) || conn->want_close)
                lws_callback_on_writable (wsi);
            break;
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            snprintf (conn->error, sizeof (conn->error), "%.*s",
                      in ? (int) len : 0, in ? (const char *) in : "");
            conn->state = RC_FAILED;
            conn->wsi = NULL;
            break;
        case LWS_CALLBACK_CLIENT_RECEIVE:
            if (conn->partial.len == 0)
                conn->partial_binary = lws_frame_is_binary (wsi);
            hc_buf_append (&conn->partial, in, len);
            if (lws_is_final_fragment (wsi)
            &&  !lws_remaining_packet_payload (wsi)) {
                zlistx_add_end (conn->rx, s_frame_new (conn->partial.data,
                                                       conn->partial.len,
                                                       conn->partial_binary));
                hc_buf_reset (&conn->partial);
            }
            break;
        case LWS_CALLBACK_CLIENT_WRITEABLE: {
            rc_frame_t *frame = (rc_frame_t *) zlistx_first (conn->tx);
            if (frame) {
                zlistx_detach_cur (conn->tx);
                unsigned char *payload = (unsigned char *) frame->data
                                       + LWS_PRE;
                int n = lws_write (wsi, payload, frame->len,
                                   frame->binary ? LWS_WRITE_BINARY
                                                 : LWS_WRITE_TEXT);
                void *item = frame;
                rc_frame_destroy (&item);
                if (n < 0)
                    return -1;
                if (zlistx_size (conn->tx) || conn->want_close)
                    lws_callback_on_writable (wsi);
                break;
            }
            if (conn->want_close) {
                lws_close_reason (wsi, (enum lws_close_status) conn->close_code,
                                  NULL, 0);
                return -1;
            }
            break;
        }
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            conn->peer_closed = true;
            if (len >= 2) {
                const unsigned char *p = (const unsigned char *) in;
                conn->peer_code = (uint16_t) (p [0] << 8 | p [1]);
                snprintf (conn->peer_reason, sizeof (conn->peer_reason),
                          "%.*s", (int) (len - 2), (const char *) in + 2);
            }
            break;
        case LWS_CALLBACK_CLIENT_CLOSED:
            conn->state = RC_CLOSED;
            conn->wsi = NULL;
            break;
        default:
            break;
    }
    return 0;
}

static const struct lws_protocols s_protocols [] = {
    {"replay", s_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}
};

static void
s_tick (lws_sorted_usec_list_t *sul)
{
    rc_client_t *self = lws_container_of (sul, rc_client_t, tick);
    lws_sul_schedule (self->ctx, 0, &self->tick, s_tick, TICK_US);
}

bool
rc_client_wait (rc_client_t *self, rc_conn_t *conn, rc_done_fn *done,
                void *arg, int64_t timeout_ms)
{
    int64_t until = zclock_mono () + timeout_ms;
    while (!done (arg, conn)) {
        if (zclock_mono () >= until)
            return false;
        lws_service (self->ctx, 0);
    }
    return true;
}

bool
rc_conn_connected (void *arg, rc_conn_t *conn)
{
    (void) arg;
    return conn->state != RC_CONNECTING;
}

bool
rc_conn_sent (void *arg, rc_conn_t *conn)
{
    (void) arg;
    return zlistx_size (conn->tx) == 0 || conn->state != RC_OPEN;
}

bool
rc_conn_received (void *arg, rc_conn_t *conn)
{
    (void) arg;
    return zlistx_size (conn->rx) > 0 || conn->state != RC_OPEN;
}

bool
rc_conn_closed (void *arg, rc_conn_t *conn)
{
    (void) arg;
    return conn->state == RC_CLOSED || conn->state == RC_FAILED;
}

bool
rc_never (void *arg, rc_conn_t *conn)
{
    (void) arg;
    (void) conn;
    return false;
}

rc_conn_t *
rc_client_connect (rc_client_t *self, const char *id, hc_dialect_t dialect,
                   const char *path, const char *host, int port,
                   int64_t timeout_ms)
{
    rc_conn_t *conn = (rc_conn_t *) zmalloc (sizeof (rc_conn_t));
    snprintf (conn->id, sizeof (conn->id), "%s", id);
    snprintf (conn->path, sizeof (conn->path), "%s", path);
    conn->dialect = dialect;
    conn->rx = zlistx_new ();
    conn->tx = zlistx_new ();
    zlistx_set_destructor (conn->rx, rc_frame_destroy);
    zlistx_set_destructor (conn->tx, rc_frame_destroy);
    hc_buf_init (&conn->partial, 0);
    struct lws_client_connect_info info;
    memset (&info, 0, sizeof (info));
    info.context = self->ctx;
    info.address = host;
    info.port = port;
    info.path = conn->path;
    info.host = host;
    info.origin = host;
    info.ietf_version_or_minus_one = -1;
    info.local_protocol_name = "replay";
    info.userdata = conn;
    info.pwsi = &conn->wsi;
    if (!lws_client_connect_via_info (&info)) {
        conn->state = RC_FAILED;
        snprintf (conn->error, sizeof (conn->error), "cannot connect");
    }
    else
        rc_client_wait (self, conn, rc_conn_connected, NULL, timeout_ms);
    if (conn->state == RC_CONNECTING) {
        conn->state = RC_FAILED;
        snprintf (conn->error, sizeof (conn->error), "handshake timed out");
    }
    return conn;
}

void
rc_conn_send (rc_conn_t *conn, const char *data, size_t len, bool binary)
{
    zlistx_add_end (conn->tx, s_frame_new (data, len, binary));
    if (conn->wsi)
        lws_callback_on_writable (conn->wsi);
}

//  ---------------------------------------------------------------------
//  Differences

rc_client_t *
rc_client_new (void)
{
    rc_client_t *self = (rc_client_t *) zmalloc (sizeof (rc_client_t));
    lws_set_log_level (LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof (info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = s_protocols;
    self->ctx = lws_create_context (&info);
    if (!self->ctx) {
        free (self);
        return NULL;
    }
    lws_sul_schedule (self->ctx, 0, &self->tick, s_tick, TICK_US);
    return self;
}

void
rc_client_destroy (rc_client_t **self_p)
{
    rc_client_t *self = *self_p;
    if (self) {
        lws_sul_cancel (&self->tick);
        lws_context_destroy (self->ctx);
        free (self);
        *self_p = NULL;
    }
}

void
rc_conn_close (rc_conn_t *conn, uint16_t code)
{
    conn->close_code = code;
    conn->want_close = true;
    if (conn->wsi)
        lws_callback_on_writable (conn->wsi);
}
