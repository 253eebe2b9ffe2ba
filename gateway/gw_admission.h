/*  gw_admission.h - every socket counted from accept, not from the end of
    its handshake

    A ticket stands for one accepted socket until it is gone. While its
    handshake runs it is pending; pending tickets form a queue in accept
    order, so the one past its deadline, or the one to drop when too many
    are pending, is always at the head.

    Tickets are counted per client address (pending and open together), so
    one address cannot hold more than MAX_CONNECTIONS_PER_IP sockets in any
    state. A socket from a trusted proxy is not counted at accept: who the
    client is shows only in its headers, and the ticket is then moved to
    that address (docs/limits.md).
*/
#ifndef GW_ADMISSION_H_INCLUDED
#define GW_ADMISSION_H_INCLUDED

#include "../common/netlist.h"

#include <czmq.h>

typedef struct _gw_ticket_t gw_ticket_t;
struct _gw_ticket_t {
    char address [HC_ADDR_TEXT];    //  counted against this ("" = nobody)
    double since;                   //  accepted at (event loop seconds)
    bool pending;                   //  in the pending queue
    uint64_t owner;                 //  the caller's handle (the wsi), the
                                    //  key it is found by
    int fd;                         //  the socket (the caller's)
    int answer_fd;                  //  a dup of it, once answered, so the
                                    //  answer outlives lws's close (-1)
    void *watch;                    //  the caller's, freed by it
    int verdict;                    //  the caller's: why it closes the
                                    //  socket, plus one (0: it does not)
    gw_ticket_t *prev, *next;       //  pending queue
};

typedef struct _gw_admission_t gw_admission_t;

//  per_address 0: no cap per address
gw_admission_t *
    gw_admission_new (size_t per_address, size_t max_pending);
void
    gw_admission_destroy (gw_admission_t **self_p);
//  True if address may hold one more socket
bool
    gw_admission_allows (gw_admission_t *self, const char *address);
//  A new pending ticket for owner, counted against address (NULL: not yet)
gw_ticket_t *
    gw_admission_enter (gw_admission_t *self, const void *owner,
                        const char *address, double now);
//  The ticket of owner, or NULL
gw_ticket_t *
    gw_admission_find (gw_admission_t *self, const void *owner);
//  Counts the ticket against address from now on; false (and it stays
//  where it was) if that address holds its cap already
bool
    gw_admission_move (gw_admission_t *self, gw_ticket_t *ticket,
                       const char *address);
//  Ends the ticket's pending state (handshake done, or it is being killed)
void
    gw_admission_settle (gw_admission_t *self, gw_ticket_t *ticket);
//  The socket is gone: uncounts and frees the ticket (closes answer_fd)
void
    gw_admission_leave (gw_admission_t *self, gw_ticket_t **ticket_p);
//  The oldest pending ticket that must go now: past its deadline, or one
//  too many pending; NULL if none. The caller settles and kills it.
gw_ticket_t *
    gw_admission_due (gw_admission_t *self, double now, double timeout);
size_t
    gw_admission_pending (gw_admission_t *self);
//  Sockets counted against address
size_t
    gw_admission_count (gw_admission_t *self, const char *address);

void
    gw_admission_test (bool verbose);

#endif
