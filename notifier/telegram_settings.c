/*  telegram_settings.c - what the Telegram settings must be */
#include "telegram_settings.h"

#include <czmq.h>

int
telegram_settings_chat_ids (const char *text, int64_t *ids, size_t max,
                            size_t *ids_n)
{
    *ids_n = 0;
    const char *p = text;
    hc_str_t entry;
    while (hc_list_next (&p, &entry)) {
        char digits [24];
        if (entry.len >= sizeof (digits) || *ids_n == max)
            return -1;
        memcpy (digits, entry.ptr, entry.len);
        digits [entry.len] = 0;
        errno = 0;
        char *end;
        long long id = strtoll (digits, &end, 10);
        if (errno || end == digits || *end || id == 0)
            return -1;
        ids [(*ids_n)++] = id;
    }
    return 0;
}

//  The token goes into URLs: only what Telegram issues (digits, ':',
//  letters, '_', '-'). Error messages never quote it.
int
telegram_settings_check (const hc_config_t *cfg, char *err, size_t err_size)
{
    const char *token = cfg->telegram_bot_token;
    if (token [0] && strspn (token, "0123456789:abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-")
                         != strlen (token)) {
        snprintf (err, err_size, "TELEGRAM_BOT_TOKEN: not a bot token "
                                 "(digits, ':', letters, '_' and '-' only)");
        return -1;
    }
    int64_t ids [TELEGRAM_CHATS_MAX];
    size_t ids_n;
    if (telegram_settings_chat_ids (cfg->telegram_chat_ids, ids,
                                    TELEGRAM_CHATS_MAX, &ids_n)) {
        snprintf (err, err_size, "TELEGRAM_CHAT_IDS: '%s' is not a list of "
                                 "at most %d chat ids such as 123,-100456",
                  cfg->telegram_chat_ids, TELEGRAM_CHATS_MAX);
        return -1;
    }
    const char *url = cfg->telegram_api_url;
    if (strncmp (url, "https://", 8) != 0 && strncmp (url, "http://", 7) != 0) {
        snprintf (err, err_size, "TELEGRAM_API_URL: '%s' is not an http:// or "
                                 "https:// URL", url);
        return -1;
    }
    if (cfg->telegram_backoff_min_ms > cfg->telegram_backoff_max_ms) {
        snprintf (err, err_size, "TELEGRAM_BACKOFF_MIN: must not be more than "
                                 "TELEGRAM_BACKOFF_MAX");
        return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Self test

void
telegram_settings_test (bool verbose)
{
    if (verbose)
        printf (" * telegram_settings: ");
    int64_t ids [TELEGRAM_CHATS_MAX];
    size_t ids_n;
    assert (telegram_settings_chat_ids (" 12, -100345 ,7", ids,
                                        TELEGRAM_CHATS_MAX, &ids_n) == 0);
    assert (ids_n == 3 && ids [0] == 12 && ids [1] == -100345 && ids [2] == 7);
    assert (telegram_settings_chat_ids ("", ids, TELEGRAM_CHATS_MAX, &ids_n)
            == 0 && ids_n == 0);
    assert (telegram_settings_chat_ids ("12x", ids, TELEGRAM_CHATS_MAX,
                                        &ids_n) == -1);
    assert (telegram_settings_chat_ids ("1,2,3", ids, 2, &ids_n) == -1);

    //  The defaults pass
    hc_config_t cfg;
    char err [256];
    char *argv [] = {"homecall", NULL};
    unsetenv ("TELEGRAM_BOT_TOKEN");
    unsetenv ("TG_API_KEY");
    unsetenv ("TELEGRAM_CHAT_IDS");
    assert (hc_config_load (&cfg, 1, argv, "/nonexistent/.env", err,
                            sizeof (err)) == 0);
    assert (telegram_settings_check (&cfg, err, sizeof (err)) == 0);
    //  A bad token is refused without being quoted
    strcpy (cfg.telegram_bot_token, "456:d/ef?x");
    assert (telegram_settings_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "TELEGRAM_BOT_TOKEN") && !strstr (err, "d/ef"));
    strcpy (cfg.telegram_bot_token, "456:def");
    assert (telegram_settings_check (&cfg, err, sizeof (err)) == 0);
    strcpy (cfg.telegram_chat_ids, "1;2");
    assert (telegram_settings_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "TELEGRAM_CHAT_IDS") && strstr (err, "1;2"));
    strcpy (cfg.telegram_chat_ids, "1,-2");
    strcpy (cfg.telegram_api_url, "ftp://x");
    assert (telegram_settings_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "TELEGRAM_API_URL"));
    strcpy (cfg.telegram_api_url, "http://127.0.0.1:1");
    cfg.telegram_backoff_min_ms = cfg.telegram_backoff_max_ms + 1;
    assert (telegram_settings_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "TELEGRAM_BACKOFF_MIN"));
    if (verbose)
        printf ("OK\n");
}
