/*  bench_net.c - homecall-bench's connections: non-blocking sockets on one
    epoll, each speaking WebSocket as a client (bench_ws)

    epoll_pwait2 takes its timeout in nanoseconds and the process's timer
    slack is set to 1 ns (prctl), so the open loop wakes when a signal is
    due rather than up to a millisecond (epoll_wait) or 50 us (the
    default slack) after.
*/
#include "bench_net.h"

#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EVENTS_MAX 256          //  socket events taken per wait
#define READ_SIZE 65536         //  bytes taken per recv()
#define HEAD_MAX 8192           //  the longest upgrade answer kept

struct bench_net_t {
    int epoll_fd;
    struct sockaddr_storage address;    //  the server's, resolved once
    socklen_t address_n;
    char host [256];
    int port;
    bench_net_fns_t fns;
    void *arg;
    uint64_t rng;               //  frame masks and handshake keys
    struct epoll_event events [EVENTS_MAX];
    int events_n;               //  from the last wait
    bool no_pwait2;             //  epoll_pwait2 said ENOSYS
    bench_link_t **dirty;       //  links with bytes queued
    size_t dirty_n, dirty_room;
    uint8_t *buffer;            //  READ_SIZE bytes for recv()
};

//  bench_ws_read's argument
typedef struct {
    bench_net_t *net;
    bench_link_t *link;
} s_reading_t;

uint64_t
bench_net_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

bench_net_t *
bench_net_new (const char *host, int port, const bench_net_fns_t *fns,
               void *arg)
{
    struct addrinfo hints, *found = NULL;
    memset (&hints, 0, sizeof (hints));
    hints.ai_socktype = SOCK_STREAM;
    char service [16];
    snprintf (service, sizeof (service), "%d", port);
    if (getaddrinfo (host, service, &hints, &found) || !found) {
        errno = EHOSTUNREACH;
        return NULL;
    }
    bench_net_t *self = (bench_net_t *) calloc (1, sizeof (bench_net_t));
    if (self) {
        memcpy (&self->address, found->ai_addr, found->ai_addrlen);
        self->address_n = found->ai_addrlen;
    }
    freeaddrinfo (found);
    if (!self)
        return NULL;
    snprintf (self->host, sizeof (self->host), "%s", host);
    self->port = port;
    self->fns = *fns;
    self->arg = arg;
    if (getrandom (&self->rng, sizeof (self->rng), 0) != sizeof (self->rng)
    ||  self->rng == 0)
        self->rng = bench_net_now () | 1;
    self->buffer = (uint8_t *) malloc (READ_SIZE);
    self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
    if (!self->buffer || self->epoll_fd < 0) {
        bench_net_destroy (&self);
        return NULL;
    }
    prctl (PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    return self;
}

void
bench_net_destroy (bench_net_t **self_p)
{
    bench_net_t *self = *self_p;
    if (self) {
        if (self->epoll_fd >= 0)
            close (self->epoll_fd);
        free (self->buffer);
        free (self->dirty);
        free (self);
        *self_p = NULL;
    }
}

void
bench_net_link_init (bench_link_t *link, void *user)
{
    memset (link, 0, sizeof (*link));
    link->fd = -1;
    link->user = user;
}

//  Room for size more bytes in the link's send buffer
static int
s_reserve (bench_link_t *link, size_t size)
{
    if (link->out_sent == link->out_size)
        link->out_sent = link->out_size = 0;
    if (link->out_size + size <= link->out_room)
        return 0;
    size_t room = link->out_room ? link->out_room : 256;
    while (room < link->out_size + size)
        room *= 2;
    uint8_t *grown = (uint8_t *) realloc (link->out, room);
    if (!grown)
        return -1;
    link->out = grown;
    link->out_room = room;
    return 0;
}

static void
s_mark_dirty (bench_net_t *self, bench_link_t *link)
{
    if (link->dirty)
        return;
    if (self->dirty_n == self->dirty_room) {
        size_t room = self->dirty_room ? self->dirty_room * 2 : 256;
        bench_link_t **grown = (bench_link_t **) realloc (
            self->dirty, room * sizeof (bench_link_t *));
        if (!grown)
            return;             //  sent when the link is next flushed
        self->dirty = grown;
        self->dirty_room = room;
    }
    self->dirty [self->dirty_n++] = link;
    link->dirty = true;
}

static void
s_watch (bench_net_t *self, bench_link_t *link, uint32_t events)
{
    if (link->events == events)
        return;
    struct epoll_event event = {.events = events, .data.ptr = link};
    epoll_ctl (self->epoll_fd, EPOLL_CTL_MOD, link->fd, &event);
    link->events = events;
}

static void
s_drop (bench_link_t *link)
{
    if (link->fd >= 0)
        close (link->fd);       //  which takes it out of the epoll set
    link->fd = -1;
    link->state = BENCH_LINK_CLOSED;
    free (link->head);
    link->head = NULL;
    free (link->out);
    link->out = NULL;
    link->out_size = link->out_sent = link->out_room = 0;
}

static void
s_fail (bench_net_t *self, bench_link_t *link)
{
    bool was_open = link->state == BENCH_LINK_OPEN;
    s_drop (link);
    self->fns.closed (self->arg, link, was_open);
}

int
bench_net_connect (bench_net_t *self, bench_link_t *link, const char *path)
{
    link->fd = socket (self->address.ss_family,
                       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (link->fd < 0) {
        s_drop (link);
        return -1;
    }
    int one = 1;
    setsockopt (link->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof (one));
    bench_ws_key (&self->rng, link->key);
    char request [1024];
    size_t size = bench_ws_request (request, sizeof (request), self->host,
                                    self->port, path, link->key);
    struct epoll_event event = {.events = EPOLLOUT, .data.ptr = link};
    if (size == 0 || s_reserve (link, size)
    ||  (connect (link->fd, (struct sockaddr *) &self->address,
                  self->address_n) && errno != EINPROGRESS)
    ||  epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, link->fd, &event)) {
        s_drop (link);
        return -1;
    }
    memcpy (link->out, request, size);
    link->out_size = size;
    link->events = EPOLLOUT;
    link->state = BENCH_LINK_CONNECTING;
    return 0;
}

//  Sends what the link holds; what the socket does not take waits for
//  EPOLLOUT. May close the link (with the callback).
static void
s_flush_link (bench_net_t *self, bench_link_t *link)
{
    while (link->out_sent < link->out_size) {
        ssize_t sent = send (link->fd, link->out + link->out_sent,
                             link->out_size - link->out_sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent > 0)
            link->out_sent += (size_t) sent;
        else
        if (sent < 0 && (errno == EAGAIN || errno == EINTR)) {
            s_watch (self, link, EPOLLIN | EPOLLOUT);
            return;
        }
        else {
            s_fail (self, link);
            return;
        }
    }
    link->out_sent = link->out_size = 0;
    s_watch (self, link, EPOLLIN);
}

static void
s_queue_frame (bench_net_t *self, bench_link_t *link, bench_ws_opcode_t op,
               const void *data, size_t size)
{
    if (s_reserve (link, size + BENCH_WS_HEAD_MAX))
        return;                 //  out of memory: the frame is lost
    link->out_size += bench_ws_frame (link->out + link->out_size, op, data,
                                      size,
                                      (uint32_t) bench_ws_random (&self->rng));
    s_mark_dirty (self, link);
}

int
bench_net_send (bench_net_t *self, bench_link_t *link, const char *text,
                size_t size)
{
    if (link->state != BENCH_LINK_OPEN)
        return -1;
    s_queue_frame (self, link, BENCH_WS_TEXT, text, size);
    return 0;
}

void
bench_net_close (bench_net_t *self, bench_link_t *link)
{
    if (link->state == BENCH_LINK_OPEN) {
        static const uint8_t normal [] = {0x03, 0xe8};      //  1000
        s_queue_frame (self, link, BENCH_WS_CLOSE, normal, sizeof (normal));
        if (link->out_size > link->out_sent)
            send (link->fd, link->out + link->out_sent,
                  link->out_size - link->out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    s_drop (link);
}

//  A frame the reader delivered
static int
s_frame (void *arg, bench_ws_opcode_t opcode, const uint8_t *data,
         size_t size)
{
    s_reading_t *reading = (s_reading_t *) arg;
    bench_net_t *self = reading->net;
    bench_link_t *link = reading->link;
    if (opcode == BENCH_WS_TEXT || opcode == BENCH_WS_BINARY)
        self->fns.message (self->arg, link, (const char *) data, size);
    else
    if (opcode == BENCH_WS_PING)
        s_queue_frame (self, link, BENCH_WS_PONG, data, size);
    else
    if (opcode == BENCH_WS_CLOSE) {
        s_queue_frame (self, link, BENCH_WS_CLOSE, data, size < 2 ? size : 2);
        s_flush_link (self, link);
        if (link->state != BENCH_LINK_CLOSED)
            s_fail (self, link);
    }
    return link->state == BENCH_LINK_OPEN ? 0 : 1;
}

//  Bytes while upgrading: the answer's head, then maybe frames
static void
s_upgrade (bench_net_t *self, bench_link_t *link, const uint8_t *data,
           size_t size)
{
    if (link->head_n + size > HEAD_MAX) {
        s_fail (self, link);
        return;
    }
    char *grown = (char *) realloc (link->head, link->head_n + size);
    if (!grown) {
        s_fail (self, link);
        return;
    }
    link->head = grown;
    memcpy (link->head + link->head_n, data, size);
    link->head_n += size;
    size_t head_n = 0;
    int rc = bench_ws_response (link->head, link->head_n, link->key,
                                &head_n);
    if (rc < 0)
        s_fail (self, link);
    if (rc <= 0)
        return;
    link->state = BENCH_LINK_OPEN;
    self->fns.opened (self->arg, link);
    //  PeerJS says OPEN at once: it may have come with the 101
    char *head = link->head;
    size_t rest = link->head_n - head_n;
    link->head = NULL;
    link->head_n = 0;
    s_reading_t reading = {self, link};
    if (rest && link->state == BENCH_LINK_OPEN
    &&  bench_ws_read (&link->rx, (uint8_t *) head + head_n, rest, s_frame,
                       &reading) < 0)
        s_fail (self, link);
    free (head);
}

static void
s_readable (bench_net_t *self, bench_link_t *link)
{
    s_reading_t reading = {self, link};
    while (link->state == BENCH_LINK_UPGRADING
       ||  link->state == BENCH_LINK_OPEN) {
        ssize_t size = recv (link->fd, self->buffer, READ_SIZE, 0);
        if (size < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (size <= 0) {
            s_fail (self, link);
            return;
        }
        if (link->state == BENCH_LINK_UPGRADING)
            s_upgrade (self, link, self->buffer, (size_t) size);
        else
        if (bench_ws_read (&link->rx, self->buffer, (size_t) size, s_frame,
                           &reading) < 0)
            s_fail (self, link);
        if (size < READ_SIZE)
            return;             //  the socket is drained
    }
}

void
bench_net_wait (bench_net_t *self, uint64_t deadline_ns)
{
    uint64_t now = bench_net_now ();
    uint64_t wait = deadline_ns > now ? deadline_ns - now : 0;
    int n = -1;
    if (!self->no_pwait2) {
        struct timespec timeout = {(time_t) (wait / 1000000000ull),
                                   (long) (wait % 1000000000ull)};
        n = epoll_pwait2 (self->epoll_fd, self->events, EVENTS_MAX,
                          &timeout, NULL);
        //  valgrind 3.19 does not know it: whole milliseconds then
        self->no_pwait2 = n < 0 && errno == ENOSYS;
    }
    if (self->no_pwait2) {
        uint64_t ms = (wait + 999999) / 1000000;
        n = epoll_wait (self->epoll_fd, self->events, EVENTS_MAX,
                        ms > 60000 ? 60000 : (int) ms);
    }
    self->events_n = n > 0 ? n : 0;
}

void
bench_net_dispatch (bench_net_t *self)
{
    for (int i = 0; i < self->events_n; i++) {
        bench_link_t *link = (bench_link_t *) self->events [i].data.ptr;
        uint32_t events = self->events [i].events;
        if (link->state == BENCH_LINK_CONNECTING) {
            int error = 0;
            socklen_t error_n = sizeof (error);
            getsockopt (link->fd, SOL_SOCKET, SO_ERROR, &error, &error_n);
            if (error)
                s_fail (self, link);
            else {
                link->state = BENCH_LINK_UPGRADING;
                s_flush_link (self, link);      //  the request
            }
            continue;
        }
        if ((events & EPOLLOUT) && link->state == BENCH_LINK_OPEN)
            s_flush_link (self, link);
        if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
            s_readable (self, link);
    }
    self->events_n = 0;
}

void
bench_net_flush (bench_net_t *self)
{
    for (size_t i = 0; i < self->dirty_n; i++) {
        bench_link_t *link = self->dirty [i];
        link->dirty = false;
        //  A link still connecting sends its bytes once connected; one
        //  waiting for EPOLLOUT, when the socket takes more
        if (link->state == BENCH_LINK_OPEN && !(link->events & EPOLLOUT))
            s_flush_link (self, link);
    }
    self->dirty_n = 0;
}

//  Self test: a listening socket of our own plays the server
typedef struct {
    int opened, closed, messages;
    char last [64];
} s_log_t;

static void
s_opened (void *arg, bench_link_t *link)
{
    (void) link;
    ((s_log_t *) arg)->opened++;
}

static void
s_message (void *arg, bench_link_t *link, const char *data, size_t size)
{
    (void) link;
    s_log_t *log = (s_log_t *) arg;
    log->messages++;
    snprintf (log->last, sizeof (log->last), "%.*s", (int) size, data);
}

static void
s_closed (void *arg, bench_link_t *link, bool was_open)
{
    (void) link;
    assert (was_open);
    ((s_log_t *) arg)->closed++;
}

//  Turns the loop until cond holds (at most 2 s)
#define S_TURN_UNTIL(net, cond)                                             \
    for (uint64_t until = bench_net_now () + 2000000000ull;                 \
         !(cond) && bench_net_now () < until;) {                            \
        bench_net_wait (net, bench_net_now () + 10000000);                  \
        bench_net_dispatch (net);                                           \
        bench_net_flush (net);                                              \
    }

//  Connects link to listener and answers its upgrade with a 101 and
//  then frames; returns the server's end
static int
s_test_upgrade (bench_net_t *net, int listener, bench_link_t *link,
                const char *frames)
{
    bench_net_link_init (link, NULL);
    assert (bench_net_connect (net, link, "/signal") == 0);
    int server = accept (listener, NULL, NULL);
    assert (server >= 0);
    S_TURN_UNTIL (net, link->state == BENCH_LINK_UPGRADING && !link->out_size);
    char request [1024];
    ssize_t n = recv (server, request, sizeof (request) - 1, 0);
    assert (n > 0);
    request [n] = 0;
    assert (strstr (request, "GET /signal HTTP/1.1\r\n") == request);
    char answer [512];
    char accept [29];
    char *key = strstr (request, "Sec-WebSocket-Key: ") + 19;
    key [24] = 0;
    bench_ws_accept (key, accept);
    int size = snprintf (answer, sizeof (answer), "HTTP/1.1 101 Switching "
                         "Protocols\r\nSec-WebSocket-Accept: %s\r\n\r\n%s",
                         accept, frames);
    assert (send (server, answer, (size_t) size, 0) == size);
    return server;
}

void
bench_net_test (bool verbose)
{
    if (verbose)
        printf (" * bench_net: ");
    int listener = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
    socklen_t address_n = sizeof (address);
    assert (bind (listener, (struct sockaddr *) &address, address_n) == 0);
    assert (listen (listener, 4) == 0);
    getsockname (listener, (struct sockaddr *) &address, &address_n);
    s_log_t log;
    memset (&log, 0, sizeof (log));
    bench_net_fns_t fns = {s_opened, s_message, s_closed};
    bench_net_t *net = bench_net_new ("127.0.0.1", ntohs (address.sin_port),
                                      &fns, &log);
    assert (net);
    bench_link_t link;
    int server = s_test_upgrade (net, listener, &link,
                                 "\x81\x05hello\x89\x02hi");
    S_TURN_UNTIL (net, log.messages == 1);
    assert (log.opened == 1 && strcmp (log.last, "hello") == 0);
    //  The ping was answered: a masked pong "hi"
    assert (bench_net_send (net, &link, "offer", 5) == 0);
    bench_net_flush (net);
    uint8_t frames [64];
    size_t got = 0;
    ssize_t n;
    while (got < 8 + 11) {
        n = recv (server, frames + got, sizeof (frames) - got, 0);
        assert (n > 0);
        got += (size_t) n;
    }
    assert (frames [0] == 0x8a && frames [1] == (0x80 | 2));
    assert ((frames [6] ^ frames [2]) == 'h' && (frames [7] ^ frames [3]) == 'i');
    assert (frames [8] == 0x81 && frames [9] == (0x80 | 5));
    assert ((frames [14] ^ frames [10]) == 'o');
    //  A close from the server is echoed and reported
    assert (send (server, "\x88\x02\x03\xe8", 4, 0) == 4);
    S_TURN_UNTIL (net, log.closed == 1);
    assert (link.state == BENCH_LINK_CLOSED && link.fd == -1);
    n = recv (server, frames, sizeof (frames), 0);
    assert (n == 8 && frames [0] == 0x88);
    close (server);

    //  A server that does not read: what the socket does not take waits
    //  for EPOLLOUT, and every frame arrives whole and in order
    server = s_test_upgrade (net, listener, &link, "");
    S_TURN_UNTIL (net, link.state == BENCH_LINK_OPEN);
    int small = 4096;
    setsockopt (link.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof (small));
    char text [1000];
    for (int i = 0; i < 1000; i++) {
        memset (text, 'a' + i % 26, sizeof (text));
        assert (bench_net_send (net, &link, text, sizeof (text)) == 0);
        bench_net_flush (net);
    }
    assert (link.events & EPOLLOUT);            //  it filled up
    size_t frame_n = 8 + sizeof (text), total = 1000 * frame_n;
    static uint8_t all [1000 * (8 + 1000)];
    size_t have = 0;
    while (have < total) {
        bench_net_wait (net, bench_net_now () + 1000000);
        bench_net_dispatch (net);
        n = recv (server, all + have, total - have, MSG_DONTWAIT);
        if (n > 0)
            have += (size_t) n;
    }
    for (int i = 0; i < 1000; i++) {
        const uint8_t *frame = all + (size_t) i * frame_n;
        assert (frame [0] == 0x81 && frame [1] == (0x80 | 126));
        assert (frame [2] == 1000 >> 8 && frame [3] == (1000 & 0xff));
        assert ((frame [8 + 999] ^ frame [4 + (999 & 3)]) == 'a' + i % 26);
    }
    assert (!(link.events & EPOLLOUT));         //  drained: reads only
    bench_net_close (net, &link);
    n = recv (server, frames, sizeof (frames), 0);
    assert (n == 8 && frames [0] == 0x88);      //  the close frame
    close (server);
    close (listener);
    bench_net_destroy (&net);
    bench_net_destroy (&net);
    if (verbose)
        printf ("OK\n");
}
