/*  gw_linger.h - sockets the gateway is done with, closed so that the
    client still reads what it was last told

    Closing a socket with unread input makes the kernel answer with a
    reset, and a reset makes the client's kernel throw away what it had not
    read yet: the 429 or 431 answer, the rate_limited error, the close
    frame. So a socket we end is handed over here (a dup of it, while lws
    closes its own): the last words are written, the sending side is shut,
    and input is read and dropped until the client closes too or a short
    deadline passes. Runs on the gateway's libev loop.
*/
#ifndef GW_LINGER_H_INCLUDED
#define GW_LINGER_H_INCLUDED

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _gw_linger_t gw_linger_t;

//  At most max sockets linger at once; past that one is closed at once
gw_linger_t *
    gw_linger_new (struct ev_loop *loop, size_t max, double seconds);
//  Closes every socket still lingering
void
    gw_linger_destroy (gw_linger_t **self_p);
//  Takes fd (closes it in every case); writes data first (len may be 0).
//  With self NULL, fd is just closed.
void
    gw_linger_add (gw_linger_t *self, int fd, const void *data, size_t len);
//  Sockets lingering now
size_t
    gw_linger_size (gw_linger_t *self);

void
    gw_linger_test (bool verbose);

#endif
