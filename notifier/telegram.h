/*  telegram.h - the Telegram Bot API over libcurl's multi interface

    The caller owns the loop and nothing here ever waits on the network:
    telegram_pollitems lists the sockets curl wants watched as raw-fd
    zmq_pollitem_t entries (so they sit in the same zmq_poll as the actor's
    ZeroMQ sockets), telegram_timeout says how long the caller may sleep,
    and telegram_process hands back what was ready. A finished request is
    reported through the done callback. Every transfer runs with
    CURLOPT_NOSIGNAL, short connect and total timeouts and a reply size cap.

    The bot token is part of every URL. This class never logs or returns a
    URL, and hc_buf_redact (common/buf.h) takes the token out of any text.
*/
#ifndef TELEGRAM_H_INCLUDED
#define TELEGRAM_H_INCLUDED

#include "alert.h"
#include "../common/buf.h"

#include <zmq.h>

#define TELEGRAM_UPDATES_MAX 50 //  updates asked for per getUpdates

typedef struct _telegram_t telegram_t;

typedef enum {
    TELEGRAM_SEND,              //  sendMessage
    TELEGRAM_UPDATES            //  getUpdates (long polling)
} telegram_kind_t;

//  One message a chat sent to the bot
typedef struct {
    int64_t chat;               //  chat.id
    hc_str_t text;              //  message text (absent for other updates)
} telegram_update_t;

//  How a request ended. Strings and updates are valid during the callback.
typedef struct {
    telegram_kind_t kind;
    int64_t chat;               //  TELEGRAM_SEND: the chat
    alert_outcome_t outcome;    //  delivered, retry, or failed for good
    int64_t retry_after_ms;     //  ALERT_RETRY_AFTER: what the API said
    long status;                //  HTTP status, 0 if there was no reply
    const char *why;            //  what went wrong (never the token)
    const telegram_update_t *updates;   //  TELEGRAM_UPDATES, if SENT
    size_t updates_n;
    int64_t next_offset;        //  TELEGRAM_UPDATES: offset to ask next
} telegram_result_t;

typedef void (telegram_done_fn) (void *ctx, const telegram_result_t *result);

typedef struct {
    const char *api_url;        //  https://api.telegram.org
    const char *token;          //  bot token
    int64_t timeout_ms;         //  whole request
    int64_t connect_timeout_ms; //  connect, TLS included
    int64_t poll_timeout_ms;    //  getUpdates long polling, on top
} telegram_cfg_t;

telegram_t *
    telegram_new (const telegram_cfg_t *cfg, telegram_done_fn *done,
                  void *ctx);
//  Abandons requests in flight
void
    telegram_destroy (telegram_t **self_p);

//  Starts a sendMessage with parse_mode HTML; html must be valid UTF-8.
//  Returns 0, or -1 if it could not even start (nothing is in flight).
int
    telegram_send (telegram_t *self, int64_t chat, hc_str_t html);
//  Starts a getUpdates long poll for messages from offset on
int
    telegram_get_updates (telegram_t *self, int64_t offset);
//  Abandons the getUpdates in flight, if any
void
    telegram_cancel_updates (telegram_t *self);
//  Requests in flight
size_t
    telegram_active (telegram_t *self);

//  Fills items with the sockets curl wants watched; returns how many
size_t
    telegram_pollitems (telegram_t *self, zmq_pollitem_t *items, size_t max);
//  Milliseconds until curl needs telegram_process anyway, or -1
long
    telegram_timeout (telegram_t *self);
//  After zmq_poll: drives curl for the ready items (those that
//  telegram_pollitems filled) and for its timers; finished requests call
//  the done callback
void
    telegram_process (telegram_t *self, const zmq_pollitem_t *items,
                      size_t items_n);

//  Reads a Bot API reply (plain logic, for tests too). curl_ok: the
//  transfer itself worked. why gets a short reason when not SENT.
void
    telegram_classify (telegram_t *self, telegram_kind_t kind, bool curl_ok,
                       long status, const char *body, size_t size,
                       telegram_result_t *result);


void
    telegram_test (bool verbose);

#endif
