/*  notifier.c - the actor that owns logging and alerting

    Start-up waits until its own probe has gone round the bus (PUB ->
    XSUB -> XPUB -> SUB), so records published after START are not lost to
    ZeroMQ's slow-joiner effect. On $TERM it drains what is already on its
    way for a moment, so the last lines of a shutdown are written.

    Alerts: each record is also shown to alerts.c, which decides what goes
    to Telegram and when; telegram.c runs the requests. All waiting (rate
    limits, retry_after, backoff, curl's own timers) is the timeout of the
    one zmq_poll below, which also watches curl's sockets as raw fds (a
    zpoller cannot), so $TERM and the bus are always served at once and a
    slow or hanging Bot API holds up nothing but its own messages. On $TERM
    the alerts still queued (the server's stop, typically) get at most
    STOP_GRACE_MS to go out.
*/
#include "notifier.h"
#include "alerts.h"
#include "log_line.h"
#include "subscribers.h"
#include "telegram.h"
#include "../common/config.h"
#include "../common/endpoints.h"
#include "../common/link.h"
#include "../common/log.h"
#include "../common/sock.h"

#include <fcntl.h>
#include <unistd.h>

#define PROBE_TOPIC "sys.probe"
#define PROBE_TRIES 200         //  10 ms apart, at start
#define STOP_PROBE_TRIES 50     //  ...at $TERM
#define DRAIN_QUIET_MS 30       //  at exit, stop after this much silence
#define DRAIN_MAX_MS 500        //  ...or after this long in all
#define DRAIN_BATCH 1000        //  records per wakeup before polling again
#define STOP_GRACE_MS 2000      //  at exit, for alerts still queued
#define POLL_GAP_MS 1000        //  least time between two getUpdates
#define CURL_ITEMS_MAX 256      //  curl sockets watched at once

typedef struct {
    zsock_t *pipe;              //  actor pipe: START, REOPEN, $TERM
    zsock_t *sub;               //  event bus subscriber
    zsock_t *pub;               //  event bus publisher (our own records)
    hc_config_t cfg;            //  our copy of the settings
    hc_log_t *log;              //  our own records, through the bus
    msg_dec_t *dec;             //  reused record decoder
    hc_buf_t line;              //  reused output line
    bool json;                  //  JSON lines instead of text
    int file_fd;                //  LOG_FILE, or -1
    bool started;               //  START done
    bool terminated;            //  $TERM received
    uint64_t malformed;         //  bus messages we could not read
    char host [64];             //  named in alerts
    //  Alerts; all NULL without a bot token
    alerts_t *alerts;           //  what goes to which chat, and when
    telegram_t *telegram;       //  Bot API requests in flight
    subscribers_t *subscribers; //  self-subscribed chats (secret set)
    hc_buf_t text;              //  reused message text
    int64_t updates_at;         //  next getUpdates (mono ms); -1: none due
    int64_t updates_started;    //  when the last one started
    unsigned updates_failures;  //  consecutive getUpdates failures
    int64_t stop_at;            //  after $TERM: give up on alerts then
    uint64_t drops_logged;      //  alerts_dropped as of the last record
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

//  Credentials never reach a line or a message, whoever logged them
static void
s_redact (self_t *self, hc_buf_t *text)
{
    telegram_redact (text, self->cfg.telegram_bot_token);
    telegram_redact (text, self->cfg.telegram_subscribe_secret);
}

//  A full queue dropped alerts since we last said so
static void
s_note_drops (self_t *self)
{
    uint64_t dropped = alerts_dropped (self->alerts);
    if (dropped > self->drops_logged)
        HC_LOG (self->log, HC_LOG_WARN, "telegram.dropped",
                hc_field_int ("count", (int64_t) (dropped
                                                  - self->drops_logged)),
                hc_field_str ("why", HC_STR_LIT ("queue full")));
    self->drops_logged = dropped;
}

static void
s_alert (self_t *self, const msg_log_t *record)
{
    hc_log_level_t severity;
    alerts_class_t class = alerts_classify (record, &severity);
    int64_t now = zclock_mono ();
    if (class == ALERTS_ALERT)
        alerts_push (self->alerts, record, severity, now);
    else
    if (class == ALERTS_CLIENT_ERROR)
        alerts_client_error (self->alerts, record, now);
    s_note_drops (self);
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
    if (record.level >= self->cfg.log_level) {
        hc_buf_reset (&self->line);
        log_line_format (&self->line, &record, self->json);
        s_redact (self, &self->line);
        if (!self->line.failed) {
            s_write_all (STDERR_FILENO, self->line.data, self->line.len);
            if (self->file_fd != -1)
                s_write_all (self->file_fd, self->line.data, self->line.len);
        }
    }
    if (self->alerts)
        s_alert (self, &record);
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

//  ---------------------------------------------------------------------
//  Telegram

static int64_t
s_backoff (self_t *self, unsigned failures)
{
    int64_t delay = self->cfg.telegram_backoff_min_ms;
    for (unsigned i = 0; i < failures
                         && delay < self->cfg.telegram_backoff_max_ms; i++)
        delay *= 2;
    return delay < self->cfg.telegram_backoff_max_ms
         ? delay : self->cfg.telegram_backoff_max_ms;
}

static void
s_save_subscribers (self_t *self)
{
    if (subscribers_save (self->subscribers))
        HC_LOG (self->log, HC_LOG_ERROR, "notifier.state_failed",
                hc_field_str ("file", hc_str (self->cfg.telegram_state_file)),
                hc_field_str ("why", hc_str (strerror (errno))));
}

static bool
s_configured_chat (self_t *self, int64_t chat)
{
    int64_t ids [HC_CHATS_MAX];
    size_t ids_n = 0;
    hc_parse_chat_ids (self->cfg.telegram_chat_ids, ids, HC_CHATS_MAX,
                       &ids_n);
    for (size_t i = 0; i < ids_n; i++)
        if (ids [i] == chat)
            return true;
    return false;
}

//  A message someone sent to the bot
static void
s_handle_update (self_t *self, const telegram_update_t *update)
{
    int64_t now = zclock_mono ();
    switch (subscribers_handle (self->subscribers, update->chat,
                                update->text)) {
        case SUBSCRIBERS_ADDED:
        case SUBSCRIBERS_ALREADY: {
            bool added = alerts_add_chat (self->alerts, update->chat) >= 0;
            HC_LOG (self->log, added ? HC_LOG_INFO : HC_LOG_WARN,
                    added ? "telegram.subscribed" : "telegram.chats_full",
                    hc_field_int ("chat", update->chat));
            s_save_subscribers (self);
            hc_buf_reset (&self->text);
            hc_buf_append_cstr (&self->text, "\xe2\x9c\x85 Subscribed to "
                                             "HomeCall alerts from <b>");
            hc_buf_append_cstr (&self->text, self->host);
            hc_buf_append_cstr (&self->text, "</b>. /stop ends it.");
            if (added)
                alerts_push_text (self->alerts, update->chat,
                                  hc_buf_cstr (&self->text), now);
            break;
        }
        case SUBSCRIBERS_REFUSED:
            HC_LOG (self->log, HC_LOG_WARN, "telegram.subscribe_refused",
                    hc_field_int ("chat", update->chat));
            break;
        case SUBSCRIBERS_FULL:
            HC_LOG (self->log, HC_LOG_WARN, "telegram.chats_full",
                    hc_field_int ("chat", update->chat));
            break;
        case SUBSCRIBERS_REMOVED:
            if (!s_configured_chat (self, update->chat))
                alerts_remove_chat (self->alerts, update->chat);
            s_save_subscribers (self);
            HC_LOG (self->log, HC_LOG_INFO, "telegram.unsubscribed",
                    hc_field_int ("chat", update->chat));
            break;
        case SUBSCRIBERS_IGNORED:
            break;
    }
}

static void
s_updates_done (self_t *self, const telegram_result_t *result, int64_t now)
{
    int64_t earliest = self->updates_started + POLL_GAP_MS;
    if (result->outcome == ALERTS_SENT) {
        self->updates_failures = 0;
        self->updates_at = now > earliest ? now : earliest;
        for (size_t i = 0; i < result->updates_n; i++)
            s_handle_update (self, &result->updates [i]);
        if (result->next_offset > subscribers_offset (self->subscribers)) {
            subscribers_set_offset (self->subscribers, result->next_offset);
            s_save_subscribers (self);
        }
        return;
    }
    int64_t delay = result->outcome == ALERTS_RETRY_AFTER
                  ? result->retry_after_ms
                  : s_backoff (self, self->updates_failures++);
    self->updates_at = now + delay;
    HC_LOG (self->log, HC_LOG_WARN, "telegram.updates_failed",
            hc_field_int ("status", result->status),
            hc_field_str ("why", hc_str (result->why)),
            hc_field_int ("delay_ms", delay));
}

//  telegram.c's callback: a request ended
static void
s_telegram_done (void *ctx, const telegram_result_t *result)
{
    self_t *self = (self_t *) ctx;
    int64_t now = zclock_mono ();
    if (result->kind == TELEGRAM_UPDATES) {
        s_updates_done (self, result, now);
        return;
    }
    int64_t delay = alerts_done (self->alerts, result->chat, result->outcome,
                                 result->retry_after_ms, now);
    s_note_drops (self);
    if (result->outcome == ALERTS_SENT)
        HC_LOG (self->log, HC_LOG_DEBUG, "telegram.sent",
                hc_field_int ("chat", result->chat));
    else
    if (result->outcome == ALERTS_FAILED)
        HC_LOG (self->log, HC_LOG_ERROR, "telegram.failed",
                hc_field_int ("chat", result->chat),
                hc_field_int ("status", result->status),
                hc_field_str ("why", hc_str (result->why)));
    else
        HC_LOG (self->log, HC_LOG_WARN, "telegram.retry",
                hc_field_int ("chat", result->chat),
                hc_field_int ("status", result->status),
                hc_field_str ("why", hc_str (result->why)),
                hc_field_int ("delay_ms", delay));
}

//  Starts every request that may go now
static void
s_pump (self_t *self)
{
    if (!self->telegram)
        return;
    int64_t now = zclock_mono ();
    int64_t chat;
    while (alerts_next (self->alerts, now, &chat, &self->text)) {
        s_redact (self, &self->text);
        if (telegram_send (self->telegram, chat, hc_buf_str (&self->text))) {
            int64_t delay = alerts_done (self->alerts, chat, ALERTS_RETRY, 0,
                                         now);
            HC_LOG (self->log, HC_LOG_WARN, "telegram.retry",
                    hc_field_int ("chat", chat), hc_field_int ("status", 0),
                    hc_field_str ("why", HC_STR_LIT ("could not start")),
                    hc_field_int ("delay_ms", delay));
        }
    }
    if (self->subscribers && !self->terminated && self->updates_at >= 0
    &&  now >= self->updates_at) {
        self->updates_at = -1;
        self->updates_started = now;
        if (telegram_get_updates (self->telegram,
                                  subscribers_offset (self->subscribers)))
            self->updates_at = now + s_backoff (self,
                                                self->updates_failures++);
    }
}

//  Sets alerts up; says once whether they are on
static void
s_start_alerts (self_t *self)
{
    const hc_config_t *cfg = &self->cfg;
    if (!cfg->telegram_bot_token [0]) {
        HC_LOG (self->log, HC_LOG_INFO, "telegram.off",
                hc_field_str ("why", HC_STR_LIT ("no TELEGRAM_BOT_TOKEN: "
                                                 "alerts are off, log only")));
        return;
    }
    alerts_cfg_t alerts_cfg = {
        cfg->telegram_min_level, cfg->telegram_interval_ms,
        cfg->telegram_per_minute, cfg->telegram_merge_window_ms,
        (size_t) cfg->telegram_queue_max, cfg->telegram_backoff_min_ms,
        cfg->telegram_backoff_max_ms, cfg->client_error_burst, self->host};
    telegram_cfg_t telegram_cfg = {
        cfg->telegram_api_url, cfg->telegram_bot_token,
        cfg->telegram_timeout_ms, cfg->telegram_connect_timeout_ms,
        cfg->telegram_poll_timeout_ms};
    self->alerts = alerts_new (&alerts_cfg);
    self->telegram = telegram_new (&telegram_cfg, s_telegram_done, self);
    if (!self->alerts || !self->telegram) {
        alerts_destroy (&self->alerts);
        telegram_destroy (&self->telegram);
        HC_LOG (self->log, HC_LOG_ERROR, "notifier.alerts_failed",
                hc_field_str ("why", HC_STR_LIT ("cannot set up libcurl")));
        return;
    }
    int64_t ids [HC_CHATS_MAX];
    size_t ids_n = 0;
    hc_parse_chat_ids (cfg->telegram_chat_ids, ids, HC_CHATS_MAX, &ids_n);
    for (size_t i = 0; i < ids_n; i++)
        alerts_add_chat (self->alerts, ids [i]);
    if (cfg->telegram_subscribe_secret [0]) {
        self->subscribers = subscribers_new (cfg->telegram_state_file,
                                             cfg->telegram_subscribe_secret);
        if (self->subscribers && subscribers_load (self->subscribers))
            HC_LOG (self->log, HC_LOG_ERROR, "notifier.state_failed",
                    hc_field_str ("file", hc_str (cfg->telegram_state_file)),
                    hc_field_str ("why", HC_STR_LIT ("unreadable or not "
                                                     "JSON; starting empty")));
        for (size_t i = 0; self->subscribers
                           && i < subscribers_size (self->subscribers); i++)
            alerts_add_chat (self->alerts,
                             subscribers_chat (self->subscribers, i));
        self->updates_at = zclock_mono ();
    }
    HC_LOG (self->log, HC_LOG_INFO, "telegram.on",
            hc_field_str ("api", hc_str (cfg->telegram_api_url)),
            hc_field_int ("chats", (int64_t) alerts_chats (self->alerts)),
            hc_field_str ("subscribe", self->subscribers ? HC_STR_LIT ("on")
                                                         : HC_STR_LIT ("off")),
            hc_field_str ("min_level", hc_str (hc_log_level_name (
                                           cfg->telegram_min_level))));
    if (alerts_chats (self->alerts) == 0 && !self->subscribers)
        HC_LOG (self->log, HC_LOG_WARN, "telegram.no_chats",
                hc_field_str ("why", HC_STR_LIT ("set TELEGRAM_CHAT_IDS or "
                                                 "TELEGRAM_SUBSCRIBE_SECRET")));
}

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
    s_start_alerts (self);
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
}

//  At $TERM, records other actors published just before (server.stopping)
//  may still be inside the bus: a probe that comes back, then silence,
//  means they have arrived, so their alerts are sent in the grace period
static void
s_handle_term (self_t *self)
{
    self->terminated = true;
    self->stop_at = zclock_mono () + STOP_GRACE_MS;
    if (self->telegram)
        telegram_cancel_updates (self->telegram);
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

//  How long zmq_poll may sleep: until curl, an alert or getUpdates is due
static long
s_timeout (self_t *self, int64_t now)
{
    long timeout = -1;
    int64_t due [3] = {-1, -1, -1};
    if (self->alerts)
        due [0] = alerts_next_at (self->alerts);
    if (self->subscribers && !self->terminated)
        due [1] = self->updates_at;
    if (self->terminated)
        due [2] = self->stop_at;
    for (int i = 0; i < 3; i++) {
        if (due [i] < 0)
            continue;
        long wait = due [i] <= now ? 0 : (long) (due [i] - now);
        if (timeout < 0 || wait < timeout)
            timeout = wait;
    }
    long curl = self->telegram ? telegram_timeout (self->telegram) : -1;
    if (curl >= 0 && (timeout < 0 || curl < timeout))
        timeout = curl;
    return timeout;
}

//  After $TERM, alerts in flight or due before stop_at get until then;
//  one that must wait longer (a merged repeat, a rate limit) is not
//  waited for
static bool
s_flushing (self_t *self)
{
    if (!self->alerts || zclock_mono () >= self->stop_at)
        return false;
    int64_t next_at = alerts_next_at (self->alerts);
    return telegram_active (self->telegram) > 0
        || (next_at >= 0 && next_at < self->stop_at);
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
        if (self->telegram) {
            curl_n = telegram_pollitems (self->telegram, items + 2,
                                         CURL_ITEMS_MAX);
            n = 2 + curl_n;
        }
        if (zmq_poll (items, (int) n, s_timeout (self, zclock_mono ())) == -1
        &&  errno == ETERM)
            break;
        //  Records first: what arrived before $TERM is still alerted
        bool terminating = false;
        for (int i = 0; self->started && i < DRAIN_BATCH
                        && hc_sock_readable (self->sub, &terminating); i++)
            s_handle_sub (self);
        if (terminating)
            break;
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        if (self->telegram)
            telegram_process (self->telegram, items + 2, curl_n);
        s_pump (self);
    }
    if (self->alerts && alerts_pending (self->alerts))
        HC_LOG (self->log, HC_LOG_WARN, "telegram.unsent",
                hc_field_int ("count",
                              (int64_t) alerts_pending (self->alerts)));
}

static self_t *
s_self_new (zsock_t *pipe, const hc_config_t *cfg)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->pipe = pipe;
    self->cfg = *cfg;
    self->file_fd = -1;
    self->updates_at = -1;
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
    hc_buf_init (&self->text, 0);
    if (gethostname (self->host, sizeof (self->host)) != 0)
        strcpy (self->host, "?");
    self->host [sizeof (self->host) - 1] = 0;
    return self;
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    telegram_destroy (&self->telegram);
    alerts_destroy (&self->alerts);
    subscribers_destroy (&self->subscribers);
    hc_buf_free (&self->text);
    hc_buf_free (&self->line);
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
    self_t *self = s_self_new (pipe, (const hc_config_t *) args);
    zsock_signal (pipe, 0);
    s_loop (self);
    s_drain (self);
    s_self_destroy (&self);
}
