/*  bench_net.h - homecall-bench's connections: non-blocking sockets on one
    epoll, each speaking WebSocket as a client (bench_ws)

    Sends are framed into the link's buffer and go out at bench_net_flush,
    one send() per link for whatever a loop turn queued on it; a link
    whose socket is full waits for EPOLLOUT (the only epoll_ctl after the
    handshake). Server pings are answered, a server close is echoed.
*/
#ifndef BENCH_NET_H_INCLUDED
#define BENCH_NET_H_INCLUDED

#include "bench_ws.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    BENCH_LINK_NONE,            //  not started
    BENCH_LINK_CONNECTING,      //  TCP connect in progress
    BENCH_LINK_UPGRADING,       //  request sent, waiting for the 101
    BENCH_LINK_OPEN,            //  WebSocket frames both ways
    BENCH_LINK_CLOSED           //  failed, refused or closed
} bench_link_state_t;

//  One connection; the caller owns the memory (an array of them, say)
typedef struct {
    int fd;                     //  -1 when there is none
    bench_link_state_t state;
    void *user;                 //  the caller's
    uint32_t events;            //  what epoll watches for
    bool dirty;                 //  has bytes queued and is in the flush list
    uint8_t *out;               //  bytes to send: out_sent .. out_size
    size_t out_size, out_sent, out_room;
    char *head;                 //  the upgrade answer so far (while upgrading)
    size_t head_n;
    char key [BENCH_WS_KEY_SIZE];
    bench_ws_rx_t rx;
} bench_link_t;

typedef struct {
    //  The upgrade was answered with a 101
    void (*opened) (void *arg, bench_link_t *link);
    //  A text or binary message: its first BENCH_WS_PREFIX bytes
    void (*message) (void *arg, bench_link_t *link, const char *data,
                     size_t size);
    //  The link failed or the server closed it (was_open: after the 101)
    void (*closed) (void *arg, bench_link_t *link, bool was_open);
} bench_net_fns_t;

typedef struct bench_net_t bench_net_t;

//  Resolves host once; NULL (errno set) when it cannot
bench_net_t *
    bench_net_new (const char *host, int port, const bench_net_fns_t *fns,
                   void *arg);
void
    bench_net_destroy (bench_net_t **self_p);
void
    bench_net_link_init (bench_link_t *link, void *user);
//  Starts the TCP connect and queues the upgrade request for path;
//  returns -1 (and the link is CLOSED, no callback) if it failed at once
int
    bench_net_connect (bench_net_t *self, bench_link_t *link,
                       const char *path);
//  Queues a text frame on an open link; -1 if it is not open
int
    bench_net_send (bench_net_t *self, bench_link_t *link, const char *text,
                    size_t size);
//  Closes the link now (a close frame first, when open); no callback
void
    bench_net_close (bench_net_t *self, bench_link_t *link);
//  Waits for socket events until deadline_ns (CLOCK_MONOTONIC), or not at
//  all when it is past; bench_net_dispatch then handles them
void
    bench_net_wait (bench_net_t *self, uint64_t deadline_ns);
void
    bench_net_dispatch (bench_net_t *self);
//  Sends what every link queued
void
    bench_net_flush (bench_net_t *self);
//  CLOCK_MONOTONIC in nanoseconds
uint64_t
    bench_net_now (void);
void
    bench_net_test (bool verbose);

#endif
