/*  notifier.c - the actor that owns logging and alerting

    Start-up waits until its own probe has gone round the bus (PUB ->
    XSUB -> XPUB -> SUB), so records published after START are not lost to
    ZeroMQ's slow-joiner effect. On $TERM it drains what is already on its
    way for a moment, so the last lines of a shutdown are written.

    Alerts: each record is also shown to the bot (bot.c), which decides
    with alerts.c what goes to Telegram and when. All its waiting (rate
    limits, retry_after, backoff, curl's own timers) is the timeout of the
    one zmq_poll below, which also watches curl's sockets as raw fds (a
    zpoller cannot), so $TERM and the bus are always served at once and a
    slow or hanging Bot API holds up nothing but its own messages. On $TERM
    the alerts still queued (the server's stop, typically) get a short
    grace period to go out.
*/
#include "notifier.h"
#include "bot.h"
#include "log_line.h"
#include "telegram.h"
#include "../common/bus.h"
#include "../common/config.h"
#include "../common/endpoints.h"
#include "../common/link.h"
#include "../common/log.h"
#include "../common/sock.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#define PROBE_TOPIC "sys.probe"
#define PROBE_TRIES 200         //  10 ms apart, at start
#define STOP_PROBE_TRIES 50     //  ...at $TERM
#define DRAIN_QUIET_MS 30       //  at exit, stop after this much silence
#define DRAIN_MAX_MS 500        //  ...or after this long in all
#define DRAIN_BATCH 1000        //  records per wakeup before polling again
#define GATHER_MS 1             //  rest after records, for more to gather
#define CURL_ITEMS_MAX 256      //  curl sockets watched at once

typedef struct {
    zsock_t *pipe;              //  actor pipe: START, REOPEN, $TERM
    zsock_t *sub;               //  event bus subscriber
    zsock_t *pub;               //  event bus publisher (our own records)
    hc_config_t cfg;            //  our copy of the settings
    hc_log_t *log;              //  our own records, through the bus
    msg_dec_t *dec;             //  reused record decoder
    hc_buf_t line;              //  reused output line
    hc_buf_t lines;             //  lines not yet written (s_write_lines)
    bool json;                  //  JSON lines instead of text
    int file_fd;                //  LOG_FILE, or -1
    bool file_failing;          //  the last write to it failed (said once)
    bool started;               //  START done
    bool terminated;            //  $TERM received
    uint64_t malformed;         //  bus messages we could not read
    char host [64];             //  named in alerts
    bot_t *bot;                 //  Telegram alerts; NULL when off
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

//  Writes the whole line; each write() of one line is atomic for O_APPEND.
//  Returns 0, or the errno of the write that failed.
static int
s_write_all (int fd, const char *data, size_t size)
{
    while (size) {
        ssize_t n = write (fd, data, size);
        if (n <= 0) {
            if (n == -1 && errno == EINTR)
                continue;
            return n == 0 ? EIO : errno;
        }
        data += n;
        size -= (size_t) n;
    }
    return 0;
}

//  Lines to LOG_FILE. A failing file (a full disk) is reported once, on
//  stderr and to the bus (so it alerts), and again once it works again;
//  it never holds anything up.
static void
s_write_file (self_t *self, const char *data, size_t size)
{
    int error = s_write_all (self->file_fd, data, size);
    if (error && !self->file_failing)
        HC_LOG (self->log, HC_LOG_ERROR, "notifier.write_failed",
                hc_field_str ("file", hc_str (self->cfg.log_file)),
                hc_field_str ("why", hc_str (strerror (error))));
    else
    if (!error && self->file_failing)
        HC_LOG (self->log, HC_LOG_INFO, "notifier.write_resumed",
                hc_field_str ("file", hc_str (self->cfg.log_file)));
    self->file_failing = error != 0;
}

//  Credentials never reach a line or a message, whoever logged them
static void
s_redact (self_t *self, hc_buf_t *text)
{
    hc_buf_redact (text, self->cfg.telegram_bot_token);
    hc_buf_redact (text, self->cfg.telegram_subscribe_secret);
}

//  Writes the lines gathered so far: one write() for a batch of records
//  rather than one per line (and each write of whole lines stays atomic
//  for O_APPEND, and for a pipe while under PIPE_BUF)
static void
s_write_lines (self_t *self)
{
    if (self->lines.len == 0)
        return;
    s_write_all (STDERR_FILENO, self->lines.data, self->lines.len);
    if (self->file_fd != -1)
        s_write_file (self, self->lines.data, self->lines.len);
    hc_buf_reset (&self->lines);
}

static void
s_handle_record (self_t *self, const void *body, size_t size)
{
    msg_log_t record;
    if (msg_dec_log (self->dec, body, size, &record)) {
        self->malformed++;
        return;
    }
    if (record.level >= self->cfg.log_level) {
        hc_buf_reset (&self->line);
        log_line_format (&self->line, &record, self->json);
        s_redact (self, &self->line);
        if (!self->line.failed) {
            if (self->lines.len + self->line.len > PIPE_BUF)
                s_write_lines (self);
            hc_buf_append (&self->lines, self->line.data, self->line.len);
            if (self->lines.failed) {
                hc_buf_reset (&self->lines);
                s_write_all (STDERR_FILENO, self->line.data, self->line.len);
            }
        }
    }
    if (self->bot)
        bot_record (self->bot, &record);
}

//  False if no message was waiting
static bool
s_handle_sub (self_t *self)
{
    zmq_msg_t parts [2];
    int n = hc_sock_recv_parts (self->sub, parts, 2);
    size_t topic_size = zmq_msg_size (&parts [0]);
    if (n == 2 && topic_size > strlen (MSG_LOG_TOPIC)
    &&  memcmp (zmq_msg_data (&parts [0]), MSG_LOG_TOPIC,
                strlen (MSG_LOG_TOPIC)) == 0)
        s_handle_record (self, zmq_msg_data (&parts [1]),
                         zmq_msg_size (&parts [1]));
    hc_sock_close_parts (parts, 2);
    return n > 0;
}

//  ---------------------------------------------------------------------
//  Telegram

//  ---------------------------------------------------------------------
//  Actor

//  Sends probes until one comes back through the bus; records met on the
//  way are handled
static bool
s_probe_bus (self_t *self, int tries)
{
    zsock_set_subscribe (self->sub, PROBE_TOPIC);
    bool seen = false;
    for (int attempt = 0; attempt < tries && !seen; attempt++) {
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
                s_handle_record (self, zframe_data (body),
                                 zframe_size (body));   //  an early record
            }
            zmsg_destroy (&msg);
        }
        zpoller_destroy (&poller);
    }
    s_write_lines (self);
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
    bool linked = s_probe_bus (self, PROBE_TRIES);
    self->started = true;
    if (linked)
        HC_LOG (self->log, HC_LOG_INFO, "notifier.ready",
                hc_field_str ("format", hc_str (self->json ? "json" : "text")),
                hc_field_str ("file", hc_str (self->cfg.log_file)));
    else
        fprintf (stderr, "homecall: notifier: the event bus at %s did not "
                         "answer; log records may be lost until it does\n",
                 hc_endpoint_subscribe (&self->cfg));
    self->bot = bot_new (&self->cfg, self->log, self->host);
    return 0;
}

//  Reads records until the bus is quiet; at exit, what is already on its
//  way still gets written
static void
s_drain (self_t *self)
{
    if (!self->started)
        return;
    int64_t until = zclock_mono () + DRAIN_MAX_MS;
    zpoller_t *poller = zpoller_new (self->sub, NULL);
    while (zclock_mono () < until && zpoller_wait (poller, DRAIN_QUIET_MS))
        s_handle_sub (self);
    zpoller_destroy (&poller);
    s_write_lines (self);
}

//  At $TERM, records other actors published just before (server.stopping)
//  may still be inside the bus: a probe that comes back, then silence,
//  means they have arrived, so their alerts are sent in the grace period
static void
s_handle_term (self_t *self)
{
    self->terminated = true;
    if (self->bot)
        bot_stop (self->bot);
    if (self->started) {
        s_probe_bus (self, STOP_PROBE_TRIES);
        s_drain (self);
    }
}

static void
s_handle_pipe (self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, "$TERM"))
        s_handle_term (self);
    else
    if (streq (command, "START") && !self->started)
        zsock_send (self->pipe, "i", s_start (self));
    else
    if (streq (command, "REOPEN")) {
        s_write_lines (self);   //  what came before goes to the old file
        if (s_open_file (self) == 0)
            HC_LOG (self->log, HC_LOG_INFO, "notifier.reopened",
                    hc_field_str ("file", hc_str (self->cfg.log_file)));
        else
            HC_LOG (self->log, HC_LOG_ERROR, "notifier.reopen_failed",
                    hc_field_str ("file", hc_str (self->cfg.log_file)),
                    hc_field_str ("why", hc_str (strerror (errno))));
    }
    else {
        zsys_error ("notifier: invalid pipe command '%s'", command);
        assert (false);
    }
    zstr_free (&command);
}

//  After $TERM, alerts in flight or due soon still go out
static bool
s_flushing (self_t *self)
{
    return self->bot && bot_flushing (self->bot);
}

static void
s_loop (self_t *self)
{
    zmq_pollitem_t items [2 + CURL_ITEMS_MAX];
    while (!self->terminated || s_flushing (self)) {
        items [0] = (zmq_pollitem_t) {zsock_resolve (self->pipe), 0,
                                      ZMQ_POLLIN, 0};
        items [1] = (zmq_pollitem_t) {zsock_resolve (self->sub), 0,
                                      ZMQ_POLLIN, 0};
        size_t n = self->started ? 2 : 1;
        size_t curl_n = 0;
        if (self->bot) {
            curl_n = bot_pollitems (self->bot, items + 2, CURL_ITEMS_MAX);
            n = 2 + curl_n;
        }
        long timeout = self->bot ? bot_timeout (self->bot, zclock_mono ())
                                 : -1;
        if (zmq_poll (items, (int) n, timeout) == -1 && errno == ETERM)
            break;
        //  Records first: what arrived before $TERM is still alerted. Read
        //  until there is none: a successful read makes no system call,
        //  where each ZMQ_EVENTS check would (a poll and a getpid).
        int records = 0;
        while (self->started && records < DRAIN_BATCH && s_handle_sub (self))
            records++;
        s_write_lines (self);
        if (self->started && records < DRAIN_BATCH && zmq_errno () == ETERM)
            break;
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        if (self->bot)
            bot_process (self->bot, items + 2, curl_n);
        //  A moment for more records to gather: at a relay's rate a wake-up
        //  per record (a poll, eventfd reads and writes on both sides)
        //  would cost more than the line itself; a line is that much later
        if (records && !self->terminated)
            zclock_sleep (GATHER_MS);
    }
    if (self->bot)
        bot_finish (self->bot);
}

static self_t *
s_self_new (zsock_t *pipe, const hc_config_t *cfg)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->cfg = *cfg;
    self->file_fd = -1;
    self->json = cfg->log_format == HC_LOG_FORMAT_JSON
              || (cfg->log_format == HC_LOG_FORMAT_AUTO
                  && !isatty (STDERR_FILENO));
    self->sub = zsock_new (ZMQ_SUB);
    self->pub = hc_log_pub_new (hc_endpoint_publish (&self->cfg));
    assert (self->sub && self->pub);
    zsock_set_rcvhwm (self->sub, 100000);
    self->log = hc_log_new (self->pub, "notifier",
                            hc_config_publish_level (cfg));
    self->dec = msg_dec_new ();
    hc_buf_init (&self->line, 0);
    hc_buf_init (&self->lines, 0);
    if (gethostname (self->host, sizeof (self->host)) != 0)
        strcpy (self->host, "?");
    self->host [sizeof (self->host) - 1] = 0;
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    bot_destroy (&self->bot);
    s_write_lines (self);
    hc_buf_free (&self->line);
    hc_buf_free (&self->lines);
    msg_dec_destroy (&self->dec);
    hc_log_destroy (&self->log);
    zsock_destroy (&self->sub);
    zsock_destroy (&self->pub);
    if (self->file_fd != -1)
        close (self->file_fd);
    free (self);
    *self_p = NULL;
}

void
notifier_actor (zsock_t *pipe, void *args)
{
    //  Named, so top -H and perf tell the actors apart
    pthread_setname_np (pthread_self (), "hc-notifier");
    self_t *self = s_self_new (pipe, (const hc_config_t *) args);
    zsock_signal (pipe, 0);
    s_loop (self);
    s_drain (self);
    s_self_destroy (&self);
}

//  ---------------------------------------------------------------------
//  Self test: a notifier started on its own beside a bus, spoken to over
//  its pipe (START, REOPEN, $TERM) and the bus, judged by its log file

//  True once the file at path holds needle, false after timeout_ms
static bool
s_file_has (const char *path, const char *needle, int timeout_ms)
{
    int64_t until = zclock_mono () + timeout_ms;
    do {
        char *text = NULL;
        FILE *file = fopen (path, "r");
        if (file) {
            size_t size = 0;
            FILE *copy = open_memstream (&text, &size);
            int c;
            while ((c = fgetc (file)) != EOF)
                fputc (c, copy);
            fclose (copy);
            fclose (file);
        }
        bool found = text && strstr (text, needle);
        free (text);
        if (found)
            return true;
        zclock_sleep (10);
    } while (zclock_mono () < until);
    return false;
}

static zactor_t *
s_test_start (hc_config_t *cfg, zactor_fn *fn, int expect)
{
    zactor_t *actor = zactor_new (fn, cfg);
    zstr_send (actor, "START");
    int rc = 1;
    zsock_recv (actor, "i", &rc);
    assert (rc == expect);
    return actor;
}

void
notifier_test (bool verbose)
{
    if (verbose)
        printf (" * notifier: ");
    hc_config_t cfg;
    char err [256];
    char *argv [] = {"homecall", NULL};
    unsetenv ("TELEGRAM_BOT_TOKEN");
    unsetenv ("TG_API_KEY");
    assert (hc_config_load (&cfg, 1, argv, "/nonexistent/.env", err,
                            sizeof (err)) == 0);
    strcpy (cfg.actors, "notifier");
    strcpy (cfg.events_in_endpoint, "inproc://notifier-test-in");
    strcpy (cfg.events_out_endpoint, "inproc://notifier-test-out");
    cfg.observer_endpoint [0] = 0;
    cfg.log_format = HC_LOG_FORMAT_JSON;
    cfg.log_level = HC_LOG_INFO;
    //  Alerts on, towards nobody (no chats, no subscriptions): the token
    //  only has to be kept out of every line
    strcpy (cfg.telegram_bot_token, "123:TESTTOKEN");
    strcpy (cfg.telegram_api_url, "http://127.0.0.1:9");
    char path [] = "/tmp/hc-notifier-test-XXXXXX";
    int fd = mkstemp (path);
    assert (fd >= 0);
    close (fd);
    snprintf (cfg.log_file, sizeof (cfg.log_file), "%s", path);

    //  A log file that cannot be opened fails START
    hc_config_t bad = cfg;
    strcpy (bad.log_file, "/nonexistent/dir/homecall.log");
    zactor_t *notifier = s_test_start (&bad, notifier_actor, -1);
    zactor_destroy (&notifier);

    zactor_t *bus = s_test_start (&cfg, hc_bus_actor, 0);
    notifier = s_test_start (&cfg, notifier_actor, 0);
    assert (s_file_has (path, "\"notifier.ready\"", 5000));
    assert (s_file_has (path, "\"telegram.no_chats\"", 5000));

    //  A record from another actor is written, at or above LOG_LEVEL only,
    //  with the token taken out
    zsock_t *pub = hc_log_pub_new (hc_endpoint_publish (&cfg));
    assert (hc_log_pub_wait (pub, 5000));
    hc_log_t *log = hc_log_new (pub, "tester", HC_LOG_DEBUG);
    HC_LOG (log, HC_LOG_DEBUG, "test.quiet", hc_field_int ("n", 1));
    HC_LOG (log, HC_LOG_WARN, "test.hello",
            hc_field_str ("url", HC_STR_LIT ("/bot123:TESTTOKEN/send")));
    assert (s_file_has (path, "\"test.hello\"", 5000));
    assert (s_file_has (path, "/bot<redacted>/send", 0));
    assert (!s_file_has (path, "TESTTOKEN", 0));
    assert (!s_file_has (path, "test.quiet", 0));

    //  REOPEN, as after logrotate: the new file gets the lines
    char moved [64];
    snprintf (moved, sizeof (moved), "%s.1", path);
    assert (rename (path, moved) == 0);
    zstr_send (notifier, "REOPEN");
    assert (s_file_has (path, "\"notifier.reopened\"", 5000));
    HC_LOG (log, HC_LOG_INFO, "test.after_reopen", hc_field_int ("n", 2));
    assert (s_file_has (path, "\"test.after_reopen\"", 5000));
    assert (!s_file_has (moved, "test.after_reopen", 0));

    //  What was published just before $TERM is still written
    HC_LOG (log, HC_LOG_INFO, "test.last", hc_field_int ("n", 3));
    zactor_destroy (&notifier);
    assert (s_file_has (path, "\"test.last\"", 0));
    hc_log_destroy (&log);
    zsock_destroy (&pub);
    zactor_destroy (&bus);
    unlink (path);
    unlink (moved);
    if (verbose)
        printf ("OK\n");
}
