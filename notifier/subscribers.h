/*  subscribers.h - chats that subscribed themselves with "/start SECRET"

    As the original bot did, a chat that writes to the bot can subscribe to
    the alerts; unlike it, only with the secret (TELEGRAM_SUBSCRIBE_SECRET).
    Without a secret nobody can subscribe. "/stop" unsubscribes.

    The state (subscribed chats and the getUpdates offset, so an update is
    handled once) is a small JSON file: {"offset":N,"chats":[id,...]}. It
    is written to a temporary file and renamed over the old one, so a crash
    never leaves half a file.
*/
#ifndef SUBSCRIBERS_H_INCLUDED
#define SUBSCRIBERS_H_INCLUDED

#include "../common/hc_types.h"

#define SUBSCRIBERS_MAX 32      //  chats that can subscribe themselves

typedef struct _subscribers_t subscribers_t;

typedef enum {
    SUBSCRIBERS_IGNORED,        //  not a command for us
    SUBSCRIBERS_ADDED,          //  right secret: subscribed now
    SUBSCRIBERS_ALREADY,        //  right secret, subscribed before
    SUBSCRIBERS_REFUSED,        //  /start with a wrong secret or none
    SUBSCRIBERS_FULL,           //  right secret, but no room left
    SUBSCRIBERS_REMOVED         //  /stop from a subscribed chat
} subscribers_result_t;

//  path: the state file ("" = kept in memory only); secret "" = nobody
subscribers_t *
    subscribers_new (const char *path, const char *secret);
void
    subscribers_destroy (subscribers_t **self_p);

//  Reads the state file. A missing file is an empty state; a file that
//  cannot be read or is not valid JSON gives -1 (the state stays empty).
int
    subscribers_load (subscribers_t *self);
//  Writes the state file; 0 or -1 (errno says why)
int
    subscribers_save (subscribers_t *self);

size_t
    subscribers_size (subscribers_t *self);
int64_t
    subscribers_chat (subscribers_t *self, size_t index);
//  The next getUpdates offset
int64_t
    subscribers_offset (subscribers_t *self);
void
    subscribers_set_offset (subscribers_t *self, int64_t offset);

//  A text message that chat sent to the bot
subscribers_result_t
    subscribers_handle (subscribers_t *self, int64_t chat, hc_str_t text);

void
    subscribers_test (bool verbose);

#endif
