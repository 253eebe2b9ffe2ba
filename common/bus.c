/*  bus.c - the event bus: every actor publishes, anyone subscribes

    HWM policy: both sides hold up to 100,000 messages; past that XPUB drops
    for the subscriber that lags (ZeroMQ's PUB semantics), which is the
    documented cost of never blocking a publisher.
*/
#include "bus.h"
#include "config.h"

#define BUS_HWM 100000

typedef struct {
    zsock_t *pipe;              //  actor pipe: START, $TERM
    zsock_t *xsub;              //  publishers connect here
    zsock_t *xpub;              //  subscribers connect here
    zpoller_t *poller;
    hc_config_t cfg;
    bool started;
    bool terminated;
} self_t;

//  Moves one whole multipart message from one socket to the other
static void
s_forward (zsock_t *from, zsock_t *to)
{
    void *src = zsock_resolve (from);
    void *dst = zsock_resolve (to);
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, src, ZMQ_DONTWAIT) == -1) {
            zmq_msg_close (&part);
            return;
        }
        more = zmq_msg_more (&part);
        if (zmq_msg_send (&part, dst, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT)
            == -1)
            zmq_msg_close (&part);
    }
}

static int
s_start (self_t *self)
{
    if (zsock_bind (self->xsub, "%s", self->cfg.events_in_endpoint) == -1
    ||  zsock_bind (self->xpub, "%s", self->cfg.events_out_endpoint) == -1) {
        zsys_error ("bus: cannot bind %s / %s: %s",
                    self->cfg.events_in_endpoint,
                    self->cfg.events_out_endpoint,
                    zmq_strerror (zmq_errno ()));
        return -1;
    }
    zpoller_add (self->poller, self->xsub);
    zpoller_add (self->poller, self->xpub);
    self->started = true;
    return 0;
}

void
hc_bus_actor (zsock_t *pipe, void *args)
{
    self_t self = {0};
    self.pipe = pipe;
    self.cfg = *(const hc_config_t *) args;
    self.xsub = zsock_new (ZMQ_XSUB);
    self.xpub = zsock_new (ZMQ_XPUB);
    assert (self.xsub && self.xpub);
    zsock_set_rcvhwm (self.xsub, BUS_HWM);
    zsock_set_sndhwm (self.xpub, BUS_HWM);
    zsock_set_linger (self.xsub, 0);
    zsock_set_linger (self.xpub, 0);
    self.poller = zpoller_new (pipe, NULL);
    zsock_signal (pipe, 0);

    while (!self.terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self.poller, -1);
        if (zpoller_terminated (self.poller))
            break;
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM"))
                self.terminated = true;
            else
            if (streq (command, "START") && !self.started)
                zsock_send (pipe, "i", s_start (&self));
            else {
                zsys_error ("bus: invalid pipe command '%s'", command);
                assert (false);
            }
            zstr_free (&command);
        }
        else
        if (which == self.xsub)
            s_forward (self.xsub, self.xpub);
        else
        if (which == self.xpub)
            s_forward (self.xpub, self.xsub);       //  subscriptions
    }
    zpoller_destroy (&self.poller);
    zsock_destroy (&self.xsub);
    zsock_destroy (&self.xpub);
}

//  ---------------------------------------------------------------------
//  Self test: a publisher's message reaches a subscriber through the bus,
//  and topic filtering happens on the way

void
hc_bus_test (bool verbose)
{
    if (verbose)
        printf (" * bus: ");
    hc_config_t cfg;
    memset (&cfg, 0, sizeof (cfg));
    strcpy (cfg.events_in_endpoint, "inproc://bus-test-in");
    strcpy (cfg.events_out_endpoint, "inproc://bus-test-out");
    zactor_t *bus = zactor_new (hc_bus_actor, &cfg);
    zstr_send (bus, "START");
    int rc = -1;
    zsock_recv (bus, "i", &rc);
    assert (rc == 0);
    zsock_t *sub = zsock_new_sub (">inproc://bus-test-out", "log.");
    zsock_t *pub = zsock_new_pub (">inproc://bus-test-in");
    zsock_set_subscribe (sub, "probe");
    zsock_set_rcvtimeo (sub, 50);
    //  Subscriptions travel through the bus; probe until one arrives
    char *got = NULL;
    for (int attempt = 0; attempt < 100 && !got; attempt++) {
        zstr_sendm (pub, "probe");
        zstr_send (pub, "x");
        got = zstr_recv (sub);
    }
    assert (got && streq (got, "probe"));
    zstr_free (&got);
    char *rest = zstr_recv (sub);
    zstr_free (&rest);
    //  Drain any later probes, then check filtering
    while ((got = zstr_recv (sub)))
        zstr_free (&got);
    zstr_sendm (pub, "other.topic");
    zstr_send (pub, "nope");
    zstr_sendm (pub, "log.info");
    zstr_send (pub, "yes");
    got = zstr_recv (sub);
    assert (got && streq (got, "log.info"));
    zstr_free (&got);
    got = zstr_recv (sub);
    assert (got && streq (got, "yes"));
    zstr_free (&got);
    zsock_destroy (&pub);
    zsock_destroy (&sub);
    zactor_destroy (&bus);
    if (verbose)
        printf ("OK\n");
}
