/*  log.c - structured log records, published as messages on the event bus */
#include "log.h"

#include <assert.h>
#include <sys/time.h>

struct _hc_log_t {
    zsock_t *pub;               //  event bus publisher, not owned
    char actor [32];            //  who is logging
    hc_log_level_t min_level;   //  records below are not even encoded
    msg_enc_t *enc;             //  reused encoding buffer
    hc_log_hook_fn *hook;       //  optional: sees every record (tests)
    void *hook_ctx;
    uint64_t dropped;           //  records the bus could not take
    uint64_t sent;              //  messages handed to the bus
    hc_events_t *events;        //  what the bus listens to (once tracked)
};

zsock_t *
hc_log_pub_new (const char *endpoint)
{
    zsock_t *pub = zsock_new (ZMQ_XPUB);
    if (!pub)
        return NULL;
    zsock_set_sndhwm (pub, 100000);
    zsock_set_linger (pub, 200);
    if (zsock_connect (pub, "%s", endpoint)) {
        zsock_destroy (&pub);
        return NULL;
    }
    return pub;
}

//  The subscription stays queued, for hc_log_read_subscriptions: an XPUB
//  hears a subscribe before any unsubscribe, so readable means subscribed
bool
hc_log_pub_wait (zsock_t *pub, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (pub, NULL);
    bool subscribed = zpoller_wait (poller, timeout_ms) == pub;
    zpoller_destroy (&poller);
    return subscribed;
}

hc_log_t *
hc_log_new (zsock_t *pub, const char *actor, hc_log_level_t min_level)
{
    hc_log_t *self = (hc_log_t *) zmalloc (sizeof (hc_log_t));
    self->pub = pub;
    snprintf (self->actor, sizeof (self->actor), "%s", actor);
    self->min_level = min_level;
    self->enc = msg_enc_new ();
    if (!self->enc) {
        free (self);
        return NULL;
    }
    return self;
}

void
hc_log_destroy (hc_log_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        hc_events_destroy (&(*self_p)->events);
        msg_enc_destroy (&(*self_p)->enc);
        free (*self_p);
        *self_p = NULL;
    }
}

void
hc_log_set_hook (hc_log_t *self, hc_log_hook_fn *hook, void *ctx)
{
    self->hook = hook;
    self->hook_ctx = ctx;
}

bool
hc_log_enabled (hc_log_t *self, hc_log_level_t level)
{
    return self && level >= self->min_level;
}

int64_t
hc_log_now_us (void)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    return (int64_t) tv.tv_sec * 1000000 + tv.tv_usec;
}

void
hc_log_track (hc_log_t *self)
{
    if (!self->events)
        self->events = hc_events_new ();
}

void
hc_log_read_subscriptions (hc_log_t *self)
{
    if (self->events && self->pub)
        hc_events_read (self->events, self->pub);
}

bool
hc_log_wait_subscribed (hc_log_t *self, int timeout_ms)
{
    if (!self->events)
        return hc_log_pub_wait (self->pub, timeout_ms);
    int64_t until = zclock_mono () + timeout_ms;
    while (hc_events_size (self->events) == 0) {
        int64_t left = until - zclock_mono ();
        if (left <= 0 || !hc_log_pub_wait (self->pub, (int) left))
            return false;
        hc_log_read_subscriptions (self);
    }
    return true;
}

//  "log.info", or prefix + event; false if it does not fit. Two copies,
//  not snprintf: it runs three times for every relay's record.
static bool
s_topic (char topic [HC_TOPIC_MAX], const char *prefix, const char *event)
{
    size_t prefix_len = strlen (prefix), event_len = strlen (event);
    if (prefix_len + event_len == 0 || prefix_len + event_len >= HC_TOPIC_MAX)
        return false;
    memcpy (topic, prefix, prefix_len);
    memcpy (topic + prefix_len, event, event_len + 1);
    return true;
}

static bool
s_log_wanted (hc_log_t *self, hc_log_level_t level)
{
    if (!hc_log_enabled (self, level))
        return false;
    if (!self->events || !self->pub)
        return true;
    char topic [HC_TOPIC_MAX];
    return s_topic (topic, MSG_LOG_TOPIC, hc_log_level_name (level))
        && hc_events_wanted (self->events, topic);
}

static bool
s_event_wanted (hc_log_t *self, const char *topic)
{
    return self && self->pub
        && (!self->events || hc_events_wanted (self->events, topic));
}

bool
hc_log_wants (hc_log_t *self, hc_log_level_t level, const char *prefix,
              const char *event)
{
    if (hc_log_enabled (self, level)
    &&  (self->hook || s_log_wanted (self, level)))
        return true;
    char topic [HC_TOPIC_MAX];
    return prefix && s_topic (topic, prefix, event)
        && s_event_wanted (self, topic);
}

//  [topic][body], never blocking
static void
s_send (hc_log_t *self, const char *topic)
{
    void *sock = zsock_resolve (self->pub);
    //  PUB never blocks; DONTWAIT also covers a full pipe to the proxy
    if (zmq_send (sock, topic, strlen (topic), ZMQ_SNDMORE | ZMQ_DONTWAIT)
        == -1) {
        self->dropped++;
        return;
    }
    if (zmq_send (sock, msg_enc_data (self->enc), msg_enc_size (self->enc),
                  ZMQ_DONTWAIT) == -1)
        self->dropped++;
    else
        self->sent++;
}

void
hc_log_publish (hc_log_t *self, hc_log_level_t level, const char *prefix,
                const char *event, const hc_field_t *fields, size_t fields_n)
{
    if (!self)
        return;
    char event_topic [HC_TOPIC_MAX];
    bool as_event = prefix && s_topic (event_topic, prefix, event)
                 && s_event_wanted (self, event_topic);
    bool as_log = s_log_wanted (self, level);
    msg_log_t record = {level, hc_log_now_us (), hc_str (self->actor),
                        hc_str (event), fields, fields_n};
    if (self->hook && hc_log_enabled (self, level))
        self->hook (self->hook_ctx, &record);
    if (!self->pub || !(as_log || as_event))
        return;
    if (msg_enc_log (self->enc, &record)) {
        self->dropped++;        //  a bug of ours: too many fields
        return;
    }
    if (as_log) {
        char topic [HC_TOPIC_MAX];
        s_topic (topic, MSG_LOG_TOPIC, hc_log_level_name (level));
        s_send (self, topic);
    }
    if (as_event)
        s_send (self, event_topic);
}

void
hc_log_emit (hc_log_t *self, hc_log_level_t level, const char *event,
             const hc_field_t *fields, size_t fields_n)
{
    if (hc_log_enabled (self, level))
        hc_log_publish (self, level, NULL, event, fields, fields_n);
}

uint64_t
hc_log_dropped (hc_log_t *self)
{
    return self->dropped;
}

uint64_t
hc_log_sent (hc_log_t *self)
{
    return self->sent;
}

//  ---------------------------------------------------------------------
//  Self test: records reach a subscriber with their topic, and the level
//  filter keeps quieter records from being encoded at all.

static void
s_count_hook (void *ctx, const msg_log_t *record)
{
    (void) record;
    (*(int *) ctx)++;
}

void
hc_log_test (bool verbose)
{
    if (verbose)
        printf (" * log: ");
    zsock_t *pub = zsock_new_pub ("@inproc://hc-log-test");
    zsock_t *sub = zsock_new_sub (">inproc://hc-log-test", "log.");
    assert (pub && sub);
    //  inproc, bind first: the PUB sees the subscription on its first send

    hc_log_t *log = hc_log_new (pub, "rooms", HC_LOG_INFO);
    int hooked = 0;
    hc_log_set_hook (log, s_count_hook, &hooked);
    HC_LOG (log, HC_LOG_DEBUG, "quiet", hc_field_int ("n", 1));
    HC_LOG (log, HC_LOG_WARN, "relay.dropped",
            hc_field_str ("room", HC_STR_LIT ("w1")), hc_field_int ("size", 9));
    assert (hooked == 1);

    zsock_set_rcvtimeo (sub, 1000);
    zmsg_t *msg = zmsg_recv (sub);
    assert (msg && zmsg_size (msg) == 2);
    char *topic = zmsg_popstr (msg);
    assert (streq (topic, "log.warn"));
    zstr_free (&topic);
    zframe_t *body = zmsg_pop (msg);
    msg_dec_t *dec = msg_dec_new ();
    msg_log_t record;
    assert (msg_dec_log (dec, zframe_data (body), zframe_size (body), &record)
            == 0);
    assert (record.level == HC_LOG_WARN);
    assert (hc_str_eq_cstr (record.actor, "rooms"));
    assert (hc_str_eq_cstr (record.event, "relay.dropped"));
    assert (record.fields_n == 2 && record.fields [1].num == 9);
    msg_dec_destroy (&dec);
    zframe_destroy (&body);
    zmsg_destroy (&msg);
    assert (hc_log_dropped (log) == 0);

    hc_log_destroy (&log);
    zsock_destroy (&sub);
    zsock_destroy (&pub);

    //  Events: with tracking on, only what someone subscribed to is sent
    pub = hc_log_pub_new ("inproc://hc-log-events");
    zsock_t *bus = zsock_new_xsub ("@inproc://hc-log-events");
    assert (pub && bus);
    log = hc_log_new (pub, "gateway", HC_LOG_WARN);
    hc_log_track (log);
    zsock_send (bus, "b", "\x01relay.", 7);
    assert (hc_log_pub_wait (pub, 1000));
    hc_log_read_subscriptions (log);
    assert (!hc_log_wants (log, HC_LOG_INFO, "", "room.join"));
    HC_EVENT (log, HC_LOG_INFO, "room.join", hc_field_int ("n", 1));
    assert (hc_log_sent (log) == 0);            //  nobody listens
    HC_EVENT (log, HC_LOG_INFO, "relay.forwarded", hc_field_int ("size", 5));
    assert (hc_log_sent (log) == 1);            //  the event, no log record
    zsock_set_rcvtimeo (bus, 1000);
    msg = zmsg_recv (bus);
    assert (msg && zmsg_size (msg) == 2);
    topic = zmsg_popstr (msg);
    assert (streq (topic, "relay.forwarded"));
    zstr_free (&topic);
    zmsg_destroy (&msg);
    //  Errors go under error.<event>; a subscribed log level goes as well
    zsock_send (bus, "b", "\x01" "error.", 7);
    zsock_send (bus, "b", "\x01log.warn", 9);
    for (int i = 0; i < 100 && !(hc_log_wants (log, HC_LOG_WARN, NULL, "x")
                                 && hc_log_wants (log, HC_LOG_DEBUG,
                                                  MSG_ERROR_TOPIC, "x"));
         i++) {
        hc_log_pub_wait (pub, 100);
        hc_log_read_subscriptions (log);
    }
    HC_EVENT_ERROR (log, HC_LOG_WARN, "bus.malformed", hc_field_int ("n", 1));
    assert (hc_log_sent (log) == 3);
    char *first = NULL, *second = NULL;
    msg = zmsg_recv (bus);
    first = zmsg_popstr (msg);
    zmsg_destroy (&msg);
    msg = zmsg_recv (bus);
    second = zmsg_popstr (msg);
    zmsg_destroy (&msg);
    assert (streq (first, "log.warn") && streq (second, "error.bus.malformed"));
    zstr_free (&first);
    zstr_free (&second);
    hc_log_destroy (&log);
    zsock_destroy (&bus);
    zsock_destroy (&pub);
    if (verbose)
        printf ("OK\n");
}
