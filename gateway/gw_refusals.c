/*  gw_refusals.c - why a handshake was refused: the answer, the record and
    the count */
#include "gw_refusals.h"
#include "gw_http.h"
#include "../common/tally.h"

#include <czmq.h>

static const char *s_names [GW_REFUSED_REASONS] = {
    "stopping", "rooms_unavailable", "max_connections",
    "max_connections_per_ip", "not_tls", "origin", "max_handshakes",
    "handshake_timeout", "header_too_large"
};

//  What a refused handshake is told
static const char *s_status [GW_REFUSED_REASONS] = {
    "503 Service Unavailable", "503 Service Unavailable",
    "503 Service Unavailable", "429 Too Many Requests", "400 Bad Request",
    "403 Forbidden", "503 Service Unavailable", "408 Request Timeout",
    "431 Request Header Fields Too Large"
};

//  /metrics shows every reason
_Static_assert (GW_REFUSED_REASONS == sizeof (((gw_metrics_t *) 0)->refused)
                                      / sizeof (gw_metric_labelled_t),
                "gw_metrics_t.refused has a slot per reason");

struct _gw_refusals_t {
    hc_log_t *log;              //  not ours
    hc_tally_t tally [GW_REFUSED_REASONS];
};

gw_refusals_t *
gw_refusals_new (hc_log_t *log)
{
    gw_refusals_t *self = (gw_refusals_t *) zmalloc (sizeof (gw_refusals_t));
    self->log = log;
    return self;
}

void
gw_refusals_destroy (gw_refusals_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

uint64_t
gw_refusals_note (gw_refusals_t *self, gw_refused_t reason, const char *peer,
                  const char *via, const char *origin, int64_t now_ms)
{
    uint64_t count = hc_tally_add (&self->tally [reason], now_ms);
    if (count && origin)
        HC_EVENT (self->log, HC_LOG_WARN, "conn.refused",
                  hc_field_str ("reason", hc_str (s_names [reason])),
                  hc_field_int ("count", (int64_t) count),
                  hc_field_str ("peer", hc_str (peer)),
                  hc_field_str ("via", hc_str (via)),
                  hc_field_str ("origin", hc_str (origin)));
    else
    if (count)
        HC_EVENT (self->log, HC_LOG_WARN, "conn.refused",
                  hc_field_str ("reason", hc_str (s_names [reason])),
                  hc_field_int ("count", (int64_t) count),
                  hc_field_str ("peer", hc_str (peer)),
                  hc_field_str ("via", hc_str (via)));
    return count;
}

void
gw_refusals_metrics (gw_refusals_t *self, gw_metrics_t *metrics)
{
    for (int i = 0; i < GW_REFUSED_REASONS; i++)
        metrics->refused [i] = (gw_metric_labelled_t) {
            self->tally [i].count, s_names [i]};
}

size_t
gw_refusals_answer (gw_refused_t reason, char *text, size_t size)
{
    return gw_http_refusal (s_status [reason], s_names [reason], text, size);
}

void
gw_refusals_test (bool verbose)
{
    if (verbose)
        printf (" * gw_refusals: ");
    gw_refusals_t *refusals = gw_refusals_new (NULL);
    assert (refusals);
    //  One record a second per reason, with the count held back
    gw_refused_t busy = GW_REFUSED_MAX_CONNECTIONS_PER_IP;
    assert (gw_refusals_note (refusals, busy, "10.0.0.1", "", NULL, 1000)
            == 1);
    assert (gw_refusals_note (refusals, busy, "10.0.0.1", "", NULL, 1500)
            == 0);
    assert (gw_refusals_note (refusals, busy, "10.0.0.2", "", NULL, 1900)
            == 0);
    //  Another reason has its own second
    assert (gw_refusals_note (refusals, GW_REFUSED_ORIGIN, "10.0.0.1", "",
                              "https://evil.example", 1900) == 1);
    assert (gw_refusals_note (refusals, busy, "10.0.0.1", "", NULL, 2000)
            == 3);

    //  /metrics counts every refusal, logged or held back
    gw_metrics_t metrics;
    memset (&metrics, 0, sizeof (metrics));
    gw_refusals_metrics (refusals, &metrics);
    assert (metrics.refused [busy].value == 4);
    assert (streq (metrics.refused [busy].label, "max_connections_per_ip"));
    assert (metrics.refused [GW_REFUSED_ORIGIN].value == 1);
    assert (metrics.refused [GW_REFUSED_STOPPING].value == 0);
    assert (streq (metrics.refused [GW_REFUSED_HEADER_TOO_LARGE].label,
                   "header_too_large"));

    //  The answer a client's library can report
    char text [256];
    size_t len = gw_refusals_answer (busy, text, sizeof (text));
    assert (len > 0 && len < sizeof (text));
    text [len] = 0;
    assert (strncmp (text, "HTTP/1.1 429 Too Many Requests\r\n", 32) == 0);
    assert (strstr (text, "max_connections_per_ip"));
    len = gw_refusals_answer (GW_REFUSED_HANDSHAKE_TIMEOUT, text,
                              sizeof (text));
    text [len] = 0;
    assert (strstr (text, " 408 Request Timeout\r\n"));
    gw_refusals_destroy (&refusals);
    gw_refusals_destroy (&refusals);
    assert (refusals == NULL);
    if (verbose)
        printf ("OK\n");
}
