/*  gw_session.c - one WebSocket connection's state in the gateway */
#include "gw_session.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gw_outbuf_t *
gw_outbuf_new (const void *payload, size_t len)
{
    gw_outbuf_t *self = (gw_outbuf_t *) malloc (sizeof (gw_outbuf_t)
                                                + LWS_PRE + len);
    if (!self)
        return NULL;
    self->refs = 1;
    self->len = len;
    memcpy (self->data + LWS_PRE, payload, len);
    return self;
}

void
gw_outbuf_release (gw_outbuf_t **self_p)
{
    if (*self_p) {
        if (--(*self_p)->refs == 0)
            free (*self_p);
        *self_p = NULL;
    }
}

void
gw_session_clear (gw_session_t *self)
{
    hc_buf_free (&self->rx);
    gw_session_drop_queue (self);
    free (self->close_reason);
    self->close_reason = NULL;
}

void
gw_session_drop_queue (gw_session_t *self)
{
    while (self->ring_len) {
        gw_outbuf_t *buf = gw_session_pop (self);
        gw_outbuf_release (&buf);
    }
    free (self->ring);
    self->ring = NULL;
    self->ring_cap = 0;
    self->out_bytes = 0;
}

size_t
gw_session_trim (gw_session_t *self)
{
    size_t freed = 0;
    if (!self->rx_open && self->rx.cap) {
        freed = self->rx.cap;
        hc_buf_free (&self->rx);
    }
    if (!self->ring_len && self->ring) {
        free (self->ring);
        self->ring = NULL;
        self->ring_cap = self->ring_head = 0;
    }
    return freed;
}

int
gw_session_push (gw_session_t *self, gw_outbuf_t *buf, size_t max_bytes)
{
    if (self->out_bytes + buf->len > max_bytes)
        return -1;
    if (self->ring_len == self->ring_cap) {
        uint32_t cap = self->ring_cap ? self->ring_cap * 2 : 8;
        gw_outbuf_t **ring = (gw_outbuf_t **) malloc (cap * sizeof (*ring));
        if (!ring)
            return -1;
        for (uint32_t i = 0; i < self->ring_len; i++)
            ring [i] = self->ring [(self->ring_head + i) % self->ring_cap];
        free (self->ring);
        self->ring = ring;
        self->ring_cap = cap;
        self->ring_head = 0;
    }
    self->ring [(self->ring_head + self->ring_len) % self->ring_cap] = buf;
    self->ring_len++;
    self->out_bytes += buf->len;
    buf->refs++;
    return 0;
}

gw_outbuf_t *
gw_session_pop (gw_session_t *self)
{
    if (self->ring_len == 0)
        return NULL;
    gw_outbuf_t *buf = self->ring [self->ring_head];
    self->ring_head = (self->ring_head + 1) % self->ring_cap;
    self->ring_len--;
    self->out_bytes -= buf->len;
    return buf;
}

gw_rate_t
gw_session_rate (gw_session_t *self, double now, double rate, double burst)
{
    if (rate <= 0)
        return GW_RATE_OK;
    if (self->refilled_at == 0) {
        self->tokens = burst;
        self->refilled_at = now;
    }
    double tokens = self->tokens + (now - self->refilled_at) * rate;
    self->tokens = (float) (tokens > burst ? burst : tokens);
    self->refilled_at = now;
    if (self->tokens >= 1) {
        self->tokens -= 1;
        self->flood = 0;
        return GW_RATE_OK;
    }
    //  A client that keeps sending after a whole burst's worth of dropped
    //  frames is not a browser having a moment
    if (++self->flood > burst)
        return GW_RATE_CLOSE;
    if (now - self->told_at >= 1.0) {
        self->told_at = now;
        return GW_RATE_DROP_TELL;
    }
    return GW_RATE_DROP;
}

void
gw_session_close_after_flush (gw_session_t *self, uint16_t code,
                              const char *reason)
{
    if (self->closing)
        return;                 //  the first reason wins
    self->closing = true;
    self->close_code = code;
    //  A close frame holds at most 123 bytes of reason
    self->close_reason = strndup (reason, 123);
}

void
gw_session_test (bool verbose)
{
    if (verbose)
        printf (" * gw_session: ");
    gw_session_t session;
    memset (&session, 0, sizeof (session));
    //  Queue: FIFO, shared buffers counted, byte bound
    gw_outbuf_t *a = gw_outbuf_new ("aaaa", 4);
    gw_outbuf_t *b = gw_outbuf_new ("bb", 2);
    assert (gw_session_push (&session, a, 10) == 0);
    assert (gw_session_push (&session, b, 10) == 0);
    assert (a->refs == 2 && session.out_bytes == 6);
    gw_outbuf_t *c = gw_outbuf_new ("ccccc", 5);
    assert (gw_session_push (&session, c, 10) == -1);   //  6 + 5 > 10
    assert (c->refs == 1);
    for (int i = 0; i < 20; i++) {          //  wrap around and grow
        gw_outbuf_t *x = gw_session_pop (&session);
        assert (gw_session_push (&session, x, 1000) == 0);
        gw_outbuf_release (&x);
        assert (gw_session_push (&session, b, 1000) == 0);
    }
    gw_outbuf_t *first = gw_session_pop (&session);
    assert (first == b || first == a);
    gw_outbuf_release (&first);
    assert (memcmp (gw_outbuf_payload (c), "ccccc", 5) == 0);
    gw_outbuf_release (&c);
    gw_outbuf_release (&a);
    gw_outbuf_release (&b);
    //  Trim keeps what is queued, and a message half received
    hc_buf_append (&session.rx, "{\"ty", 4);
    session.rx_open = true;
    assert (gw_session_trim (&session) == 0 && session.ring && session.rx.len == 4);
    session.rx_open = false;
    assert (gw_session_trim (&session) > 0 && !session.rx.data && session.ring);
    gw_session_clear (&session);            //  frees what is still queued
    assert (session.ring_len == 0 && session.out_bytes == 0);

    //  Rate: a burst passes, then drops (telling once a second), then close
    memset (&session, 0, sizeof (session));
    double now = 100.0;
    for (int i = 0; i < 5; i++)
        assert (gw_session_rate (&session, now, 10, 5) == GW_RATE_OK);
    assert (gw_session_rate (&session, now, 10, 5) == GW_RATE_DROP_TELL);
    assert (gw_session_rate (&session, now, 10, 5) == GW_RATE_DROP);
    now += 0.15;                            //  one token back, and a half
    assert (gw_session_rate (&session, now, 10, 5) == GW_RATE_OK);
    for (int i = 0; i < 5; i++)
        assert (gw_session_rate (&session, now, 10, 5) != GW_RATE_OK);
    assert (gw_session_rate (&session, now, 10, 5) == GW_RATE_CLOSE);
    //  No limit configured
    assert (gw_session_rate (&session, now, 0, 5) == GW_RATE_OK);
    //  An empty ring goes at trim, and comes back at the next push
    gw_outbuf_t *d = gw_outbuf_new ("d", 1);
    assert (gw_session_push (&session, d, 1000) == 0);
    gw_outbuf_t *back = gw_session_pop (&session);
    gw_outbuf_release (&back);
    assert (gw_session_trim (&session) == 0 && !session.ring);
    assert (gw_session_push (&session, d, 1000) == 0 && session.ring_len == 1);
    gw_session_drop_queue (&session);
    gw_outbuf_release (&d);
    gw_session_close_after_flush (&session, 1001, "going away");
    gw_session_close_after_flush (&session, 1000, "later reason");
    assert (session.close_code == 1001);
    assert (strcmp (session.close_reason, "going away") == 0);
    gw_session_clear (&session);

    //  Reassembly: a message in one piece is handed over as it is
    memset (&session, 0, sizeof (session));
    gw_rx_message_t message;
    const char *whole = "{\"type\":\"join\"}";
    assert (gw_session_rx_starts (&session, 0));
    assert (gw_session_rx (&session, whole, strlen (whole), 0, true, false,
                           100, &message) == GW_RX_WHOLE);
    assert (message.data == whole && message.len == strlen (whole));
    assert (!message.binary && session.rx.cap == 0);
    gw_session_rx_done (&session, 64);
    //  A long frame in pieces is one frame to the rate limit; fragments
    //  are frames of their own and keep the first one's kind
    assert (gw_session_rx_starts (&session, 3));
    assert (gw_session_rx (&session, "abc", 3, 3, false, true, 100,
                           &message) == GW_RX_WAIT);
    assert (!gw_session_rx_starts (&session, 0));
    assert (gw_session_rx (&session, "def", 3, 0, false, true, 100,
                           &message) == GW_RX_WAIT);
    assert (gw_session_rx_starts (&session, 0));
    assert (gw_session_rx (&session, "gh", 2, 0, true, false, 100,
                           &message) == GW_RX_WHOLE);
    assert (message.len == 8 && memcmp (message.data, "abcdefgh", 8) == 0);
    assert (message.binary);
    assert (gw_session_held (&session) == session.rx.cap);
    gw_session_rx_done (&session, 1024);
    assert (session.rx.len == 0 && session.rx.cap > 0);     //  kept
    //  What is still to come counts against the maximum
    assert (gw_session_rx (&session, "abc", 3, 8, false, false, 10,
                           &message) == GW_RX_TOO_LARGE);
    assert (message.len == 11);
    session.rx_open = false;    //  (the connection would be closed)
    //  A dropped message goes to its final piece; the next one is read
    gw_session_rx_drop (&session);
    assert (gw_session_rx (&session, "abc", 3, 0, false, false, 100,
                           &message) == GW_RX_WAIT);
    assert (gw_session_rx (&session, "def", 3, 0, true, false, 100,
                           &message) == GW_RX_WAIT);
    assert (session.rx.len == 0);
    assert (gw_session_rx (&session, "ok", 2, 0, true, false, 100,
                           &message) == GW_RX_WHOLE);
    assert (message.len == 2);
    //  A buffer that grew large is freed after its message
    char big [200];
    memset (big, 'x', sizeof (big));
    assert (gw_session_rx (&session, big, 200, 0, false, false, 1000,
                           &message) == GW_RX_WAIT);
    assert (gw_session_rx (&session, big, 200, 0, true, false, 1000,
                           &message) == GW_RX_WHOLE);
    assert (message.len == 400);
    gw_session_rx_done (&session, 300);
    assert (session.rx.cap == 0);
    //  Nothing is read once the session is closing
    session.closing = true;
    assert (gw_session_rx (&session, "ok", 2, 0, true, false, 100,
                           &message) == GW_RX_WAIT);
    gw_session_clear (&session);
    if (verbose)
        printf ("OK\n");
}
