/*  telegram_settings.h - what the Telegram settings must be, checked at
    startup, and the chat ids of TELEGRAM_CHAT_IDS

    The process refuses to start on a bad value (app/homecall.c), with a
    message naming the setting; the bot token is never quoted in it.
*/
#ifndef TELEGRAM_SETTINGS_H_INCLUDED
#define TELEGRAM_SETTINGS_H_INCLUDED

#include "../common/config.h"

#define TELEGRAM_CHATS_MAX 32   //  chat ids in TELEGRAM_CHAT_IDS

//  0 if the Telegram settings of cfg can work; -1 and a message otherwise
int
    telegram_settings_check (const hc_config_t *cfg, char *err,
                             size_t err_size);
//  "123, -100456" into ids; at most max of them. Returns 0 or -1.
int
    telegram_settings_chat_ids (const char *text, int64_t *ids, size_t max,
                                size_t *ids_n);

void
    telegram_settings_test (bool verbose);

#endif
