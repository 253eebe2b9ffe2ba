/*  gw_metrics.c - the gateway's /metrics page, in the Prometheus text format
*/
#include "gw_metrics.h"

#include <assert.h>
#include <string.h>

#define ARRAY_N(a) (sizeof (a) / sizeof ((a) [0]))

static void
s_head (hc_buf_t *out, const char *name, const char *type, const char *help)
{
    hc_buf_append_cstr (out, "# HELP homecall_");
    hc_buf_append_cstr (out, name);
    hc_buf_append_char (out, ' ');
    hc_buf_append_cstr (out, help);
    hc_buf_append_cstr (out, "\n# TYPE homecall_");
    hc_buf_append_cstr (out, name);
    hc_buf_append_char (out, ' ');
    hc_buf_append_cstr (out, type);
    hc_buf_append_char (out, '\n');
}

//  One sample; label may be NULL. Label values here are our own words,
//  never client input, so they need no escaping.
static void
s_sample (hc_buf_t *out, const char *name, const char *label,
          const char *label_value, uint64_t value)
{
    hc_buf_append_cstr (out, "homecall_");
    hc_buf_append_cstr (out, name);
    if (label) {
        hc_buf_append_char (out, '{');
        hc_buf_append_cstr (out, label);
        hc_buf_append_cstr (out, "=\"");
        hc_buf_append_cstr (out, label_value);
        hc_buf_append_cstr (out, "\"}");
    }
    hc_buf_append_char (out, ' ');
    hc_buf_append_int (out, (int64_t) value);
    hc_buf_append_char (out, '\n');
}

static void
s_plain (hc_buf_t *out, const char *name, const char *type,
         const char *help, uint64_t value)
{
    s_head (out, name, type, help);
    s_sample (out, name, NULL, NULL, value);
}

void
gw_metrics_render (const gw_metrics_t *self, hc_buf_t *out)
{
    s_head (out, "build_info", "gauge", "Version of the server, as a label.");
    hc_buf_append_cstr (out, "homecall_build_info{version=\"");
    hc_buf_append_cstr (out, self->version);
    hc_buf_append_cstr (out, "\",gateway=\"");
    hc_buf_append_cstr (out, self->gateway);
    hc_buf_append_cstr (out, "\"} 1\n");

    s_head (out, "connections", "gauge",
            "Open WebSocket connections of this gateway, by dialect.");
    for (size_t i = 0; i < ARRAY_N (self->connections); i++)
        s_sample (out, "connections", "dialect", self->connections [i].label,
                  self->connections [i].value);
    s_plain (out, "handshakes", "gauge",
             "Sockets accepted whose WebSocket handshake is not done.",
             self->handshakes);
    s_plain (out, "lingering_sockets", "gauge",
             "Closed sockets still reading the client's last input.",
             self->lingering);
    s_plain (out, "buffered_bytes", "gauge",
             "Bytes held for clients: send queues and partial messages.",
             self->buffered);
    s_plain (out, "budget_cuts_total", "counter",
             "Connections cut because BUFFER_BUDGET was reached.",
             self->budget_cuts);
    s_head (out, "connections_refused_total", "counter",
            "Handshakes refused or given up, by reason.");
    for (size_t i = 0; i < ARRAY_N (self->refused); i++)
        s_sample (out, "connections_refused_total", "reason",
                  self->refused [i].label, self->refused [i].value);
    s_plain (out, "frames_in_total", "counter",
             "Client frames read.", self->frames_in);
    s_plain (out, "frames_out_total", "counter",
             "Frames written to clients.", self->frames_out);
    s_plain (out, "invalid_frames_total", "counter",
             "Client frames answered with Invalid message.", self->invalid);
    s_plain (out, "server_busy_total", "counter",
             "Frames answered with server_busy (rooms unreachable).",
             self->busy);
    s_plain (out, "undeliverable_total", "counter",
             "Deliveries to connections already closed.",
             self->undeliverable);
    s_plain (out, "lagging_disconnects_total", "counter",
             "Clients cut off for not reading (SEND_QUEUE_MAX).",
             self->lagging);
    s_plain (out, "rooms_up", "gauge",
             "1 while the rooms actor answers this gateway.",
             self->rooms_up ? 1 : 0);
    if (!self->rooms_known)
        return;                 //  no numbers rather than made-up ones
    const msg_rooms_stats_t *r = &self->rooms;
    s_plain (out, "signal_rooms", "gauge", "/signal rooms.", r->rooms);
    s_plain (out, "signal_members", "gauge", "Members of /signal rooms.",
             r->members);
    s_plain (out, "signal_queued_frames", "gauge",
             "Frames waiting in /signal room queues.", r->queued_frames);
    s_plain (out, "signal_queued_bytes", "gauge",
             "Bytes waiting in /signal room queues, as QUEUE_MAX_BYTES "
             "counts them.",
             r->queued_bytes);
    s_plain (out, "p2p_users", "gauge", "Registered p2p users.",
             r->p2p_users);
    s_plain (out, "p2p_linked_users", "gauge",
             "p2p users linked to a call partner (from ANSWER to the end).",
             r->p2p_linked);
    s_plain (out, "p2p_waiting_calls", "gauge",
             "p2p calls waiting for an offline user.", r->p2p_waiting);
    s_plain (out, "p2p_grace_sessions", "gauge",
             "p2p sessions of dropped connections waiting for RECONNECT.",
             r->p2p_grace);
}

//  ---------------------------------------------------------------------
//  Self test

void
gw_metrics_test (bool verbose)
{
    if (verbose)
        printf (" * gw_metrics: ");
    gw_metrics_t metrics = {
        "1.2.3", "0badc0de", {{3, "signal"}, {4, "p2p"}}, 10, 11, 12, 13, 14,
        15, {{1, "stopping"}, {2, "rooms_unavailable"},
             {3, "max_connections"}, {4, "max_connections_per_ip"},
             {5, "not_tls"}, {6, "origin"}, {7, "max_handshakes"},
             {8, "handshake_timeout"}, {9, "header_too_large"}},
        true, false, {0}, 0, 0, 4096, 1
    };
    hc_buf_t out;
    hc_buf_init (&out, 0);
    gw_metrics_render (&metrics, &out);
    const char *page = hc_buf_cstr (&out);
    assert (strstr (page, "homecall_build_info{version=\"1.2.3\","
                          "gateway=\"0badc0de\"} 1\n"));
    assert (strstr (page, "# TYPE homecall_connections gauge\n"
                          "homecall_connections{dialect=\"signal\"} 3\n"
                          "homecall_connections{dialect=\"p2p\"} 4\n"));
    assert (strstr (page, "homecall_connections_refused_total{reason="
                          "\"max_connections_per_ip\"} 4\n"));
    assert (strstr (page, "\nhomecall_frames_in_total 10\n"));
    assert (strstr (page, "{reason=\"origin\"} 6\n"));
    assert (strstr (page, "\nhomecall_handshakes 0\n"));
    assert (strstr (page, "\nhomecall_buffered_bytes 4096\n"));
    assert (strstr (page, "{reason=\"header_too_large\"} 9\n"));
    assert (strstr (page, "\nhomecall_lagging_disconnects_total 15\n"));
    assert (strstr (page, "\nhomecall_rooms_up 1\n"));
    //  Before rooms said anything, no rooms numbers
    assert (!strstr (page, "signal_rooms"));
    assert (page [out.len - 1] == '\n');     //  the format wants it

    metrics.rooms_known = true;
    metrics.rooms = (msg_rooms_stats_t) {5, 9, 2, 300, 7, 2, 1, 1};
    hc_buf_reset (&out);
    gw_metrics_render (&metrics, &out);
    page = hc_buf_cstr (&out);
    assert (strstr (page, "\nhomecall_signal_rooms 5\n"));
    assert (strstr (page, "\nhomecall_signal_members 9\n"));
    assert (strstr (page, "\nhomecall_signal_queued_bytes 300\n"));
    assert (strstr (page, "\nhomecall_p2p_linked_users 2\n"));
    assert (strstr (page, "\nhomecall_p2p_grace_sessions 1\n"));
    //  Every metric is declared once, before its samples
    size_t types = 0, helps = 0;
    for (const char *at = page; (at = strstr (at, "# TYPE ")); at++)
        types++;
    for (const char *at = page; (at = strstr (at, "# HELP ")); at++)
        helps++;
    assert (types == 22 && helps == 22);
    hc_buf_free (&out);
    if (verbose)
        printf ("OK\n");
}
