/*  gw_linger.c - sockets the gateway is done with, closed so that the
    client still reads what it was last told
*/
#include "gw_linger.h"

#include <assert.h>
#include <czmq.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct _entry_t entry_t;
struct _entry_t {
    ev_io io;                   //  input to drop, until end of stream
    ev_timer timer;             //  the deadline
    gw_linger_t *owner;
    entry_t *prev, *next;
};

struct _gw_linger_t {
    struct ev_loop *loop;
    size_t max;                 //  entries at once
    double seconds;             //  how long one lingers at most
    size_t size;
    entry_t *head;              //  every entry, in no order
};

gw_linger_t *
gw_linger_new (struct ev_loop *loop, size_t max, double seconds)
{
    gw_linger_t *self = (gw_linger_t *) zmalloc (sizeof (*self));
    self->loop = loop;
    self->max = max;
    self->seconds = seconds;
    return self;
}

static void
s_entry_end (entry_t *entry)
{
    gw_linger_t *self = entry->owner;
    ev_io_stop (self->loop, &entry->io);
    ev_timer_stop (self->loop, &entry->timer);
    close (entry->io.fd);
    if (entry->prev)
        entry->prev->next = entry->next;
    else
        self->head = entry->next;
    if (entry->next)
        entry->next->prev = entry->prev;
    self->size--;
    free (entry);
}

void
gw_linger_destroy (gw_linger_t **self_p)
{
    gw_linger_t *self = *self_p;
    if (!self)
        return;
    while (self->head)
        s_entry_end (self->head);
    free (self);
    *self_p = NULL;
}

static void
s_readable (struct ev_loop *loop, ev_io *io, int revents)
{
    (void) loop;
    (void) revents;
    entry_t *entry = (entry_t *) io->data;
    char sink [4096];
    for (int i = 0; i < 16; i++) {      //  a flood does not keep us here
        ssize_t n = recv (io->fd, sink, sizeof (sink), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        s_entry_end (entry);            //  end of stream, or an error
        return;
    }
}

static void
s_deadline (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) loop;
    (void) revents;
    s_entry_end ((entry_t *) timer->data);
}

void
gw_linger_add (gw_linger_t *self, int fd, const void *data, size_t len)
{
    if (fd < 0)
        return;
    if (!self) {                //  gone already (the gateway is stopping)
        close (fd);
        return;
    }
    //  What the client is owed fits the socket buffer of a fresh socket;
    //  if it does not, the client was not reading and loses the rest
    if (len && send (fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
        len = 0;
    shutdown (fd, SHUT_WR);
    if (self->size >= self->max) {
        close (fd);
        return;
    }
    entry_t *entry = (entry_t *) zmalloc (sizeof (*entry));
    entry->owner = self;
    ev_io_init (&entry->io, s_readable, fd, EV_READ);
    ev_timer_init (&entry->timer, s_deadline, self->seconds, 0);
    entry->io.data = entry->timer.data = entry;
    entry->next = self->head;
    if (self->head)
        self->head->prev = entry;
    self->head = entry;
    self->size++;
    ev_io_start (self->loop, &entry->io);
    ev_timer_start (self->loop, &entry->timer);
}

size_t
gw_linger_size (gw_linger_t *self)
{
    return self->size;
}

//  ---------------------------------------------------------------------
//  Self test

static void
s_run_until_empty (struct ev_loop *loop, gw_linger_t *linger)
{
    for (int i = 0; i < 1000 && gw_linger_size (linger); i++)
        ev_run (loop, EVRUN_ONCE);
}

void
gw_linger_test (bool verbose)
{
    if (verbose)
        printf (" * gw_linger: ");
    struct ev_loop *loop = ev_loop_new (0);
    gw_linger_t *linger = gw_linger_new (loop, 2, 0.2);
    //  The answer arrives whole, then end of stream; input sent before
    //  the client saw it is read and dropped, so there is no reset
    int pair [2];
    assert (socketpair (AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    assert (send (pair [1], "unread input", 12, 0) == 12);
    gw_linger_add (linger, pair [0], "HTTP/1.1 431", 12);
    assert (gw_linger_size (linger) == 1);
    char buf [64];
    ssize_t n = recv (pair [1], buf, sizeof (buf), 0);
    assert (n == 12 && memcmp (buf, "HTTP/1.1 431", 12) == 0);
    assert (recv (pair [1], buf, sizeof (buf), 0) == 0);
    close (pair [1]);                   //  the client closes: we do too
    s_run_until_empty (loop, linger);
    assert (gw_linger_size (linger) == 0);
    //  A client that never closes is let go at the deadline
    int quiet [2];
    assert (socketpair (AF_UNIX, SOCK_STREAM, 0, quiet) == 0);
    gw_linger_add (linger, quiet [0], NULL, 0);
    int64_t start = zclock_mono ();
    s_run_until_empty (loop, linger);
    int64_t waited = zclock_mono () - start;
    assert (waited >= 150 && waited < 2000);
    assert (recv (quiet [1], buf, sizeof (buf), 0) == 0);
    close (quiet [1]);
    //  Past max, sockets are closed at once; destroy closes the rest
    int more [3][2];
    for (int i = 0; i < 3; i++) {
        assert (socketpair (AF_UNIX, SOCK_STREAM, 0, more [i]) == 0);
        gw_linger_add (linger, more [i][0], "x", 1);
    }
    assert (gw_linger_size (linger) == 2);
    gw_linger_destroy (&linger);
    gw_linger_destroy (&linger);
    for (int i = 0; i < 3; i++) {
        assert (recv (more [i][1], buf, sizeof (buf), 0) == 1);
        assert (recv (more [i][1], buf, sizeof (buf), 0) == 0);
        close (more [i][1]);
    }
    gw_linger_add (NULL, -1, NULL, 0);  //  nothing to take
    int late [2];                       //  no linger left: closed at once
    assert (socketpair (AF_UNIX, SOCK_STREAM, 0, late) == 0);
    gw_linger_add (NULL, late [0], "x", 1);
    assert (recv (late [1], buf, sizeof (buf), 0) == 0);
    close (late [1]);
    ev_loop_destroy (loop);
    if (verbose)
        printf ("OK\n");
}
