/*  bare_relay.c - the floor homecall is measured against: a bare relay

    bare_relay [--host ADDR] [--port N] [--ping-interval S]
               [--ping-timeout S] [--no-validate-utf8]

    One thread, libwebsockets on libev (LWS_SERVER_OPTION_LIBEV, and
    LWS_SERVER_OPTION_VALIDATE_UTF8: text frames are checked for UTF-8, as
    RFC 6455 asks and homecall does; --no-validate-utf8 leaves that out).
    Pings are its own, O(1) per connection: a connection moves to the tail
    of a FIFO at each frame it sends, so the FIFO stays in deadline order
    and a timer only looks at its head. (lws's own idle policy keeps one
    timer per connection in a sorted list: O(connections) at each re-arm,
    which at 19,000 connections and 5 s pings is more than a core.)
    Each text frame is parsed
    with cJSON, its room looked up in a hash table, and the frame written
    to the room's other members in homecall's /signal format. No actors,
    no ZeroMQ, no logging, no queue for absent members, no limits: what a
    relay costs when it does nothing else (docs/performance.md).

    Speaks enough of /signal for homecall-bench: join; offer, answer and
    candidate relayed as {"type":T,"room":R,"from":F,"sdp"|"candidate":V}
    to every other member; a signal naming a room the sender is not in, or
    sent before joining, gets {"type":"error",...,"code":"not_joined"}
    (the bench's barrier). Prints "bare_relay: listening on PORT" once
    ready; SIGTERM or SIGINT stops it.
*/
#include <cjson/cJSON.h>
#include <ev.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define BUCKETS 65536           //  rooms hash table (chained)
#define MEMBERS_MAX 16          //  per room
#define FRAME_MAX 65536         //  largest client message

typedef struct out_s {
    struct out_s *next;
    size_t size;
    unsigned char data [];      //  LWS_PRE, then the frame
} out_t;

typedef struct room_s room_t;

typedef struct session_s session_t;

//  Connections in deadline order: all of one list have the same delay
typedef struct {
    session_t *head, *tail;
} fifo_t;

struct session_s {
    struct lws *wsi;
    session_t *prev, *next;     //  in the idle or the pinged FIFO
    fifo_t *fifo;               //  which one
    double deadline;            //  ping (idle FIFO) or drop (pinged FIFO)
    bool want_ping;             //  a ping is to be written
    room_t *room;               //  the room joined, or NULL
    char user [257];            //  the name in it
    out_t *head, *tail;         //  frames to write
    char *rx;                   //  the frame being reassembled
    size_t rx_size;
};

struct room_s {
    room_t *next;               //  in its bucket
    char name [257];
    session_t *members [MEMBERS_MAX];
    int members_n;
};

static room_t *s_buckets [BUCKETS];
static struct ev_loop *s_loop;
static fifo_t s_idle, s_pinged;
static double s_ping_interval = 30, s_ping_timeout = 30;

static void
s_fifo_remove (session_t *session)
{
    fifo_t *fifo = session->fifo;
    if (!fifo)
        return;
    if (session->prev)
        session->prev->next = session->next;
    else
        fifo->head = session->next;
    if (session->next)
        session->next->prev = session->prev;
    else
        fifo->tail = session->prev;
    session->prev = session->next = NULL;
    session->fifo = NULL;
}

static void
s_fifo_append (fifo_t *fifo, session_t *session, double deadline)
{
    s_fifo_remove (session);
    session->deadline = deadline;
    session->fifo = fifo;
    session->prev = fifo->tail;
    if (fifo->tail)
        fifo->tail->next = session;
    else
        fifo->head = session;
    fifo->tail = session;
}

//  The peer spoke: its next ping is an interval away
static void
s_alive (session_t *session)
{
    s_fifo_append (&s_idle, session, ev_now (s_loop) + s_ping_interval);
}

//  Pings the connections silent for an interval, drops those that did
//  not answer within the timeout; looks only at the FIFOs' heads
static void
s_liveness (struct ev_loop *loop, ev_timer *timer, int revents)
{
    (void) timer;
    (void) revents;
    double now = ev_now (loop);
    while (s_pinged.head && s_pinged.head->deadline <= now) {
        session_t *session = s_pinged.head;
        s_fifo_remove (session);
        lws_set_timeout (session->wsi, PENDING_TIMEOUT_LAGGING,
                         LWS_TO_KILL_ASYNC);
    }
    while (s_idle.head && s_idle.head->deadline <= now) {
        session_t *session = s_idle.head;
        s_fifo_append (&s_pinged, session, now + s_ping_timeout);
        session->want_ping = true;
        lws_callback_on_writable (session->wsi);
    }
}

static unsigned
s_hash (const char *name)
{
    unsigned hash = 2166136261u;        //  FNV-1a
    for (; *name; name++)
        hash = (hash ^ (unsigned char) *name) * 16777619u;
    return hash % BUCKETS;
}

static room_t *
s_room (const char *name, bool create)
{
    room_t **slot = &s_buckets [s_hash (name)];
    for (room_t *room = *slot; room; room = room->next)
        if (strcmp (room->name, name) == 0)
            return room;
    if (!create)
        return NULL;
    room_t *room = (room_t *) calloc (1, sizeof (room_t));
    if (!room)
        return NULL;
    snprintf (room->name, sizeof (room->name), "%s", name);
    room->next = *slot;
    *slot = room;
    return room;
}

static void
s_leave (session_t *session)
{
    room_t *room = session->room;
    if (!room)
        return;
    for (int i = 0; i < room->members_n; i++)
        if (room->members [i] == session) {
            room->members [i] = room->members [--room->members_n];
            break;
        }
    session->room = NULL;
    if (room->members_n)
        return;
    room_t **slot = &s_buckets [s_hash (room->name)];
    while (*slot != room)
        slot = &(*slot)->next;
    *slot = room->next;
    free (room);
}

static void
s_send (session_t *session, const char *text, size_t size)
{
    out_t *out = (out_t *) malloc (sizeof (out_t) + LWS_PRE + size);
    if (!out)
        return;
    out->next = NULL;
    out->size = size;
    memcpy (out->data + LWS_PRE, text, size);
    if (session->tail)
        session->tail->next = out;
    else
        session->head = out;
    session->tail = out;
    lws_callback_on_writable (session->wsi);
}

static void
s_not_joined (session_t *session)
{
    static const char error [] = "{\"type\":\"error\",\"message\":\"This "
        "connection has not joined that room.\",\"code\":\"not_joined\"}";
    s_send (session, error, sizeof (error) - 1);
}

static void
s_relay (session_t *session, const char *type, cJSON *frame)
{
    bool candidate = strcmp (type, "candidate") == 0;
    cJSON *room = cJSON_GetObjectItemCaseSensitive (frame, "room");
    cJSON *value = cJSON_GetObjectItemCaseSensitive (frame, candidate
                                                     ? "candidate" : "sdp");
    if (!value)
        return;
    if (!session->room || (cJSON_IsString (room)
                           && strcmp (room->valuestring, session->room->name))) {
        s_not_joined (session);
        return;
    }
    char *printed = cJSON_PrintUnformatted (value);
    if (!printed)
        return;
    size_t size = strlen (printed) + 2 * sizeof (session->user) + 64;
    char *text = (char *) malloc (size);
    if (text) {
        int n = snprintf (text, size, "{\"type\":\"%s\",\"room\":\"%s\","
                          "\"from\":\"%s\",\"%s\":%s}", type,
                          session->room->name, session->user,
                          candidate ? "candidate" : "sdp", printed);
        room_t *to = session->room;
        for (int i = 0; n > 0 && i < to->members_n; i++)
            if (to->members [i] != session)
                s_send (to->members [i], text, (size_t) n);
        free (text);
    }
    free (printed);
}

static void
s_received (session_t *session, const char *data, size_t size)
{
    cJSON *frame = cJSON_ParseWithLength (data, size);
    cJSON *type = cJSON_GetObjectItemCaseSensitive (frame, "type");
    if (!cJSON_IsString (type)) {
        cJSON_Delete (frame);
        return;
    }
    if (strcmp (type->valuestring, "join") == 0) {
        cJSON *room = cJSON_GetObjectItemCaseSensitive (frame, "room");
        cJSON *user = cJSON_GetObjectItemCaseSensitive (frame, "user");
        if (cJSON_IsString (room) && cJSON_IsString (user)
        &&  strlen (room->valuestring) <= 256
        &&  strlen (user->valuestring) <= 256) {
            s_leave (session);
            room_t *joined = s_room (room->valuestring, true);
            if (joined && joined->members_n < MEMBERS_MAX) {
                joined->members [joined->members_n++] = session;
                session->room = joined;
                snprintf (session->user, sizeof (session->user), "%s",
                          user->valuestring);
            }
        }
    }
    else
    if (strcmp (type->valuestring, "offer") == 0
    ||  strcmp (type->valuestring, "answer") == 0
    ||  strcmp (type->valuestring, "candidate") == 0)
        s_relay (session, type->valuestring, frame);
    cJSON_Delete (frame);
}

static int
s_callback (struct lws *wsi, enum lws_callback_reasons reason, void *user,
            void *in, size_t len)
{
    session_t *session = (session_t *) user;
    switch (reason) {
        case LWS_CALLBACK_ESTABLISHED:
            memset (session, 0, sizeof (*session));
            session->wsi = wsi;
            s_alive (session);
            break;
        case LWS_CALLBACK_RECEIVE_PONG:
            s_alive (session);
            break;
        case LWS_CALLBACK_RECEIVE: {
            s_alive (session);
            bool whole = lws_is_final_fragment (wsi)
                      && !lws_remaining_packet_payload (wsi);
            if (whole && !session->rx_size) {
                s_received (session, (const char *) in, len);
                break;
            }
            if (session->rx_size + len > FRAME_MAX)
                return -1;
            char *grown = (char *) realloc (session->rx,
                                            session->rx_size + len);
            if (!grown)
                return -1;
            session->rx = grown;
            memcpy (session->rx + session->rx_size, in, len);
            session->rx_size += len;
            if (whole) {
                s_received (session, session->rx, session->rx_size);
                session->rx_size = 0;
            }
            break;
        }
        case LWS_CALLBACK_SERVER_WRITEABLE: {
            if (session->want_ping) {
                session->want_ping = false;
                //  A payload: lws 4.1 tells the protocol of no empty pong
                unsigned char ping [LWS_PRE + 1] = {[LWS_PRE] = 'p'};
                if (lws_write (wsi, ping + LWS_PRE, 1, LWS_WRITE_PING) < 1)
                    return -1;
                if (session->head)
                    lws_callback_on_writable (wsi);
                break;
            }
            out_t *out = session->head;
            if (!out)
                break;
            session->head = out->next;
            if (!session->head)
                session->tail = NULL;
            int written = lws_write (wsi, out->data + LWS_PRE, out->size,
                                     LWS_WRITE_TEXT);
            bool failed = written < (int) out->size;
            free (out);
            if (failed)
                return -1;
            if (session->head)
                lws_callback_on_writable (wsi);
            break;
        }
        case LWS_CALLBACK_CLOSED:
            s_fifo_remove (session);
            s_leave (session);
            while (session->head) {
                out_t *out = session->head;
                session->head = out->next;
                free (out);
            }
            free (session->rx);
            session->rx = NULL;
            break;
        default:
            break;
    }
    return 0;
}

static const struct lws_protocols s_protocols [] = {
    {"signal", s_callback, sizeof (session_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}
};

static void
s_stop (struct ev_loop *loop, ev_signal *watcher, int revents)
{
    (void) watcher;
    (void) revents;
    ev_break (loop, EVBREAK_ALL);
}

int
main (int argc, char *argv [])
{
    const char *host = "127.0.0.1";
    int port = 0;
    bool validate_utf8 = true;
    for (int i = 1; i < argc; i += 2) {
        if (strcmp (argv [i], "--no-validate-utf8") == 0) {
            validate_utf8 = false;
            i--;
        }
        else
        if (i + 1 == argc) {
            fprintf (stderr, "bare_relay: %s needs a value\n", argv [i]);
            return 2;
        }
        else
        if (strcmp (argv [i], "--host") == 0)
            host = argv [i + 1];
        else
        if (strcmp (argv [i], "--port") == 0)
            port = atoi (argv [i + 1]);
        else
        if (strcmp (argv [i], "--ping-interval") == 0)
            s_ping_interval = atof (argv [i + 1]);
        else
        if (strcmp (argv [i], "--ping-timeout") == 0)
            s_ping_timeout = atof (argv [i + 1]);
        else {
            fprintf (stderr, "usage: bare_relay [--host ADDR] [--port N] "
                     "[--ping-interval S] [--ping-timeout S] "
                     "[--no-validate-utf8]\n");
            return 2;
        }
    }
    signal (SIGPIPE, SIG_IGN);
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit (RLIMIT_NOFILE, &limit);
    }
    lws_set_log_level (LLL_ERR, NULL);
    s_loop = ev_loop_new (EVBACKEND_EPOLL);
    //  No lws idle policy (no timer per connection): s_liveness pings
    lws_retry_bo_t no_validity = {
        .secs_since_valid_ping = 0,
        .secs_since_valid_hangup = 0,
    };
    void *foreign_loops [] = {s_loop};
    struct lws_context_creation_info info;
    memset (&info, 0, sizeof (info));
    info.port = port;
    info.iface = host;
    info.protocols = s_protocols;
    info.options = LWS_SERVER_OPTION_LIBEV
                 | (validate_utf8 ? LWS_SERVER_OPTION_VALIDATE_UTF8 : 0);
    info.foreign_loops = foreign_loops;
    info.retry_and_idle_policy = &no_validity;
    //  No fd_limit_per_thread: with it lws 4.1 finds a connection from its
    //  fd by a linear scan; without it, by a table of RLIMIT_NOFILE slots
    info.timeout_secs = 20;
    struct lws_context *ctx = lws_create_context (&info);
    if (!ctx) {
        fprintf (stderr, "bare_relay: cannot listen on %s:%d\n", host, port);
        return 1;
    }
    struct lws_vhost *vhost = lws_get_vhost_by_name (ctx, "default");
    printf ("bare_relay: listening on %d\n",
            vhost ? lws_get_vhost_listen_port (vhost) : port);
    fflush (stdout);
    ev_timer liveness;
    ev_timer_init (&liveness, s_liveness, 0.1, 0.1);
    ev_timer_start (s_loop, &liveness);
    ev_signal term, interrupt;
    ev_signal_init (&term, s_stop, SIGTERM);
    ev_signal_init (&interrupt, s_stop, SIGINT);
    ev_signal_start (s_loop, &term);
    ev_signal_start (s_loop, &interrupt);
    ev_run (s_loop, 0);
    ev_timer_stop (s_loop, &liveness);
    ev_signal_stop (s_loop, &term);
    ev_signal_stop (s_loop, &interrupt);
    lws_context_destroy (ctx);
    ev_run (s_loop, 0);
    ev_loop_destroy (s_loop);
    return 0;
}
