/*  events.c - which topics someone on the event bus listens to

    A handful of prefixes at most ("log.", an observer's "relay."), so a
    plain array and a linear scan beat any tree.
*/
#include "events.h"

typedef struct {
    char *prefix;               //  owned, NUL-terminated
    size_t len;
    unsigned refs;              //  subscribe messages not yet undone
} entry_t;

struct _hc_events_t {
    entry_t *entries;           //  HC_EVENTS_MAX slots
    size_t size;                //  slots in use
    bool overflow;              //  more prefixes than slots: want all
};

hc_events_t *
hc_events_new (void)
{
    hc_events_t *self = (hc_events_t *) zmalloc (sizeof (hc_events_t));
    self->entries = (entry_t *) zmalloc (HC_EVENTS_MAX * sizeof (entry_t));
    return self;
}

void
hc_events_destroy (hc_events_t **self_p)
{
    assert (self_p);
    hc_events_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->size; i++)
        free (self->entries [i].prefix);
    free (self->entries);
    free (self);
    *self_p = NULL;
}

static entry_t *
s_find (hc_events_t *self, const char *prefix, size_t len)
{
    for (size_t i = 0; i < self->size; i++)
        if (self->entries [i].len == len
        &&  memcmp (self->entries [i].prefix, prefix, len) == 0)
            return &self->entries [i];
    return NULL;
}

int
hc_events_apply (hc_events_t *self, const void *data, size_t size)
{
    const char *bytes = (const char *) data;
    if (size < 1 || (bytes [0] != 0 && bytes [0] != 1)
    ||  size - 1 >= HC_TOPIC_MAX)
        return -1;
    const char *prefix = bytes + 1;
    size_t len = size - 1;
    entry_t *entry = s_find (self, prefix, len);
    if (bytes [0] == 1) {
        if (entry)
            entry->refs++;
        else
        if (self->size == HC_EVENTS_MAX)
            self->overflow = true;
        else {
            entry = &self->entries [self->size++];
            entry->prefix = (char *) zmalloc (len + 1);
            memcpy (entry->prefix, prefix, len);
            entry->len = len;
            entry->refs = 1;
        }
    }
    else
    if (entry && --entry->refs == 0) {
        free (entry->prefix);
        *entry = self->entries [--self->size];
    }
    return 0;
}

void
hc_events_read (hc_events_t *self, zsock_t *xpub)
{
    void *sock = zsock_resolve (xpub);
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (zmq_msg_recv (&msg, sock, ZMQ_DONTWAIT) != -1) {
        if (!zmq_msg_more (&msg))
            hc_events_apply (self, zmq_msg_data (&msg), zmq_msg_size (&msg));
        //  A multipart message is not a subscription; its parts are dropped
    }
    zmq_msg_close (&msg);
}

bool
hc_events_wanted (hc_events_t *self, const char *topic)
{
    if (self->overflow)
        return true;
    size_t len = strlen (topic);
    for (size_t i = 0; i < self->size; i++)
        if (self->entries [i].len <= len
        &&  memcmp (self->entries [i].prefix, topic, self->entries [i].len)
                == 0)
            return true;
    return false;
}

size_t
hc_events_size (hc_events_t *self)
{
    return self->size;
}

//  ---------------------------------------------------------------------
//  Self test

static void
s_sub (hc_events_t *self, int on, const char *prefix)
{
    char msg [64];
    msg [0] = (char) on;
    memcpy (msg + 1, prefix, strlen (prefix));
    assert (hc_events_apply (self, msg, strlen (prefix) + 1) == 0);
}

void
hc_events_test (bool verbose)
{
    if (verbose)
        printf (" * events: ");
    hc_events_t *events = hc_events_new ();
    assert (!hc_events_wanted (events, "relay.forwarded"));
    s_sub (events, 1, "log.");
    s_sub (events, 1, "relay.");
    assert (hc_events_wanted (events, "relay.forwarded"));
    assert (hc_events_wanted (events, "log.info"));
    assert (!hc_events_wanted (events, "room.join"));
    assert (!hc_events_wanted (events, "relay"));   //  shorter than prefix
    //  Refcounted: gone only when every subscribe is undone
    s_sub (events, 1, "relay.");
    s_sub (events, 0, "relay.");
    assert (hc_events_wanted (events, "relay.queued"));
    s_sub (events, 0, "relay.");
    assert (!hc_events_wanted (events, "relay.queued"));
    assert (hc_events_size (events) == 1);
    //  Unsubscribing what was never subscribed changes nothing
    s_sub (events, 0, "nothing");
    assert (hc_events_size (events) == 1);
    //  The empty prefix matches everything
    s_sub (events, 1, "");
    assert (hc_events_wanted (events, "room.join"));
    s_sub (events, 0, "");
    assert (!hc_events_wanted (events, "room.join"));
    //  Anything else is not a subscription
    assert (hc_events_apply (events, "", 0) == -1);
    assert (hc_events_apply (events, "\x02x", 2) == -1);
    assert (hc_events_apply (events, "rx", 2) == -1);
    char huge [HC_TOPIC_MAX + 1] = {1};
    assert (hc_events_apply (events, huge, sizeof (huge)) == -1);
    //  More prefixes than slots: everything counts as wanted
    for (int i = 0; i <= HC_EVENTS_MAX; i++) {
        char prefix [16];
        snprintf (prefix, sizeof (prefix), "p%d.", i);
        s_sub (events, 1, prefix);
    }
    assert (hc_events_wanted (events, "anything"));

    //  Over a real XPUB: what a SUB asks for arrives as messages
    zsock_t *xpub = zsock_new_xpub ("@inproc://hc-events-test");
    zsock_t *sub = zsock_new_sub (">inproc://hc-events-test", "conn.");
    hc_events_t *live = hc_events_new ();
    zpoller_t *poller = zpoller_new (xpub, NULL);
    assert (zpoller_wait (poller, 1000) == xpub);
    hc_events_read (live, xpub);
    assert (hc_events_wanted (live, "conn.open"));
    zsock_destroy (&sub);
    assert (zpoller_wait (poller, 1000) == xpub);
    hc_events_read (live, xpub);
    assert (!hc_events_wanted (live, "conn.open"));
    zpoller_destroy (&poller);
    zsock_destroy (&xpub);
    hc_events_destroy (&live);
    hc_events_destroy (&events);
    assert (events == NULL);
    if (verbose)
        printf ("OK\n");
}
