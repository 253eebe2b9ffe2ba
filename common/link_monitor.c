/*  link_monitor.c - handshakes refused on a socket that accepts links
*/
#include "link_monitor.h"
#include "tally.h"

#include <assert.h>

//  Why a handshake failed, in words; each is tallied apart
typedef enum {
    WHY_NOT_ALLOWED, WHY_MISMATCH, WHY_CRYPTO, WHY_ZAP, WHY_NOT_ZMTP,
    WHY_BROKEN_OFF, WHY_COUNT
} why_t;

static const char *s_whys [WHY_COUNT] = {
    "CURVE key not allowed",
    "security mechanism mismatch (CURVE on one side only)",
    "CURVE handshake does not verify (wrong server key?)",
    "ZAP (authentication) failure",
    "not a ZMTP handshake",
    "handshake broken off (bytes that are not ZMTP, or the peer left)"
};

struct _hc_link_monitor_t {
    zactor_t *monitor;          //  CZMQ's zmonitor on the socket
    char name [32];             //  which socket, for the records
    hc_log_t *log;              //  not ours
    hc_tally_t refused [WHY_COUNT];
};

static int
s_kind (const char *name)
{
    return streq (name, "HANDSHAKE_FAILED_AUTH")
           ? ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
         : streq (name, "HANDSHAKE_FAILED_PROTOCOL")
           ? ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
           : ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
}

static why_t
s_why (int kind, uint32_t value)
{
    if (kind == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return WHY_NOT_ALLOWED;
    if (kind != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        return WHY_BROKEN_OFF;
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
        return WHY_MISMATCH;
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
        return WHY_CRYPTO;
    if ((value & 0xff000000) == 0x20000000)
        return WHY_ZAP;
    return WHY_NOT_ZMTP;
}

const char *
hc_link_monitor_why (int kind, uint32_t value)
{
    return s_whys [s_why (kind, value)];
}

//  zmonitor reads libzmq's monitor in a thread of its own, so that events
//  never wait in the monitor's queue (libzmq's I/O thread writes there)
//  while the owner is busy
hc_link_monitor_t *
hc_link_monitor_new (zsock_t *sock, const char *name, hc_log_t *log)
{
    hc_link_monitor_t *self =
        (hc_link_monitor_t *) zmalloc (sizeof (hc_link_monitor_t));
    snprintf (self->name, sizeof (self->name), "%s", name);
    self->log = log;
    self->monitor = zactor_new (zmonitor, sock);
    if (!self->monitor) {
        free (self);
        return NULL;
    }
    zstr_sendx (self->monitor, "LISTEN", "HANDSHAKE_FAILED_AUTH",
                "HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_NO_DETAIL",
                NULL);
    zstr_sendx (self->monitor, "START", NULL);
    zsock_wait (self->monitor);
    return self;
}

void
hc_link_monitor_destroy (hc_link_monitor_t **self_p)
{
    hc_link_monitor_t *self = *self_p;
    if (!self)
        return;
    zactor_destroy (&self->monitor);
    free (self);
    *self_p = NULL;
}

zsock_t *
hc_link_monitor_sock (hc_link_monitor_t *self)
{
    return zactor_sock (self->monitor);
}

//  Reads one event: its name, value and endpoint, as zmonitor sends them
static bool
s_read (hc_link_monitor_t *self, int *kind, uint32_t *value, char **endpoint)
{
    zmsg_t *msg = zmsg_recv (self->monitor);
    bool ok = msg && zmsg_size (msg) == 3;
    if (ok) {
        char *name = zmsg_popstr (msg);
        char *number = zmsg_popstr (msg);
        *endpoint = zmsg_popstr (msg);
        *kind = s_kind (name);
        *value = (uint32_t) strtol (number, NULL, 10);
        zstr_free (&name);
        zstr_free (&number);
    }
    zmsg_destroy (&msg);
    return ok;
}

void
hc_link_monitor_handle (hc_link_monitor_t *self)
{
    int kind;
    uint32_t value;
    char *endpoint = NULL;
    if (!s_read (self, &kind, &value, &endpoint))
        return;
    why_t why = s_why (kind, value);
    uint64_t count = hc_tally_add (&self->refused [why], zclock_mono ());
    if (count)
        HC_EVENT_ERROR (self->log, HC_LOG_WARN, "link.refused",
                        hc_field_str ("socket", hc_str (self->name)),
                        hc_field_str ("endpoint", hc_str (endpoint)),
                        hc_field_str ("why", hc_str (s_whys [why])),
                        hc_field_int ("count", (int64_t) count));
    zstr_free (&endpoint);
}

//  ---------------------------------------------------------------------
//  Self test: a CURVE server, and peers that speak plain ZMTP to it

void
hc_link_monitor_test (bool verbose)
{
    if (verbose)
        printf (" * link_monitor: ");
    assert (streq (hc_link_monitor_why (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400),
                   "CURVE key not allowed"));
    assert (strstr (hc_link_monitor_why (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                    ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
                    "mismatch"));

    zsock_t *server = zsock_new (ZMQ_ROUTER);
    zcert_t *cert = zcert_new ();
    zcert_apply (cert, server);
    zsock_set_curve_server (server, 1);
    hc_link_monitor_t *monitor = hc_link_monitor_new (server, "test", NULL);
    assert (monitor);
    int port = zsock_bind (server, "tcp://127.0.0.1:*");
    assert (port > 0);
    zsock_t *plain = zsock_new (ZMQ_DEALER);
    zsock_connect (plain, "tcp://127.0.0.1:%d", port);
    zpoller_t *poller = zpoller_new (hc_link_monitor_sock (monitor), NULL);
    assert (zpoller_wait (poller, 5000) == hc_link_monitor_sock (monitor));
    //  Read once by hand, to see what came
    int kind;
    uint32_t value;
    char *endpoint;
    assert (s_read (monitor, &kind, &value, &endpoint));
    assert (kind == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    assert (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH);
    char *bound = zsock_last_endpoint (server);
    assert (streq (endpoint, bound));
    zstr_free (&bound);
    zstr_free (&endpoint);
    //  Another such peer: counted (no log here)
    zsock_t *other = zsock_new (ZMQ_DEALER);
    zsock_connect (other, "tcp://127.0.0.1:%d", port);
    assert (zpoller_wait (poller, 5000) == hc_link_monitor_sock (monitor));
    hc_link_monitor_handle (monitor);
    assert (monitor->refused [WHY_MISMATCH].count == 1);
    zsock_destroy (&other);
    zpoller_destroy (&poller);
    zsock_destroy (&plain);
    hc_link_monitor_destroy (&monitor);
    hc_link_monitor_destroy (&monitor);
    zsock_destroy (&server);
    zcert_destroy (&cert);
    if (verbose)
        printf ("OK\n");
}
