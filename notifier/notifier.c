/*  notifier.c - the actor that owns logging

    Start-up waits until its own probe has gone round the bus (PUB ->
    XSUB -> XPUB -> SUB), so records published after START are not lost to
    ZeroMQ's slow-joiner effect. On $TERM it drains what is already on its
    way for a moment, so the last lines of a shutdown are written.
*/
#include "notifier.h"
#include "log_line.h"
#include "../common/config.h"
#include "../common/endpoints.h"
#include "../common/link.h"
#include "../common/log.h"

#include <fcntl.h>
#include <unistd.h>

#define PROBE_TOPIC "sys.probe"
#define PROBE_TRIES 200         //  10 ms apart
#define DRAIN_QUIET_MS 30       //  at exit, stop after this much silence
#define DRAIN_MAX_MS 500        //  ...or after this long in all

typedef struct {
    zsock_t *pipe;              //  actor pipe: START, REOPEN, $TERM
    zsock_t *sub;               //  event bus subscriber
    zsock_t *pub;               //  event bus publisher (our own records)
    zpoller_t *poller;
    hc_config_t cfg;            //  our copy of the settings
    hc_log_t *log;
    msg_dec_t *dec;
    hc_buf_t line;              //  reused output line
    bool json;                  //  JSON lines instead of text
    int file_fd;                //  LOG_FILE, or -1
    bool started;
    bool terminated;
    uint64_t malformed;         //  bus messages we could not read
} self_t;

static int
s_open_file (self_t *self)
{
    if (!self->cfg.log_file [0])
        return 0;
    int fd = open (self->cfg.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                   0640);
    if (fd == -1) {
        fprintf (stderr, "homecall: cannot open log file %s: %s\n",
                 self->cfg.log_file, strerror (errno));
        return -1;
    }
    if (self->file_fd != -1)
        close (self->file_fd);
    self->file_fd = fd;
    return 0;
}

//  Writes the whole line; each write() of one line is atomic for O_APPEND
static void
s_write_all (int fd, const char *data, size_t size)
{
    while (size) {
        ssize_t n = write (fd, data, size);
        if (n <= 0) {
            if (n == -1 && errno == EINTR)
                continue;
            return;             //  nowhere left to complain to
        }
        data += n;
        size -= (size_t) n;
    }
}

static void
s_handle_record (self_t *self, zframe_t *body)
{
    msg_log_t record;
    if (msg_dec_log (self->dec, zframe_data (body), zframe_size (body),
                     &record)) {
        self->malformed++;
        return;
    }
    if (record.level < self->cfg.log_level)
        return;
    hc_buf_reset (&self->line);
    log_line_format (&self->line, &record, self->json);
    if (self->line.failed)
        return;
    s_write_all (STDERR_FILENO, self->line.data, self->line.len);
    if (self->file_fd != -1)
        s_write_all (self->file_fd, self->line.data, self->line.len);
}

static void
s_handle_sub (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->sub);
    if (!msg)
        return;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    if (zmsg_size (msg) == 2 && zframe_size (topic) > strlen (MSG_LOG_TOPIC)
    &&  memcmp (zframe_data (topic), MSG_LOG_TOPIC, strlen (MSG_LOG_TOPIC))
            == 0)
        s_handle_record (self, body);
    zmsg_destroy (&msg);
}

//  Sends probes until one comes back through the bus
static bool
s_probe_bus (self_t *self)
{
    zsock_set_subscribe (self->sub, PROBE_TOPIC);
    bool seen = false;
    for (int attempt = 0; attempt < PROBE_TRIES && !seen; attempt++) {
        zstr_sendx (self->pub, PROBE_TOPIC, "", NULL);
        zpoller_t *poller = zpoller_new (self->sub, NULL);
        while (!seen && zpoller_wait (poller, 10)) {
            zmsg_t *msg = zmsg_recv (self->sub);
            zframe_t *topic = msg ? zmsg_first (msg) : NULL;
            if (topic && zframe_streq (topic, PROBE_TOPIC))
                seen = true;
            else
            if (msg && zmsg_size (msg) == 2) {
                zframe_t *body = zmsg_next (msg);
                s_handle_record (self, body);   //  an early record
            }
            zmsg_destroy (&msg);
        }
        zpoller_destroy (&poller);
    }
    zsock_set_unsubscribe (self->sub, PROBE_TOPIC);
    return seen;
}

static int
s_start (self_t *self)
{
    if (s_open_file (self))
        return -1;
    hc_link_connect (self->sub, hc_endpoint_subscribe (&self->cfg),
                     &self->cfg);
    zsock_set_subscribe (self->sub, MSG_LOG_TOPIC);
    bool linked = s_probe_bus (self);
    zpoller_add (self->poller, self->sub);
    self->started = true;
    if (linked)
        HC_LOG (self->log, HC_LOG_INFO, "notifier.ready",
                hc_field_str ("format", hc_str (self->json ? "json" : "text")),
                hc_field_str ("file", hc_str (self->cfg.log_file)));
    else
        fprintf (stderr, "homecall: notifier: the event bus at %s did not "
                         "answer; log records may be lost until it does\n",
                 hc_endpoint_subscribe (&self->cfg));
    return 0;
}

static void
s_handle_pipe (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, "START") && !self->started)
        zsock_send (self->pipe, "i", s_start (self));
    else
    if (streq (command, "REOPEN")) {
        if (s_open_file (self) == 0)
            HC_LOG (self->log, HC_LOG_INFO, "notifier.reopened",
                    hc_field_str ("file", hc_str (self->cfg.log_file)));
    }
    else {
        zsys_error ("notifier: invalid pipe command '%s'", command);
        assert (false);
    }
    zstr_free (&command);
}

//  What is already on its way still gets written
static void
s_drain_at_exit (self_t *self)
{
    if (!self->started)
        return;
    int64_t until = zclock_mono () + DRAIN_MAX_MS;
    zpoller_t *poller = zpoller_new (self->sub, NULL);
    while (zclock_mono () < until && zpoller_wait (poller, DRAIN_QUIET_MS))
        s_handle_sub (self);
    zpoller_destroy (&poller);
}

void
notifier_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->cfg = *(const hc_config_t *) args;
    self->file_fd = -1;
    self->json = self->cfg.log_format == HC_LOG_FORMAT_JSON
              || (self->cfg.log_format == HC_LOG_FORMAT_AUTO
                  && !isatty (STDERR_FILENO));
    self->sub = zsock_new (ZMQ_SUB);
    self->pub = hc_log_pub_new (hc_endpoint_publish (&self->cfg));
    assert (self->sub && self->pub);
    zsock_set_rcvhwm (self->sub, 100000);
    self->poller = zpoller_new (pipe, NULL);
    self->log = hc_log_new (self->pub, "notifier", self->cfg.log_level);
    self->dec = msg_dec_new ();
    hc_buf_init (&self->line, 0);
    zsock_signal (pipe, 0);

    while (!self->terminated) {
        zsock_t *which = (zsock_t *) zpoller_wait (self->poller, -1);
        if (zpoller_terminated (self->poller))
            break;
        if (which == pipe)
            s_handle_pipe (self);
        else
        if (which == self->sub)
            s_handle_sub (self);
    }
    s_drain_at_exit (self);

    hc_buf_free (&self->line);
    msg_dec_destroy (&self->dec);
    hc_log_destroy (&self->log);
    zpoller_destroy (&self->poller);
    zsock_destroy (&self->sub);
    zsock_destroy (&self->pub);
    if (self->file_fd != -1)
        close (self->file_fd);
    free (self);
}
