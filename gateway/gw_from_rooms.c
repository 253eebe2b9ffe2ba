/*  gw_from_rooms.c - what rooms sends the gateway, and the link to it

    Rooms' messages are [verb][body] pairs (common/batch.h), dispatched
    from a table: OUT (frames to deliver, rendered once for every
    recipient), KICK (a close rooms decided) and WELCOME (the answer to
    our HELLO). The link (gw_link.h): HELLO every LINK_HEARTBEAT; while
    rooms does not answer, clients are refused; when it stops answering
    or turns out to have restarted, every client is closed with 1012 so
    that it reconnects to a rooms that knows it. Runs in the drain and the
    link timer (gateway thread).
*/
#include "gw_from_rooms.h"
#include "gw_json.h"
#include "gw_out.h"
#include "../common/sock.h"

//  ---------------------------------------------------------------------
//  Deliveries

//  A message from rooms the codec refused: logged and dropped
static void
s_malformed (gw_self_t *self, const char *verb)
{
    HC_EVENT_ERROR (self->log, HC_LOG_WARN, "bus.malformed",
                    hc_field_str ("verb", hc_str (verb)),
                    hc_field_str ("why", hc_str (msg_dec_error (self->dec))));
}

static void
s_handle_out (gw_self_t *self, const void *data, size_t size)
{
    msg_out_t out;
    if (msg_dec_out (self->dec, data, size, &out)) {
        s_malformed (self, MSG_OUT);
        return;
    }
    hc_buf_reset (&self->render);
    gw_json_render (&self->render, out.fields, out.fields_n);
    if (self->render.failed)
        return;
    gw_outbuf_t *buf = gw_outbuf_new (self->render.data, self->render.len);
    if (!buf)
        return;
    for (size_t i = 0; i < out.conns_n; i++) {
        gw_session_t *session = (gw_session_t *) zhashx_lookup (
            self->sessions, &out.conns [i]);
        if (session)
            gw_out_enqueue (self, session, buf);
        else
            self->undeliverable++;  //  closed while rooms was deciding
    }
    gw_outbuf_release (&buf);
}

static void
s_handle_kick (gw_self_t *self, const void *data, size_t size)
{
    msg_kick_t kick;
    if (msg_dec_kick (self->dec, data, size, &kick)) {
        s_malformed (self, MSG_KICK);
        return;
    }
    gw_session_t *session = (gw_session_t *) zhashx_lookup (self->sessions,
                                                            &kick.conn);
    if (!session)
        return;
    char reason [124];
    snprintf (reason, sizeof (reason), "%.*s", (int) kick.reason.len,
              kick.reason.ptr);
    gw_session_close_after_flush (session, kick.code, reason);
    lws_callback_on_writable (session->wsi);
}

//  ---------------------------------------------------------------------
//  The link

void
gw_from_rooms_hello (gw_self_t *self, const char *verb)
{
    msg_hello_t hello = {self->instance};
    if (msg_enc_hello (self->enc, &hello) == 0)
        gw_self_to_rooms (self, verb);  //  none while unlinked: nothing queues
}

//  Rooms no longer knows our clients: every one of them reconnects
static void
s_close_all (gw_self_t *self, const char *reason)
{
    for (gw_session_t *session = (gw_session_t *) zhashx_first (
             self->sessions);
         session; session = (gw_session_t *) zhashx_next (self->sessions)) {
        gw_session_close_after_flush (session, CLOSE_RESTART, reason);
        lws_callback_on_writable (session->wsi);
    }
}

static void
s_link_changed (gw_self_t *self, gw_link_change_t change)
{
    if (change == GW_LINK_SAME)
        return;
    char epoch [17];
    hc_conn_hex (self->link.epoch, epoch);
    int64_t clients = (int64_t) zhashx_size (self->sessions);
    if (change == GW_LINK_UP)
        HC_EVENT (self->log, HC_LOG_INFO, "rooms.linked",
                  hc_field_str ("epoch", hc_str (epoch)));
    else
    if (change == GW_LINK_RESTARTED) {
        HC_EVENT (self->log, HC_LOG_WARN, "rooms.restarted",
                  hc_field_str ("epoch", hc_str (epoch)),
                  hc_field_int ("connections", clients));
        s_close_all (self, "rooms_restarted");
    }
    else {
        HC_EVENT (self->log, HC_LOG_WARN, "rooms.lost",
                  hc_field_str ("epoch", hc_str (epoch)),
                  hc_field_int ("connections", clients));
        s_close_all (self, "rooms_unavailable");
    }
}

static void
s_handle_welcome (gw_self_t *self, const void *data, size_t size)
{
    msg_welcome_t welcome;
    if (msg_dec_welcome (self->dec, data, size, &welcome)) {
        s_malformed (self, MSG_WELCOME);
        return;
    }
    self->rooms_stats = welcome.stats;
    self->rooms_stats_known = true;
    s_link_changed (self, gw_link_welcome (&self->link, welcome.epoch,
                                            welcome.fresh, zclock_mono ()));
}

void
gw_from_rooms_link_tick (struct ev_loop *loop, ev_timer *timer,
                         int revents)
{
    (void) loop;
    (void) revents;
    gw_self_t *self = (gw_self_t *) timer->data;
    gw_from_rooms_hello (self, MSG_HELLO);
    s_link_changed (self, gw_link_check (&self->link, zclock_mono ()));
}

//  One handler per verb rooms sends
static const struct {
    const char *verb;
    void (*handler) (gw_self_t *self, const void *data, size_t size);
} s_handlers [] = {
    {MSG_OUT, s_handle_out}, {MSG_KICK, s_handle_kick},
    {MSG_WELCOME, s_handle_welcome}
};
#define HANDLERS_N (sizeof (s_handlers) / sizeof (s_handlers [0]))

//  One message from rooms: [verb][body] pairs, in the order rooms sent
//  them (common/batch.h)
void
gw_from_rooms_receive (gw_self_t *self)
{
    zmq_msg_t pair [2];
    zmq_msg_init (&pair [0]);
    zmq_msg_init (&pair [1]);
    bool more = true;
    while (more) {
        int parts = hc_sock_recv_pair (self->rooms, pair, &more);
        const char *v = (const char *) zmq_msg_data (&pair [0]);
        size_t vlen = zmq_msg_size (&pair [0]);
        const void *body = zmq_msg_data (&pair [1]);
        size_t size = zmq_msg_size (&pair [1]);
        size_t i = 0;
        while (i < HANDLERS_N
               && (parts != 2 || strlen (s_handlers [i].verb) != vlen
                   || memcmp (s_handlers [i].verb, v, vlen) != 0))
            i++;
        if (i < HANDLERS_N)
            s_handlers [i].handler (self, body, size);
        else
        if (parts > 0)
            HC_EVENT_ERROR (self->log, HC_LOG_WARN, "bus.unexpected",
                            hc_field_int ("parts", parts));
        if (parts < 2)
            break;
    }
    hc_sock_close_parts (pair, 2);
}
