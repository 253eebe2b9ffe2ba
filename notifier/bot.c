/*  bot.c - the notifier's Telegram bot: alerts out, subscriptions in

    alerts.c decides what goes to which chat and when, telegram.c runs the
    requests and subscribers.c keeps the chats that subscribed; this class
    joins them for the notifier's loop. Every wait (rate limits,
    retry_after, backoff, curl's own timers) is given back as a timeout for
    the caller's poll: nothing here sleeps.
*/
#include "bot.h"
#include "../common/deadline.h"
#include "alerts.h"
#include "subscribers.h"
#include "telegram.h"
#include "telegram_settings.h"

#define POLL_GAP_MS 1000        //  least time between two getUpdates
#define STOP_GRACE_MS 2000      //  at stop, for alerts still queued

struct _bot_t {
    const hc_config_t *cfg;     //  the notifier's settings (it outlives us)
    hc_log_t *log;              //  the notifier's records
    const char *host;           //  named in alerts (the notifier's)
    alerts_t *alerts;           //  what goes to which chat, and when
    telegram_t *telegram;       //  Bot API requests in flight
    subscribers_t *subscribers; //  self-subscribed chats (secret set)
    hc_buf_t text;              //  reused message text
    int64_t updates_at;         //  next getUpdates (mono ms); -1: none due
    int64_t updates_started;    //  when the last one started
    unsigned updates_failures;  //  consecutive getUpdates failures
    bool stopping;              //  bot_stop was called
    int64_t stop_at;            //  ...and alerts are given up on then
    uint64_t drops_logged;      //  alerts_dropped as of the last record
};

//  Credentials never reach a message, whoever logged them
static void
s_redact (bot_t *self, hc_buf_t *text)
{
    hc_buf_redact (text, self->cfg->telegram_bot_token);
    hc_buf_redact (text, self->cfg->telegram_subscribe_secret);
}

//  A full queue dropped alerts since we last said so
static void
s_note_drops (bot_t *self)
{
    uint64_t dropped = alerts_dropped (self->alerts);
    if (dropped > self->drops_logged)
        HC_LOG (self->log, HC_LOG_WARN, "telegram.dropped",
                hc_field_int ("count", (int64_t) (dropped
                                                  - self->drops_logged)),
                hc_field_str ("why", HC_STR_LIT ("queue full")));
    self->drops_logged = dropped;
}

static int64_t
s_backoff (bot_t *self, unsigned failures)
{
    return alert_queue_backoff (self->cfg->telegram_backoff_min_ms,
                                self->cfg->telegram_backoff_max_ms, failures);
}

static void
s_save_subscribers (bot_t *self)
{
    if (subscribers_save (self->subscribers))
        HC_LOG (self->log, HC_LOG_ERROR, "notifier.state_failed",
                hc_field_str ("file", hc_str (self->cfg->telegram_state_file)),
                hc_field_str ("why", hc_str (strerror (errno))));
}

static bool
s_configured_chat (bot_t *self, int64_t chat)
{
    int64_t ids [TELEGRAM_CHATS_MAX];
    size_t ids_n = 0;
    telegram_settings_chat_ids (self->cfg->telegram_chat_ids, ids,
                                TELEGRAM_CHATS_MAX, &ids_n);
    for (size_t i = 0; i < ids_n; i++)
        if (ids [i] == chat)
            return true;
    return false;
}

//  A message someone sent to the bot
static void
s_handle_update (bot_t *self, const telegram_update_t *update)
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
s_updates_done (bot_t *self, const telegram_result_t *result, int64_t now)
{
    int64_t earliest = self->updates_started + POLL_GAP_MS;
    if (result->outcome == ALERT_SENT) {
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
    int64_t delay = result->outcome == ALERT_RETRY_AFTER
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
    bot_t *self = (bot_t *) ctx;
    int64_t now = zclock_mono ();
    if (result->kind == TELEGRAM_UPDATES) {
        s_updates_done (self, result, now);
        return;
    }
    int64_t delay = alerts_done (self->alerts, result->chat, result->outcome,
                                 result->retry_after_ms, now);
    s_note_drops (self);
    if (result->outcome == ALERT_SENT)
        HC_LOG (self->log, HC_LOG_DEBUG, "telegram.sent",
                hc_field_int ("chat", result->chat));
    else
    if (result->outcome == ALERT_FAILED)
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
s_pump (bot_t *self)
{
    int64_t now = zclock_mono ();
    int64_t chat;
    while (alerts_next (self->alerts, now, &chat, &self->text)) {
        s_redact (self, &self->text);
        if (telegram_send (self->telegram, chat, hc_buf_str (&self->text))) {
            int64_t delay = alerts_done (self->alerts, chat, ALERT_RETRY, 0,
                                         now);
            HC_LOG (self->log, HC_LOG_WARN, "telegram.retry",
                    hc_field_int ("chat", chat), hc_field_int ("status", 0),
                    hc_field_str ("why", HC_STR_LIT ("could not start")),
                    hc_field_int ("delay_ms", delay));
        }
    }
    if (self->subscribers && !self->stopping && self->updates_at >= 0
    &&  now >= self->updates_at) {
        self->updates_at = -1;
        self->updates_started = now;
        if (telegram_get_updates (self->telegram,
                                  subscribers_offset (self->subscribers)))
            self->updates_at = now + s_backoff (self,
                                                self->updates_failures++);
    }
}

//  Sets alerts up; says once whether they are on. -1: they are off.
static int
s_start (bot_t *self)
{
    const hc_config_t *cfg = self->cfg;
    if (!cfg->telegram_bot_token [0]) {
        HC_LOG (self->log, HC_LOG_INFO, "telegram.off",
                hc_field_str ("why", HC_STR_LIT ("no TELEGRAM_BOT_TOKEN: "
                                                 "alerts are off, log only")));
        return -1;
    }
    alerts_cfg_t alerts_cfg = {
        cfg->telegram_min_level,
        {cfg->telegram_interval_ms, cfg->telegram_per_minute,
         cfg->telegram_merge_window_ms, (size_t) cfg->telegram_queue_max,
         cfg->telegram_backoff_min_ms, cfg->telegram_backoff_max_ms},
        cfg->client_error_burst, self->host};
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
        return -1;
    }
    int64_t ids [TELEGRAM_CHATS_MAX];
    size_t ids_n = 0;
    telegram_settings_chat_ids (cfg->telegram_chat_ids, ids,
                                TELEGRAM_CHATS_MAX, &ids_n);
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
    return 0;
}

bot_t *
bot_new (const hc_config_t *cfg, hc_log_t *log, const char *host)
{
    bot_t *self = (bot_t *) zmalloc (sizeof (bot_t));
    self->cfg = cfg;
    self->log = log;
    self->host = host;
    self->updates_at = -1;
    hc_buf_init (&self->text, 0);
    if (s_start (self))
        bot_destroy (&self);
    return self;
}

void
bot_destroy (bot_t **self_p)
{
    bot_t *self = *self_p;
    if (self) {
        telegram_destroy (&self->telegram);
        alerts_destroy (&self->alerts);
        subscribers_destroy (&self->subscribers);
        hc_buf_free (&self->text);
        free (self);
        *self_p = NULL;
    }
}

void
bot_record (bot_t *self, const msg_log_t *record)
{
    hc_log_level_t severity;
    alert_class_t class = alert_classify (record, &severity);
    int64_t now = zclock_mono ();
    if (class == ALERT_ALONE)
        alerts_push (self->alerts, record, severity, now);
    else
    if (class == ALERT_CLIENT_ERROR)
        alerts_client_error (self->alerts, record, now);
    s_note_drops (self);
}

long
bot_timeout (bot_t *self, int64_t now)
{
    int64_t due = hc_deadline_earliest (
        alerts_next_at (self->alerts),
        hc_deadline_earliest (
            self->subscribers && !self->stopping ? self->updates_at : -1,
            self->stopping ? self->stop_at : -1));
    return (long) hc_deadline_earliest (hc_deadline_wait (due, now),
                                        telegram_timeout (self->telegram));
}

size_t
bot_pollitems (bot_t *self, zmq_pollitem_t *items, size_t max)
{
    return telegram_pollitems (self->telegram, items, max);
}

void
bot_process (bot_t *self, zmq_pollitem_t *items, size_t n)
{
    telegram_process (self->telegram, items, n);
    s_pump (self);
}

void
bot_stop (bot_t *self)
{
    self->stopping = true;
    self->stop_at = zclock_mono () + STOP_GRACE_MS;
    telegram_cancel_updates (self->telegram);
}

bool
bot_flushing (bot_t *self)
{
    if (zclock_mono () >= self->stop_at)
        return false;
    int64_t next_at = alerts_next_at (self->alerts);
    return telegram_active (self->telegram) > 0
        || (next_at >= 0 && next_at < self->stop_at);
}

void
bot_finish (bot_t *self)
{
    if (alerts_pending (self->alerts))
        HC_LOG (self->log, HC_LOG_WARN, "telegram.unsent",
                hc_field_int ("count",
                              (int64_t) alerts_pending (self->alerts)));
}
