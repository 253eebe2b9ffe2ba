/*  p2p_outbox.c - where p2p frames go: a user's devices, one connection */
#include "p2p_outbox.h"

struct _p2p_outbox_t {
    rooms_sink_t sink;          //  frames and log records go out here
    size_t max_devices;         //  connections of one user, at most
    uint64_t *targets;          //  scratch: connections of one delivery
};

p2p_outbox_t *
p2p_outbox_new (const p2p_calls_cfg_t *cfg, const rooms_sink_t *sink)
{
    assert (cfg->max_devices >= 1);
    p2p_outbox_t *self = (p2p_outbox_t *) zmalloc (sizeof (*self));
    self->sink = *sink;
    self->max_devices = cfg->max_devices;
    self->targets = (uint64_t *) zmalloc (cfg->max_devices
                                          * sizeof (uint64_t));
    return self;
}

void
p2p_outbox_destroy (p2p_outbox_t **self_p)
{
    assert (self_p);
    p2p_outbox_t *self = *self_p;
    if (self) {
        free (self->targets);
        free (self);
        *self_p = NULL;
    }
}

static void
s_send (p2p_outbox_t *self, const uint64_t *conns, size_t n,
        const p2p_frame_t *frame)
{
    if (n)
        self->sink.deliver (self->sink.ctx, conns, n, frame->fields, frame->n);
}

void
p2p_outbox_user (p2p_outbox_t *self, const p2p_user_t *user,
                 const p2p_frame_t *frame)
{
    size_t n = 0;
    p2p_record_t *active = p2p_user_active (user);
    if (active) {
        if (active->conn)
            self->targets [n++] = active->conn;
    }
    else
        for (p2p_record_t *r = user->records; r; r = r->next)
            if (r->conn && n < self->max_devices)
                self->targets [n++] = r->conn;
    if (n == 0)
        HC_LOG (self->sink.log, HC_LOG_DEBUG, "p2p.undelivered",
                hc_field_str ("user", p2p_user_key (user)),
                hc_field_str ("type", frame->fields [0].str));
    s_send (self, self->targets, n, frame);
}

void
p2p_outbox_conn (p2p_outbox_t *self, uint64_t conn, const p2p_frame_t *frame)
{
    s_send (self, &conn, 1, frame);
}

void
p2p_outbox_cancel (p2p_outbox_t *self, const p2p_user_t *user)
{
    p2p_frame_t frame;
    p2p_frame_init (&frame, "cancel");
    size_t n = 0;
    for (p2p_record_t *r = user->records; r; r = r->next)
        if (r->conn && r->status == P2P_IDLE && n < self->max_devices)
            self->targets [n++] = r->conn;
    s_send (self, self->targets, n, &frame);
}

void
p2p_outbox_streams (p2p_outbox_t *self, const p2p_user_t *to,
                    const p2p_record_t *from)
{
    hc_field_t ids [P2P_STREAMS_MAX];
    for (size_t i = 0; i < from->streams_n; i++)
        ids [i] = (hc_field_t){.key = p2p_text (&from->streams [i].kind),
                               .type = HC_V_RAW,
                               .str = p2p_text (&from->streams [i].id)};
    p2p_frame_t frame;
    p2p_frame_init (&frame, "remoteStreamsId");
    p2p_frame_set (&frame, hc_field_obj ("streamIds", ids, from->streams_n));
    p2p_outbox_user (self, to, &frame);
}

void
p2p_outbox_error (p2p_outbox_t *self, uint64_t conn, const char *message,
                  const char *handler, const hc_field_t *context,
                  size_t context_n)
{
    hc_field_t bounded [P2P_OUTBOX_CONTEXT_MAX];
    size_t n = 0;
    for (size_t i = 0; i < context_n && n < P2P_OUTBOX_CONTEXT_MAX; i++)
        if (hc_str_present (context [i].str)
        &&  context [i].str.len <= P2P_OUTBOX_VALUE_MAX)
            bounded [n++] = context [i];
    hc_field_t fields [] = {
        hc_field_str ("type", HC_STR_LIT ("error")),
        hc_field_str ("message", hc_str (message)),
        hc_field_str ("handler", hc_str (handler)),
        hc_field_obj ("context", bounded, n),
    };
    self->sink.deliver (self->sink.ctx, &conn, 1, fields, 4);
    char hex [17];
    hc_conn_hex (conn, hex);
    HC_EVENT_ERROR (self->sink.log, HC_LOG_INFO, "p2p.error",
                    hc_field_str ("conn", hc_str (hex)),
                    hc_field_str ("handler", hc_str (handler)),
                    hc_field_str ("message", hc_str (message)));
}

void
p2p_outbox_error_echo (p2p_outbox_t *self, const msg_p2p_t *cmd,
                       const char *message, const char *handler)
{
    p2p_outbox_error (self, cmd->conn, message, handler, cmd->payload,
                      cmd->payload_n);
}
