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

bool
hc_log_pub_wait (zsock_t *pub, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (pub, NULL);
    bool subscribed = false;
    if (zpoller_wait (poller, timeout_ms) == pub) {
        zframe_t *subscription = zframe_recv (pub);
        subscribed = subscription && zframe_size (subscription) > 0
                  && zframe_data (subscription) [0] == 1;
        zframe_destroy (&subscription);
    }
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
hc_log_emit (hc_log_t *self, hc_log_level_t level, const char *event,
             const hc_field_t *fields, size_t fields_n)
{
    if (!hc_log_enabled (self, level))
        return;
    msg_log_t record = {level, hc_log_now_us (), hc_str (self->actor),
                        hc_str (event), fields, fields_n};
    if (self->hook)
        self->hook (self->hook_ctx, &record);
    if (!self->pub)
        return;
    if (msg_enc_log (self->enc, &record)) {
        self->dropped++;        //  a bug of ours: too many fields
        return;
    }
    char topic [16];
    int topic_len = snprintf (topic, sizeof (topic), "%s%s", MSG_LOG_TOPIC,
                              hc_log_level_name (level));
    void *sock = zsock_resolve (self->pub);
    //  PUB never blocks; DONTWAIT also covers a full pipe to the proxy
    if (zmq_send (sock, topic, (size_t) topic_len, ZMQ_SNDMORE | ZMQ_DONTWAIT)
        == -1) {
        self->dropped++;
        return;
    }
    if (zmq_send (sock, msg_enc_data (self->enc), msg_enc_size (self->enc),
                  ZMQ_DONTWAIT) == -1)
        self->dropped++;
}

uint64_t
hc_log_dropped (hc_log_t *self)
{
    return self->dropped;
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
    if (verbose)
        printf ("OK\n");
}
