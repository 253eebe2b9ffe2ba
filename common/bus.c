/*  bus.c - the event bus: every actor publishes, anyone subscribes

    HWM policy: both sides hold up to 100,000 messages; past that XPUB drops
    for the subscriber that lags (ZeroMQ's PUB semantics), which is the
    documented cost of never blocking a publisher.

    The bus announces itself (bus.ready, with the endpoints it bound, ports
    resolved) once the first subscription reaches its own publisher, so
    the record is not lost to a notifier that is not listening yet.
*/
#include "bus.h"
#include "config.h"
#include "endpoints.h"
#include "link.h"
#include "link_monitor.h"
#include "log.h"
#include "tally.h"

#define BUS_HWM 100000
#define MAX_PARTS 2             //  topic and body
#define DRAIN_BATCH 1000        //  records per wake-up before polling again
#define GATHER_MS 1             //  rest after records, for more to gather

typedef struct {
    zsock_t *pipe;              //  actor pipe: START, $TERM
    zsock_t *xsub;              //  publishers connect here
    zsock_t *xpub;              //  subscribers connect here
    zsock_t *pub;               //  our own records, into xsub
    zpoller_t *poller;          //  pipe, xsub, xpub, pub until announced
    hc_config_t cfg;            //  our copy of the settings
    hc_log_t *log;              //  bus.ready, bus.malformed
    msg_dec_t *dec;             //  checks every record forwarded
    bool central;               //  the bus itself, not a relay
    char in [HC_CFG_TEXT];      //  events-in as bound (or as connected to)
    char out [HC_CFG_TEXT];     //  events-out as bound
    char observer [HC_CFG_TEXT];    //  observer endpoint as bound
    bool announced;             //  bus.ready went out
    bool started;               //  sockets bound
    bool terminated;            //  $TERM received
    hc_tally_t malformed;       //  messages dropped, logged once a second
    hc_link_monitor_t *monitor_in;  //  refused handshakes on events-in
    hc_link_monitor_t *monitor_out; //  ...on events-out and the observer one
} self_t;

static void
s_malformed (self_t *self, const char *why)
{
    uint64_t count = hc_tally_add (&self->malformed, zclock_mono ());
    if (count)
        HC_EVENT_ERROR (self->log, HC_LOG_WARN, "bus.malformed",
                        hc_field_int ("count", (int64_t) count),
                        hc_field_str ("why", hc_str (why)));
}

//  Reads one whole message (at most MAX_PARTS kept); returns its part count
static int
s_recv (zsock_t *from, zmq_msg_t parts [MAX_PARTS])
{
    void *src = zsock_resolve (from);
    int n = 0;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, src, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&part);
            break;
        }
        more = zmq_msg_more (&part);
        if (n < MAX_PARTS)
            parts [n] = part;   //  moved, closed by the caller
        else
            zmq_msg_close (&part);
        n++;
    }
    return n;
}

static void
s_close_parts (zmq_msg_t parts [MAX_PARTS], int n)
{
    for (int i = 0; i < n && i < MAX_PARTS; i++)
        zmq_msg_close (&parts [i]);
}

//  A topic we could have sent: printable ASCII, short
static bool
s_topic_valid (zmq_msg_t *topic)
{
    size_t size = zmq_msg_size (topic);
    const unsigned char *p = (const unsigned char *) zmq_msg_data (topic);
    if (size == 0 || size >= HC_TOPIC_MAX)
        return false;
    for (size_t i = 0; i < size; i++)
        if (p [i] <= 0x20 || p [i] >= 0x7f)
            return false;
    return true;
}

//  Publishers to subscribers: [topic][record], or the notifier's probe.
//  False if none was waiting.
static bool
s_forward_records (self_t *self)
{
    zmq_msg_t parts [MAX_PARTS];
    int n = s_recv (self->xsub, parts);
    if (n == 0)
        return false;
    const char *why = NULL;
    msg_log_t record;
    if (n != 2)
        why = "wrong number of parts";
    else
    if (!s_topic_valid (&parts [0]))
        why = "bad topic";
    else
    if (zmq_msg_size (&parts [0]) == strlen (HC_BUS_PROBE)
    &&  memcmp (zmq_msg_data (&parts [0]), HC_BUS_PROBE,
                strlen (HC_BUS_PROBE)) == 0)
        why = zmq_msg_size (&parts [1]) == 0 ? NULL : "probe with a body";
    else
    if (msg_dec_log (self->dec, zmq_msg_data (&parts [1]),
                     zmq_msg_size (&parts [1]), &record))
        why = msg_dec_error (self->dec);
    if (why)
        s_malformed (self, why);
    else {
        void *dst = zsock_resolve (self->xpub);
        for (int i = 0; i < 2; i++)
            if (zmq_msg_send (&parts [i], dst,
                              (i == 0 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT)
                == -1)
                break;          //  unsent parts are closed below
    }
    s_close_parts (parts, n);
    return true;
}

//  Subscribers to publishers: one subscribe or unsubscribe message each
static void
s_forward_subscriptions (self_t *self)
{
    zmq_msg_t parts [MAX_PARTS];
    int n = s_recv (self->xpub, parts);
    if (n == 0)
        return;
    const unsigned char *data = n == 1
        ? (const unsigned char *) zmq_msg_data (&parts [0]) : NULL;
    size_t size = n == 1 ? zmq_msg_size (&parts [0]) : 0;
    if (!data || size < 1 || size > HC_TOPIC_MAX || data [0] > 1)
        s_malformed (self, "not a subscription");
    else
        zmq_msg_send (&parts [0], zsock_resolve (self->xsub), ZMQ_DONTWAIT);
    s_close_parts (parts, n);
}

//  Binds a tcp endpoint, keeping the endpoint as bound (port resolved)
static int
s_bind (self_t *self, zsock_t *sock, const char *endpoint,
        char bound [HC_CFG_TEXT])
{
    if (hc_link_bind (sock, endpoint, &self->cfg) == -1) {
        zsys_error ("bus: cannot bind %s: %s", endpoint,
                    zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (bound) {
        char *last = zsock_last_endpoint (sock);
        snprintf (bound, HC_CFG_TEXT, "%s", last ? last : endpoint);
        zstr_free (&last);
    }
    return 0;
}

static int
s_start (self_t *self)
{
    const hc_config_t *cfg = &self->cfg;
    const char *in_local = hc_endpoint_publish (cfg);
    const char *out_local = hc_endpoint_bus_out_local (cfg);
    if (s_bind (self, self->xsub, in_local, NULL)
    ||  s_bind (self, self->xpub, out_local, NULL))
        return -1;
    snprintf (self->in, HC_CFG_TEXT, "%s", cfg->events_in_endpoint);
    snprintf (self->out, HC_CFG_TEXT, "%s", cfg->events_out_endpoint);
    if (self->central) {
        if (!streq (in_local, cfg->events_in_endpoint)
        &&  s_bind (self, self->xsub, cfg->events_in_endpoint, self->in))
            return -1;
        if (!streq (out_local, cfg->events_out_endpoint)
        &&  s_bind (self, self->xpub, cfg->events_out_endpoint, self->out))
            return -1;
        if (cfg->observer_endpoint [0]
        &&  !streq (cfg->observer_endpoint, cfg->events_out_endpoint)
        &&  s_bind (self, self->xpub, cfg->observer_endpoint, self->observer))
            return -1;
    }
    else
    if (hc_link_connect (self->xpub, cfg->events_in_endpoint, cfg) == -1) {
        zsys_error ("bus: cannot connect to %s", cfg->events_in_endpoint);
        return -1;
    }
    self->pub = hc_log_pub_new (in_local);
    if (!self->pub)
        return -1;
    self->log = hc_log_new (self->pub, "bus", hc_config_publish_level (cfg));
    hc_log_track (self->log);
    //  Refused handshakes on link endpoints are logged; monitors go first
    //  in the poller, so busy sockets never hold their events back
    if (self->central) {
        bool out_linked = !hc_endpoint_is_inproc (cfg->events_out_endpoint)
                       || (cfg->observer_endpoint [0]
                           && !hc_endpoint_is_inproc (cfg->observer_endpoint));
        if (!hc_endpoint_is_inproc (cfg->events_in_endpoint))
            self->monitor_in = hc_link_monitor_new (self->xsub, "events-in",
                                                self->log);
        if (out_linked)
            self->monitor_out = hc_link_monitor_new (self->xpub, "events-out",
                                                 self->log);
    }
    if (self->monitor_in)
        zpoller_add (self->poller, hc_link_monitor_sock (self->monitor_in));
    if (self->monitor_out)
        zpoller_add (self->poller, hc_link_monitor_sock (self->monitor_out));
    zpoller_add (self->poller, self->xsub);
    zpoller_add (self->poller, self->xpub);
    zpoller_add (self->poller, self->pub);
    self->started = true;
    return 0;
}

//  Someone subscribed to our own records: say where the bus is
static void
s_handle_pub (self_t *self)
{
    hc_log_read_subscriptions (self->log);
    if (self->announced)
        return;
    self->announced = true;
    HC_LOG (self->log, HC_LOG_INFO, "bus.ready",
            hc_field_str ("role", hc_str (self->central ? "bus" : "relay")),
            hc_field_str ("in", hc_str (self->in)),
            hc_field_str ("out", hc_str (self->out)),
            hc_field_str ("observer", hc_str (self->observer)));
}

static void
s_handle_pipe (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "START") && !self->started)
        zsock_send (self->pipe, "i", s_start (self));
    else {
        zsys_error ("bus: invalid pipe command '%s'", command);
        assert (false);
    }
    zstr_free (&command);
}

void
hc_bus_actor (zsock_t *pipe, void *args)
{
    //  Named, so top -H and perf tell the actors apart
    pthread_setname_np (pthread_self (), "hc-bus");
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->cfg = *(const hc_config_t *) args;
    self->central = hc_endpoints_bus_central (&self->cfg);
    self->xsub = zsock_new (ZMQ_XSUB);
    self->xpub = zsock_new (ZMQ_XPUB);
    self->dec = msg_dec_new ();
    assert (self->xsub && self->xpub && self->dec);
    zsock_set_rcvhwm (self->xsub, BUS_HWM);
    zsock_set_sndhwm (self->xpub, BUS_HWM);
    zsock_set_linger (self->xsub, 0);
    zsock_set_linger (self->xpub, 0);
    self->poller = zpoller_new (pipe, NULL);
    zsock_signal (pipe, 0);

    while (!self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, -1);
        if (zpoller_terminated (self->poller))
            break;
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->xsub) {
            //  Every record waiting, then a moment for more to gather: at
            //  a relay's rate, a wake-up per record (poll, eventfd reads
            //  and writes here and in the publisher) costs more than the
            //  record; a record is at most that much later. Read until
            //  there is none: a successful read makes no system call,
            //  where each ZMQ_EVENTS check would (a poll and a getpid).
            for (int n = 0; n < DRAIN_BATCH && s_forward_records (self); n++)
                ;
            zclock_sleep (GATHER_MS);
        }
        else
        if (which == self->xpub)
            s_forward_subscriptions (self);
        else
        if (which == self->pub)
            s_handle_pub (self);
        else
        if (self->monitor_in && which == hc_link_monitor_sock (self->monitor_in))
            hc_link_monitor_handle (self->monitor_in);
        else
        if (self->monitor_out && which == hc_link_monitor_sock (self->monitor_out))
            hc_link_monitor_handle (self->monitor_out);
    }
    hc_link_monitor_destroy (&self->monitor_in);
    hc_link_monitor_destroy (&self->monitor_out);
    zpoller_destroy (&self->poller);
    hc_log_destroy (&self->log);
    msg_dec_destroy (&self->dec);
    zsock_destroy (&self->pub);
    zsock_destroy (&self->xsub);
    zsock_destroy (&self->xpub);
    free (self);
}

//  ---------------------------------------------------------------------
//  Self test: a publisher's record reaches a subscriber through the bus,
//  topic filtering happens on the way, malformed messages stop at the bus
//  (the relay role is covered by the split deployment's tests)

static zactor_t *
s_bus_start (hc_config_t *cfg)
{
    zactor_t *bus = zactor_new (hc_bus_actor, cfg);
    zstr_send (bus, "START");
    int rc = -1;
    zsock_recv (bus, "i", &rc);
    assert (rc == 0);
    return bus;
}

static void
s_send_record (zsock_t *pub, const char *topic, const char *event)
{
    msg_enc_t *enc = msg_enc_new ();
    msg_log_t record = {HC_LOG_INFO, 1, HC_STR_LIT ("test"), hc_str (event),
                        NULL, 0};
    assert (msg_enc_log (enc, &record) == 0);
    zsock_send (pub, "sb", topic, msg_enc_data (enc), msg_enc_size (enc));
    msg_enc_destroy (&enc);
}

//  The event name of the next record sub receives, or NULL after timeout
static char *
s_recv_event (zsock_t *sub, char **topic)
{
    zmsg_t *msg = zmsg_recv (sub);
    if (!msg)
        return NULL;
    *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    msg_dec_t *dec = msg_dec_new ();
    msg_log_t record;
    char *event = NULL;
    if (body && msg_dec_log (dec, zframe_data (body), zframe_size (body),
                             &record) == 0)
        event = zsys_sprintf ("%.*s", (int) record.event.len,
                              record.event.ptr);
    msg_dec_destroy (&dec);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    return event;
}

//  Sends probes until one comes through (subscriptions travel async),
//  then drains what else came; notes whether bus.ready was among it
static void
s_until_linked (zsock_t *pub, zsock_t *sub, bool *ready)
{
    char *topic = NULL, *event = NULL;
    bool linked = false;
    for (int attempt = 0; attempt < 200 && !linked; attempt++) {
        s_send_record (pub, "probe.x", "probe");
        while (!linked && (event = s_recv_event (sub, &topic))) {
            linked = streq (event, "probe");
            *ready |= streq (event, "bus.ready");
            zstr_free (&topic);
            zstr_free (&event);
        }
    }
    assert (linked);
    while ((event = s_recv_event (sub, &topic))) {
        *ready |= streq (event, "bus.ready");
        zstr_free (&topic);
        zstr_free (&event);
    }
}

void
hc_bus_test (bool verbose)
{
    if (verbose)
        printf (" * bus: ");
    hc_config_t cfg;
    memset (&cfg, 0, sizeof (cfg));
    strcpy (cfg.actors, "rooms");
    strcpy (cfg.rooms_endpoint, "inproc://bus-test-rooms");
    strcpy (cfg.events_in_endpoint, "inproc://bus-test-in");
    strcpy (cfg.events_out_endpoint, "inproc://bus-test-out");
    strcpy (cfg.observer_endpoint, "tcp://127.0.0.1:*");
    cfg.link_heartbeat_ms = 100;
    cfg.link_timeout_ms = 1000;
    cfg.log_level = HC_LOG_INFO;
    zactor_t *bus = s_bus_start (&cfg);
    zsock_t *sub = zsock_new_sub (">inproc://bus-test-out", "log.");
    zsock_t *pub = zsock_new_pub (">inproc://bus-test-in");
    zsock_set_subscribe (sub, "probe.");
    zsock_set_rcvtimeo (sub, 50);
    bool ready = false;
    s_until_linked (pub, sub, &ready);

    //  Filtering by topic, and the bus's own announcement
    s_send_record (pub, "other.topic", "nope");
    s_send_record (pub, "log.info", "yes");
    char *topic = NULL, *event = NULL;
    bool yes = false;
    zsock_set_rcvtimeo (sub, 1000);
    while (!yes && (event = s_recv_event (sub, &topic))) {
        assert (streq (topic, "log.info"));
        ready |= streq (event, "bus.ready");
        yes = streq (event, "yes");
        zstr_free (&topic);
        zstr_free (&event);
    }
    assert (yes && ready);

    //  Malformed messages stop at the bus; the good one behind them passes
    zsock_send (pub, "s", "log.info");                  //  one part
    zsock_send (pub, "ss", "log.info", "not msgpack");
    zsock_send (pub, "sss", "log.info", "a", "b");
    zsock_send (pub, "sb", "bad topic", "", 0);
    s_send_record (pub, "log.info", "after");
    bool malformed = false, after = false;
    while (!(after && malformed) && (event = s_recv_event (sub, &topic))) {
        malformed |= streq (event, "bus.malformed");
        after |= streq (event, "after");
        assert (streq (event, "after") || streq (event, "bus.malformed"));
        zstr_free (&topic);
        zstr_free (&event);
    }
    assert (after && malformed);

    zsock_destroy (&pub);
    zsock_destroy (&sub);
    zactor_destroy (&bus);
    if (verbose)
        printf ("OK\n");
}
