/*  batch.h - commands to one peer, handed over as one ZeroMQ message

    A busy actor sends many [verb][body] commands in one loop turn. Sent
    one message each, every one of them wakes the peer's thread (an eventfd
    write here, a poll and a read there); gathered into one message of
    pairs, [routing id]? [verb][body] [verb][body] ..., the peer wakes once
    per turn and reads them in order (hc_sock_recv_pair). A message of one
    pair is exactly the old single command.

    The parts go into the socket as they come, with ZMQ_SNDMORE, so nothing
    is copied twice; the last body is held back until hc_batch_flush ends
    the message. Call hc_batch_flush before the loop sleeps, and before
    anything else is sent on the socket. The first part of a batch goes
    with ZMQ_DONTWAIT: when the socket cannot take it (HWM, a peer not
    there), hc_batch_add says so, as a single send did; later parts of a
    started message always go.
*/
#ifndef BATCH_H_INCLUDED
#define BATCH_H_INCLUDED

#include <czmq.h>

#define HC_BATCH_MAX 256        //  pairs per message; then it is flushed
#define HC_BATCH_ID_MAX 32      //  routing id bytes

typedef struct {
    void *sock;                 //  libzmq socket, not owned
    bool open;                  //  a message is under way
    bool held;                  //  body holds its last part
    zmq_msg_t body;             //  ...that part
    char id [HC_BATCH_ID_MAX];  //  ROUTER: whom the open message is for
    size_t id_len;
    size_t pairs;               //  in the open message
    uint64_t messages;          //  messages sent (a pair or more each)
} hc_batch_t;

void
    hc_batch_init (hc_batch_t *self, zsock_t *sock);
//  Adds [verb][body]; for a ROUTER, id names the peer (NULL for a DEALER).
//  A batch for another peer is flushed first. -1 if the socket refused.
int
    hc_batch_add (hc_batch_t *self, const char *id, const char *verb,
                  const void *body, size_t size);
//  Ends the message under way, if any
void
    hc_batch_flush (hc_batch_t *self);
//  Flushes, and drops the held part
void
    hc_batch_close (hc_batch_t *self);

void
    hc_batch_test (bool verbose);

#endif
