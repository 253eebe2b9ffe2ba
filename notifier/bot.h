/*  bot.h - the notifier's Telegram bot: alerts out, subscriptions in

    Lives in the notifier's thread and never blocks: the notifier polls the
    sockets bot_pollitems lists beside its own, for at most bot_timeout,
    and hands the result to bot_process. After bot_stop, alerts still
    queued get a short grace period, for as long as bot_flushing says.
*/
#ifndef BOT_H_INCLUDED
#define BOT_H_INCLUDED

#include "../common/config.h"
#include "../common/log.h"

#include <zmq.h>

typedef struct _bot_t bot_t;

//  A bot when cfg has a bot token, NULL when alerts are off or cannot
//  start (says which in a record). cfg, log and host must outlive it.
bot_t *
    bot_new (const hc_config_t *cfg, hc_log_t *log, const char *host);
void
    bot_destroy (bot_t **self_p);
//  Shows a log record to the alert rules
void
    bot_record (bot_t *self, const msg_log_t *record);
//  How long the caller's poll may sleep (ms), -1: until something else
long
    bot_timeout (bot_t *self, int64_t now);
//  The sockets curl wants watched, as raw-fd poll items (at most max)
size_t
    bot_pollitems (bot_t *self, zmq_pollitem_t *items, size_t max);
//  After the poll: what curl's sockets had, then every request due now
void
    bot_process (bot_t *self, zmq_pollitem_t *items, size_t n);
//  No more getUpdates; queued alerts get a short grace period
void
    bot_stop (bot_t *self);
//  After bot_stop: alerts are in flight or due within the grace period
bool
    bot_flushing (bot_t *self);
//  Says how many alerts were never sent, if any
void
    bot_finish (bot_t *self);

#endif
