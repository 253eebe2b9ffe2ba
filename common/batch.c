/*  batch.c - commands to one peer, handed over as one ZeroMQ message */
#include "batch.h"
#include "sock.h"

void
hc_batch_init (hc_batch_t *self, zsock_t *sock)
{
    memset (self, 0, sizeof (*self));
    self->sock = zsock_resolve (sock);
}

int
hc_batch_add (hc_batch_t *self, const char *id, const char *verb,
              const void *body, size_t size)
{
    size_t id_len = id ? strlen (id) : 0;
    assert (id_len < HC_BATCH_ID_MAX);
    if (self->open
    &&  (id_len != self->id_len
         || (id_len && memcmp (id, self->id, id_len) != 0)))
        hc_batch_flush (self);
    if (!self->open && id
    &&  zmq_send (self->sock, id, id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    //  Every part goes with ZMQ_DONTWAIT: a later part of a started
    //  message is always taken, unless the pipe went away, and then it is
    //  dropped rather than waited for (the actor's thread never blocks)
    if (self->held) {
        if (zmq_msg_send (&self->body, self->sock, ZMQ_SNDMORE | ZMQ_DONTWAIT)
            == -1)
            zmq_msg_close (&self->body);
        self->held = false;
    }
    //  Without an id the verb is the first part: the one that may fail
    if (zmq_send (self->sock, verb, strlen (verb),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1) {
        self->open = false;     //  the pipe went: the rest is dropped
        self->pairs = 0;
        return -1;
    }
    if (!self->open) {
        self->open = true;
        if (id_len)
            memcpy (self->id, id, id_len);
        self->id_len = id_len;
    }
    zmq_msg_init_size (&self->body, size);
    memcpy (zmq_msg_data (&self->body), body, size);
    self->held = true;
    if (++self->pairs == HC_BATCH_MAX)
        hc_batch_flush (self);
    return 0;
}

void
hc_batch_flush (hc_batch_t *self)
{
    if (!self->open)
        return;
    assert (self->held);
    if (zmq_msg_send (&self->body, self->sock, ZMQ_DONTWAIT) == -1)
        zmq_msg_close (&self->body);    //  the pipe went: dropped
    self->held = false;
    self->open = false;
    self->pairs = 0;
    self->messages++;
}

void
hc_batch_close (hc_batch_t *self)
{
    hc_batch_flush (self);
    if (self->held)
        zmq_msg_close (&self->body);
    self->held = false;
}

//  ---------------------------------------------------------------------
//  Self test: pairs arrive in order, one message per flush, per peer

void
hc_batch_test (bool verbose)
{
    if (verbose)
        printf (" * batch: ");
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    assert (router && dealer);
    zsock_set_router_mandatory (router, 1);
    zsock_set_identity (dealer, "gw-1");
    assert (zsock_bind (router, "inproc://hc-batch-test") == 0);
    assert (zsock_connect (dealer, "inproc://hc-batch-test") == 0);

    //  DEALER to ROUTER: three pairs, one message
    hc_batch_t batch;
    hc_batch_init (&batch, dealer);
    assert (hc_batch_add (&batch, NULL, "SIG", "a", 1) == 0);
    assert (hc_batch_add (&batch, NULL, "SIG", "bb", 2) == 0);
    assert (hc_batch_add (&batch, NULL, "CLOSE", "ccc", 3) == 0);
    hc_batch_flush (&batch);
    hc_batch_flush (&batch);            //  nothing under way: nothing sent
    assert (batch.messages == 1);
    zmsg_t *msg = zmsg_recv (router);
    assert (msg && zmsg_size (msg) == 7);
    char *id = zmsg_popstr (msg);
    assert (streq (id, "gw-1"));
    zstr_free (&id);
    const char *expect [] = {"SIG", "a", "SIG", "bb", "CLOSE", "ccc"};
    for (int i = 0; i < 6; i++) {
        char *part = zmsg_popstr (msg);
        assert (streq (part, expect [i]));
        zstr_free (&part);
    }
    zmsg_destroy (&msg);

    //  ROUTER to DEALER; read back pair by pair. A peer that is not there
    //  refuses the batch at once.
    hc_batch_t out;
    hc_batch_init (&out, router);
    assert (hc_batch_add (&out, "nobody", "OUT", "x", 1) == -1);
    assert (hc_batch_add (&out, "gw-1", "OUT", "x", 1) == 0);
    assert (hc_batch_add (&out, "gw-1", "KICK", "yy", 2) == 0);
    assert (hc_batch_add (&out, "nobody", "OUT", "z", 1) == -1);  //  flushed
    for (int i = 0; i < HC_BATCH_MAX + 1; i++)                   //  2 more
        assert (hc_batch_add (&out, "gw-1", "OUT", "n", 1) == 0);
    hc_batch_close (&out);
    assert (out.messages == 3);
    zmq_msg_t pair [2];
    zmq_msg_init (&pair [0]);
    zmq_msg_init (&pair [1]);
    bool more = false;
    assert (hc_sock_recv_pair (dealer, pair, &more) == 2 && more);
    assert (zmq_msg_size (&pair [0]) == 3 && zmq_msg_size (&pair [1]) == 1);
    assert (hc_sock_recv_pair (dealer, pair, &more) == 2 && !more);
    assert (memcmp (zmq_msg_data (&pair [0]), "KICK", 4) == 0);
    size_t pairs = 0;
    while (hc_sock_recv_pair (dealer, pair, &more) == 2)
        pairs++;
    assert (pairs == HC_BATCH_MAX + 1);
    zmq_msg_close (&pair [0]);
    zmq_msg_close (&pair [1]);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    if (verbose)
        printf ("OK\n");
}
