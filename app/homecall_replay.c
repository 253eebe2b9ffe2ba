/*  homecall_replay.c - replays a recorded trace against a running server
    and shows where the server's answers differ

    homecall-replay TRACE... --url ws://HOST:PORT [--url ws://HOST:PORT]...
                    [--fast] [--timeout DURATION] [--volatile KEY]...

    One client per recorded connection (spread over the --url gateways in
    turn, in the order they opened), the recorded inbound frames sent in
    order (with the recorded pauses, or none with --fast), and every frame
    the server sends compared, as parsed JSON, with the recorded outbound
    frame (app/replay_trace.h). Values of volatile keys (default: addedAt,
    and the username and credential of TURN servers) are not compared. Exit status: 0 same, 1 different, 2 could not run.

    Order across connections is made, not hoped for. Frames of one
    connection reach rooms in order anyway; before a frame goes out on
    another connection, the last one that sent is synced: it sends a
    barrier frame that rooms refuses without changing anything (for
    /signal, an offer to a room it never joined; for p2p, a SWAP_ICE
    without userId), and its answer proves
    that rooms has handled everything before it. A close by the client is
    synced through a /signal connection of the replay's own on the same
    gateway, which the gateway passes to rooms after the close. So every
    frame meets the state the recording met, on one gateway or several.

    The WebSocket clients are app/replay_client.h's.
*/
#include "app/replay_client.h"
#include "app/replay_trace.h"
#include "common/config.h"
#include "common/utf8.h"

#include <cjson/cJSON.h>
#include <czmq.h>
#include <libwebsockets.h>       //  lws_parse_uri

#define MAX_URLS 8
#define MAX_VOLATILE 16
#define SHOWN 200               //  bytes of a frame shown in a difference
#define BARRIER_ROOM "__replay_barrier__"

typedef struct {
    rc_client_t *client;        //  the WebSocket clients
    char hosts [MAX_URLS][128]; //  --url host
    int ports [MAX_URLS];       //  --url port
    int urls_n;
    int next_url;               //  round robin
    zhashx_t *conns;            //  recorded id -> rc_conn_t
    zlistx_t *order;            //  rc_conn_t in order of opening
    rc_conn_t *sync [MAX_URLS];    //  our own /signal connection per gateway
    rc_conn_t *pending;            //  sent last, not yet synced
    bool fast;                  //  no recorded pauses
    int64_t timeout_ms;         //  for every wait
    const char *volatile_keys [MAX_VOLATILE];
    size_t volatile_n;
    int64_t started_at;         //  monotonic ms of the first record
    int64_t first_time_us;      //  recorded time of the first record
    int differences;
    int sent, compared;         //  frames
    int barriers;
    bool broken;                //  cannot go on: exit 2
} self_t;

//  Runs the clients until done (self, conn) says so or the timeout passes
static bool
s_wait (self_t *self, rc_conn_t *conn, rc_done_fn *done, int64_t timeout_ms)
{
    return rc_client_wait (self->client, conn, done, self, timeout_ms);
}

static rc_conn_t *
s_connect (self_t *self, const char *id, hc_dialect_t dialect,
           const char *path, int url)
{
    rc_conn_t *conn = rc_client_connect (self->client, id, dialect, path,
                                         self->hosts [url], self->ports [url],
                                         self->timeout_ms);
    conn->url = url;
    return conn;
}

//  ---------------------------------------------------------------------
//  Differences

static void
s_shown (const char *label, const char *data, size_t len)
{
    bool text = utf8_valid (data, len);
    printf ("  %s: %.*s%s\n", label, text ? (int) (len > SHOWN ? SHOWN : len)
                                          : 0,
            text ? data : "", !text ? "(bytes that are not UTF-8)"
                                    : len > SHOWN ? "..." : "");
}

static void
s_difference (self_t *self, const rt_record_t *record, rc_conn_t *conn,
              const char *what)
{
    self->differences++;
    if (record)
        printf ("difference %d: %s line %zu, connection %d (%s): %s\n",
                self->differences, record->file, record->line,
                conn ? conn->number : 0, conn ? conn->path : "?", what);
    else
        printf ("difference %d: after the last record, connection %d (%s): "
                "%s\n", self->differences, conn->number, conn->path, what);
}

//  ---------------------------------------------------------------------
//  Ordering

//  A barrier's answer, the first waiting on conn: in /signal a not_joined
//  error, in p2p the error of a SWAP_ICE without userId
static bool
s_barrier_answered (void *arg, rc_conn_t *conn)
{
    (void) arg;
    for (rc_frame_t *frame = (rc_frame_t *) zlistx_first (conn->rx); frame;
         frame = (rc_frame_t *) zlistx_next (conn->rx)) {
        cJSON *root = cJSON_ParseWithLength (rc_frame_payload (frame), frame->len);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive (root, "type");
        const cJSON *code = cJSON_GetObjectItemCaseSensitive (root, "code");
        const cJSON *handler = cJSON_GetObjectItemCaseSensitive (root,
                                                                 "handler");
        const cJSON *context = cJSON_GetObjectItemCaseSensitive (root,
                                                                 "context");
        bool error = cJSON_IsString (type)
                  && streq (type->valuestring, "error");
        bool answer = conn->dialect == HC_DIALECT_SIGNAL
                    ? error && cJSON_IsString (code)
                      && streq (code->valuestring, "not_joined")
                    : error && cJSON_IsString (handler)
                      && streq (handler->valuestring, "SWAP_ICE")
                      && cJSON_IsObject (context) && !context->child;
        cJSON_Delete (root);
        if (answer) {
            zlistx_delete (conn->rx, zlistx_cursor (conn->rx));
            return true;
        }
    }
    return conn->state != RC_OPEN;
}

//  True once rooms has handled everything conn sent before
static bool
s_barrier (self_t *self, rc_conn_t *conn)
{
    if (conn->state != RC_OPEN)
        return false;
    //  Frames rooms always refuses, changing nothing
    char frame [128];
    int len = conn->dialect == HC_DIALECT_SIGNAL
            ? snprintf (frame, sizeof (frame), "{\"type\":\"offer\",\"room\":"
                        "\"" BARRIER_ROOM "\",\"sdp\":\"barrier-%d\"}",
                        ++self->barriers)
            : snprintf (frame, sizeof (frame), "{\"route\":\"SWAP_ICE\"}");
    rc_conn_send (conn, frame, (size_t) len, false);
    return s_wait (self, conn, s_barrier_answered, self->timeout_ms)
        && conn->state == RC_OPEN;
}

//  Through our own connection to the gateway: it has passed on everything
//  it had read before (closes included)
static void
s_sync_gateway (self_t *self, int url)
{
    if (!self->sync [url] || self->sync [url]->state != RC_OPEN) {
        void *old = self->sync [url];
        rc_conn_destroy (&old);
        self->sync [url] = s_connect (self, "sync", HC_DIALECT_SIGNAL,
                                      "/signal", url);
    }
    if (!s_barrier (self, self->sync [url])) {
        fprintf (stderr, "homecall-replay: no answer from %s:%d on a /signal "
                 "connection of ours\n", self->hosts [url], self->ports [url]);
        self->broken = true;
    }
}

static void
s_sync (self_t *self, rc_conn_t *conn)
{
    if (conn && !self->broken && !s_barrier (self, conn))
        s_sync_gateway (self, conn->url);
}

//  Before a record that acts on conn: what another connection sent is done
static void
s_sync_others (self_t *self, rc_conn_t *conn)
{
    if (self->pending && self->pending != conn)
        s_sync (self, self->pending);
    if (self->pending != conn)
        self->pending = NULL;
}

static void
s_pace (self_t *self, const rt_record_t *record)
{
    if (self->fast)
        return;
    int64_t due = self->started_at
                + (record->time_us - self->first_time_us) / 1000;
    int64_t wait = due - zclock_mono ();
    if (wait > 0)
        s_wait (self, NULL, rc_never, wait);
}

//  ---------------------------------------------------------------------
//  Records

static void
s_open (self_t *self, const rt_record_t *record)
{
    s_sync_others (self, NULL);
    s_pace (self, record);
    int url = self->next_url++ % self->urls_n;
    rc_conn_t *conn = s_connect (self, record->conn, record->dialect,
                              record->path, url);
    conn->number = (int) zlistx_size (self->order) + 1;
    zlistx_add_end (self->order, conn);
    if (zhashx_insert (self->conns, conn->id, conn)) {
        fprintf (stderr, "homecall-replay: %s line %zu: connection %s opens "
                 "twice\n", record->file, record->line, record->conn);
        self->broken = true;
    }
    if (conn->state == RC_FAILED) {
        char what [200];
        snprintf (what, sizeof (what), "could not connect (%s)", conn->error);
        s_difference (self, record, conn, what);
    }
}

static void
s_in (self_t *self, const rt_record_t *record, rc_conn_t *conn)
{
    if (conn->state != RC_OPEN) {
        s_difference (self, record, conn, "cannot send: the connection is "
                                          "closed");
        return;
    }
    s_sync_others (self, conn);
    s_pace (self, record);
    if (record->oversize) {
        char *big = (char *) malloc (record->oversize);
        memset (big, 'x', record->oversize);
        rc_conn_send (conn, big, record->oversize, false);
        free (big);
        conn->sent_oversize = true;
    }
    else
        rc_conn_send (conn, record->frame, record->frame_len, record->binary);
    s_wait (self, conn, rc_conn_sent, self->timeout_ms);
    self->sent++;
    self->pending = conn;
}

static void
s_out (self_t *self, const rt_record_t *record, rc_conn_t *conn)
{
    self->compared++;
    s_wait (self, conn, rc_conn_received, self->timeout_ms);
    rc_frame_t *frame = (rc_frame_t *) zlistx_first (conn->rx);
    if (!frame) {
        s_difference (self, record, conn, conn->state == RC_OPEN
                      ? "an expected frame did not come"
                      : "an expected frame did not come (closed)");
        s_shown ("expected", record->frame, record->frame_len);
        return;
    }
    zlistx_detach_cur (conn->rx);
    hc_buf_t diff;
    hc_buf_init (&diff, 0);
    if (rt_compare (record, rc_frame_payload (frame), frame->len, frame->binary,
                    self->volatile_keys, self->volatile_n, &diff)) {
        s_difference (self, record, conn, "the frame differs");
        s_shown ("expected", record->frame, record->frame_len);
        s_shown ("received", rc_frame_payload (frame), frame->len);
        fputs (hc_buf_cstr (&diff), stdout);
    }
    hc_buf_free (&diff);
    void *item = frame;
    rc_frame_destroy (&item);
}

static void
s_close (self_t *self, const rt_record_t *record, rc_conn_t *conn)
{
    if (record->by_client) {
        s_sync_others (self, conn);
        //  What the server sent this client before it left must be here
        if (self->pending == conn)
            s_sync (self, conn);
        s_pace (self, record);
        //  1005, 1006 and 1015 never go on the wire
        bool sendable = record->code >= 1000 && record->code < 5000
                     && record->code != 1005 && record->code != 1006
                     && record->code != 1015;
        rc_conn_close (conn, sendable ? (uint16_t) record->code : 1000);
        s_wait (self, conn, rc_conn_closed, self->timeout_ms);
        if (self->pending == conn)
            self->pending = NULL;
        s_sync_gateway (self, conn->url);
        return;
    }
    if (!s_wait (self, conn, rc_conn_closed, self->timeout_ms)) {
        s_difference (self, record, conn, "the server did not close the "
                                          "connection");
        return;
    }
    if (self->pending == conn)
        self->pending = NULL;
    int code = conn->peer_closed ? conn->peer_code : 1006;
    const char *reason = record->reason ? record->reason : "";
    //  The server stops reading a message that is too large and closes
    //  with 1009; the rest of it, still coming, can make that close a
    //  reset before the close frame is read, and that is the same refusal
    bool reset = conn->sent_oversize && code == 1006 && record->code == 1009;
    if (!reset && (code != record->code
                   || (conn->peer_closed
                       && !streq (conn->peer_reason, reason)))) {
        char what [400];
        snprintf (what, sizeof (what), "closed with %d \"%s\", expected %d "
                  "\"%s\"", code, conn->peer_reason, record->code, reason);
        s_difference (self, record, conn, what);
    }
}

//  Every frame rooms meant for anyone has arrived: nothing may be left
static void
s_finish (self_t *self)
{
    s_sync_others (self, NULL);
    for (rc_conn_t *conn = (rc_conn_t *) zlistx_first (self->order); conn;
         conn = (rc_conn_t *) zlistx_next (self->order))
        if (conn->state == RC_OPEN && !s_barrier (self, conn))
            s_sync_gateway (self, conn->url);
    for (rc_conn_t *conn = (rc_conn_t *) zlistx_first (self->order); conn;
         conn = (rc_conn_t *) zlistx_next (self->order)) {
        rc_frame_t *frame;
        while ((frame = (rc_frame_t *) zlistx_first (conn->rx))) {
            s_difference (self, NULL, conn, "a frame the trace does not have");
            s_shown ("received", rc_frame_payload (frame), frame->len);
            zlistx_delete (conn->rx, zlistx_cursor (conn->rx));
        }
        if (conn->state == RC_OPEN) {
            rc_conn_close (conn, 1000);
            s_wait (self, conn, rc_conn_closed, 1000);
        }
    }
}

//  ---------------------------------------------------------------------
//  Main

static void
s_usage (void)
{
    fprintf (stderr,
             "usage: homecall-replay TRACE... --url ws://HOST:PORT "
             "[--url ws://HOST:PORT]...\n"
             "                       [--fast] [--timeout DURATION] "
             "[--volatile KEY]...\n"
             "  Replays the traces (homecall --trace FILE) against a running "
             "server and\n"
             "  prints every difference; exits 0 if none, 1 if any, 2 if it "
             "could not run.\n"
             "  --fast      send without the recorded pauses\n"
             "  --timeout   how long to wait for a frame (default 5s)\n"
             "  --volatile  a key whose value is not compared (default: "
             "addedAt, username,\n"
             "              credential)\n");
}

static int
s_add_url (self_t *self, const char *url)
{
    if (self->urls_n == MAX_URLS || strncmp (url, "ws://", 5) != 0)
        return -1;
    char copy [256];
    snprintf (copy, sizeof (copy), "%s", url);
    const char *scheme, *host, *path;
    int port = 0;
    if (lws_parse_uri (copy, &scheme, &host, &port, &path) || port <= 0)
        return -1;
    snprintf (self->hosts [self->urls_n], 128, "%s", host);
    self->ports [self->urls_n++] = port;
    return 0;
}

//  Reads the command line into self and files; 0 to run, 1 when --help
//  was asked for, -1 on a bad argument
static int
s_arguments (self_t *self, int argc, char **argv, const char **files,
             int *files_n)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (streq (arg, "--help") || streq (arg, "-h"))
            return 1;
        if (streq (arg, "--fast"))
            self->fast = true;
        else
        if (streq (arg, "--url") && value && s_add_url (self, value) == 0)
            i++;
        else
        if (streq (arg, "--timeout") && value
        &&  hc_parse_duration_ms (value, &self->timeout_ms) == 0)
            i++;
        else
        if (streq (arg, "--volatile") && value
        &&  self->volatile_n < MAX_VOLATILE) {
            self->volatile_keys [self->volatile_n++] = value;
            i++;
        }
        else
        if (arg [0] != '-' && *files_n < 64)
            files [(*files_n)++] = arg;
        else {
            fprintf (stderr, "homecall-replay: cannot use '%s'%s%s\n", arg,
                     value ? " " : "", value ? value : "");
            return -1;
        }
    }
    if (*files_n == 0 || self->urls_n == 0)
        return -1;
    //  p2p's timestamp, and TURN credentials (made anew for each asking)
    if (self->volatile_n == 0) {
        self->volatile_keys [self->volatile_n++] = "addedAt";
        self->volatile_keys [self->volatile_n++] = "username";
        self->volatile_keys [self->volatile_n++] = "credential";
    }
    return 0;
}

//  Replays every record; the exit code
static int
s_replay (self_t *self, const rt_trace_t *trace)
{
    self->started_at = zclock_mono ();
    self->first_time_us = trace->size ? trace->items [0].time_us : 0;
    for (size_t i = 0; i < trace->size && !self->broken; i++) {
        const rt_record_t *record = &trace->items [i];
        if (record->dir == RT_OPEN) {
            s_open (self, record);
            continue;
        }
        rc_conn_t *conn = (rc_conn_t *) zhashx_lookup (self->conns, record->conn);
        if (!conn) {
            fprintf (stderr, "homecall-replay: %s line %zu: connection %s "
                     "was never opened\n", record->file, record->line,
                     record->conn);
            return 2;
        }
        if (record->dir == RT_IN)
            s_in (self, record, conn);
        else
        if (record->dir == RT_OUT)
            s_out (self, record, conn);
        else
            s_close (self, record, conn);
    }
    if (self->broken)
        return 2;
    s_finish (self);
    printf ("homecall-replay: %zu connections, %d frames sent, %d compared, "
            "%d difference%s\n", zlistx_size (self->order), self->sent,
            self->compared, self->differences,
            self->differences == 1 ? "" : "s");
    for (int url = 0; url < self->urls_n; url++)
        if (self->sync [url] && self->sync [url]->state == RC_OPEN) {
            rc_conn_close (self->sync [url], 1000);
            s_wait (self, self->sync [url], rc_conn_closed, 1000);
        }
    return self->broken ? 2 : self->differences ? 1 : 0;
}

int
main (int argc, char **argv)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->timeout_ms = 5000;
    rt_trace_t trace = {NULL, 0, 0};
    const char *files [64];
    int files_n = 0;
    int rc = s_arguments (self, argc, argv, files, &files_n);
    if (rc) {
        s_usage ();
        free (self);
        return rc == 1 ? 0 : 2;
    }
    char err [512];
    for (int i = 0; i < files_n && rc == 0; i++)
        if (rt_trace_load (&trace, files [i], err, sizeof (err))) {
            fprintf (stderr, "homecall-replay: %s\n", err);
            rc = 2;
        }
    rt_trace_sort (&trace);

    if (rc == 0)
        self->client = rc_client_new ();
    if (rc == 0 && !self->client) {
        fprintf (stderr, "homecall-replay: libwebsockets would not start\n");
        rc = 2;
    }
    self->conns = zhashx_new ();
    self->order = zlistx_new ();
    zlistx_set_destructor (self->order, rc_conn_destroy);
    if (rc == 0)
        rc = s_replay (self, &trace);
    rc_client_destroy (&self->client);
    for (int url = 0; url < self->urls_n; url++) {
        void *item = self->sync [url];
        rc_conn_destroy (&item);
    }
    zhashx_destroy (&self->conns);
    zlistx_destroy (&self->order);
    rt_trace_free (&trace);
    free (self);
    return rc;
}
