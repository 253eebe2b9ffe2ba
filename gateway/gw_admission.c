/*  gw_admission.c - every socket counted from accept, not from the end of
    its handshake
*/
#include "gw_admission.h"
#include "gw_client.h"
#include "../common/idmap.h"

#include <assert.h>
#include <unistd.h>

struct _gw_admission_t {
    gw_clients_t *counts;       //  tickets per address
    zhashx_t *tickets;          //  owner -> ticket
    size_t per_address;         //  cap per address (0: none)
    size_t max_pending;         //  handshakes at once
    size_t pending;             //  tickets in the queue
    gw_ticket_t *head, *tail;   //  pending queue, oldest first
};

gw_admission_t *
gw_admission_new (size_t per_address, size_t max_pending)
{
    gw_admission_t *self = (gw_admission_t *) zmalloc (sizeof (*self));
    self->counts = gw_clients_new ();
    self->tickets = hc_idmap_new ();
    self->per_address = per_address;
    self->max_pending = max_pending;
    return self;
}

void
gw_admission_destroy (gw_admission_t **self_p)
{
    gw_admission_t *self = *self_p;
    if (!self)
        return;
    //  Tickets still held are the caller's to leave; none should be
    assert (zhashx_size (self->tickets) == 0);
    zhashx_destroy (&self->tickets);
    gw_clients_destroy (&self->counts);
    free (self);
    *self_p = NULL;
}

bool
gw_admission_allows (gw_admission_t *self, const char *address)
{
    return self->per_address == 0
        || gw_clients_count (self->counts, address) < self->per_address;
}

gw_ticket_t *
gw_admission_enter (gw_admission_t *self, const void *owner,
                    const char *address, double now)
{
    gw_ticket_t *ticket = (gw_ticket_t *) zmalloc (sizeof (*ticket));
    ticket->owner = (uint64_t) (uintptr_t) owner;
    int rc = zhashx_insert (self->tickets, &ticket->owner, ticket);
    assert (rc == 0);           //  one ticket per owner
    (void) rc;
    ticket->since = now;
    ticket->answer_fd = -1;
    ticket->pending = true;
    ticket->prev = self->tail;
    if (self->tail)
        self->tail->next = ticket;
    else
        self->head = ticket;
    self->tail = ticket;
    self->pending++;
    if (address) {
        snprintf (ticket->address, sizeof (ticket->address), "%s", address);
        gw_clients_add (self->counts, ticket->address);
    }
    return ticket;
}

gw_ticket_t *
gw_admission_find (gw_admission_t *self, const void *owner)
{
    uint64_t key = (uint64_t) (uintptr_t) owner;
    return (gw_ticket_t *) zhashx_lookup (self->tickets, &key);
}

bool
gw_admission_move (gw_admission_t *self, gw_ticket_t *ticket,
                   const char *address)
{
    if (strcmp (ticket->address, address) == 0)
        return true;
    if (!gw_admission_allows (self, address))
        return false;
    if (ticket->address [0])
        gw_clients_remove (self->counts, ticket->address);
    snprintf (ticket->address, sizeof (ticket->address), "%s", address);
    gw_clients_add (self->counts, ticket->address);
    return true;
}

void
gw_admission_settle (gw_admission_t *self, gw_ticket_t *ticket)
{
    if (!ticket->pending)
        return;
    if (ticket->prev)
        ticket->prev->next = ticket->next;
    else
        self->head = ticket->next;
    if (ticket->next)
        ticket->next->prev = ticket->prev;
    else
        self->tail = ticket->prev;
    ticket->prev = ticket->next = NULL;
    ticket->pending = false;
    self->pending--;
}

void
gw_admission_leave (gw_admission_t *self, gw_ticket_t **ticket_p)
{
    gw_ticket_t *ticket = *ticket_p;
    if (!ticket)
        return;
    gw_admission_settle (self, ticket);
    zhashx_delete (self->tickets, &ticket->owner);
    if (ticket->address [0])
        gw_clients_remove (self->counts, ticket->address);
    if (ticket->answer_fd >= 0)
        close (ticket->answer_fd);
    free (ticket);
    *ticket_p = NULL;
}

gw_ticket_t *
gw_admission_due (gw_admission_t *self, double now, double timeout)
{
    if (!self->head)
        return NULL;
    if (self->pending > self->max_pending || now - self->head->since >= timeout)
        return self->head;
    return NULL;
}

size_t
gw_admission_pending (gw_admission_t *self)
{
    return self->pending;
}

size_t
gw_admission_count (gw_admission_t *self, const char *address)
{
    return gw_clients_count (self->counts, address);
}

void
gw_admission_test (bool verbose)
{
    if (verbose)
        printf (" * gw_admission: ");
    gw_admission_t *admission = gw_admission_new (2, 3);
    //  Two sockets per address, counted while pending already
    gw_ticket_t *a = NULL;
    a = gw_admission_enter (admission, &a, "1.1.1.1", 10.0);
    assert (gw_admission_allows (admission, "1.1.1.1"));
    gw_ticket_t *b = gw_admission_enter (admission, "b", "1.1.1.1", 10.5);
    assert (!gw_admission_allows (admission, "1.1.1.1"));
    assert (gw_admission_allows (admission, "2.2.2.2"));
    assert (gw_admission_count (admission, "1.1.1.1") == 2);
    assert (gw_admission_find (admission, &a) == a);
    assert (gw_admission_find (admission, "nobody") == NULL);
    //  A proxy's socket counts for nobody until it names its client
    gw_ticket_t *p = gw_admission_enter (admission, "p", NULL, 11.0);
    assert (gw_admission_pending (admission) == 3);
    assert (!gw_admission_move (admission, p, "1.1.1.1"));   //  full
    assert (gw_admission_move (admission, p, "3.3.3.3"));
    assert (gw_admission_count (admission, "3.3.3.3") == 1);
    assert (gw_admission_move (admission, p, "3.3.3.3"));    //  no change
    assert (gw_admission_count (admission, "3.3.3.3") == 1);
    //  Deadlines in accept order
    assert (gw_admission_due (admission, 10.9, 1.0) == NULL);
    assert (gw_admission_due (admission, 11.0, 1.0) == a);
    gw_admission_settle (admission, a);
    gw_admission_settle (admission, a);                     //  idempotent
    assert (gw_admission_due (admission, 11.0, 1.0) == NULL);
    assert (gw_admission_due (admission, 11.5, 1.0) == b);
    //  An open ticket still counts against its address
    assert (!gw_admission_allows (admission, "1.1.1.1"));
    //  One too many pending: the oldest must go, whatever its age
    gw_ticket_t *c = gw_admission_enter (admission, "c", "4.4.4.4", 12.0);
    gw_ticket_t *d = gw_admission_enter (admission, "d", "4.4.4.4", 12.0);
    assert (gw_admission_pending (admission) == 4);
    assert (gw_admission_due (admission, 12.0, 100.0) == b);
    gw_admission_settle (admission, b);
    assert (gw_admission_due (admission, 12.0, 100.0) == NULL);
    //  Leaving frees the address's place, from any state
    gw_admission_leave (admission, &a);
    assert (a == NULL && gw_admission_allows (admission, "1.1.1.1"));
    gw_admission_leave (admission, &d);                     //  the tail
    assert (gw_admission_find (admission, "d") == NULL);
    gw_admission_leave (admission, &p);                     //  the head
    assert (gw_admission_due (admission, 100.0, 1.0) == c);
    c->answer_fd = dup (0);
    gw_admission_leave (admission, &c);                     //  closes it
    gw_admission_leave (admission, &b);
    gw_admission_leave (admission, &b);
    assert (gw_admission_pending (admission) == 0);
    assert (gw_admission_count (admission, "4.4.4.4") == 0);
    gw_admission_destroy (&admission);
    gw_admission_destroy (&admission);
    if (verbose)
        printf ("OK\n");
}
