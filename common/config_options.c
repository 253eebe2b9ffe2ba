/*  config_options.c - the table of every setting, and how a value is put
    into its field
*/
#include "config_options.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(field) offsetof (hc_config_t, field)
#define DAY_MS (86400LL * 1000)

const hc_option_t hc_options [] = {
    //  WebSocket listener (gateway)
    {"WS_HOST", HC_OPT_TEXT, "0.0.0.0", 0, 0, OFF (ws_host),
     "address the WebSocket listener binds"},
    {"WS_PORT", HC_OPT_INT, "5555", 0, 65535, OFF (ws_port),
     "WebSocket port (0 picks a free port and logs it)"},
    {"MAX_FRAME_SIZE", HC_OPT_SIZE, "64KiB", 1024, 16 * 1024 * 1024,
     OFF (max_frame_size),
     "largest client message; larger ones close the connection (1009)"},
    {"MAX_CONNECTIONS", HC_OPT_INT, "10000", 1, 1000000, OFF (max_connections),
     "concurrent WebSocket connections"},
    {"MAX_CONNECTIONS_PER_IP", HC_OPT_INT, "100", 0, 1000000,
     OFF (max_connections_per_ip),
     "concurrent WebSocket connections from one client address (0 = no cap)"},
    {"MAX_HANDSHAKES", HC_OPT_INT, "1000", 1, 1000000, OFF (max_handshakes),
     "sockets in their handshake at once; past it the oldest is closed"},
    {"HANDSHAKE_TIMEOUT", HC_OPT_DURATION, "10s", 100, 3600000,
     OFF (handshake_timeout_ms),
     "time from accept to a complete handshake; then the socket is closed"},
    {"BUFFER_BUDGET", HC_OPT_SIZE, "0", 0, 1LL << 40, OFF (buffer_budget),
     "bytes held for all clients together (send queues, partial messages); "
     "past it the largest queues are cut (0 = a quarter of the memory)"},
    {"MAX_HEADER_SIZE", HC_OPT_SIZE, "16KiB", 1024, 1024 * 1024,
     OFF (max_header_size),
     "request line and headers of a handshake; larger ones get 431"},
    {"TRUSTED_PROXIES", HC_OPT_TEXT, "127.0.0.1,::1", 0, 0,
     OFF (trusted_proxies),
     "reverse proxies (addresses, networks as 10.0.0.0/8) whose "
     "X-Forwarded-For names the client"},
    {"METRICS_ALLOW", HC_OPT_TEXT, "127.0.0.1,::1", 0, 0, OFF (metrics_allow),
     "clients that may read /metrics (addresses, networks; empty: /metrics is "
     "off)"},
    {"TLS_CERT", HC_OPT_TEXT, "", 0, 0, OFF (tls_cert),
     "certificate chain (PEM): the gateway serves wss:// and https://"},
    {"TLS_KEY", HC_OPT_TEXT, "", 0, 0, OFF (tls_key),
     "private key (PEM) of TLS_CERT"},
    {"ALLOWED_ORIGINS", HC_OPT_TEXT, "", 0, 0, OFF (allowed_origins),
     "WebSocket Origins let in, exact, comma-separated (empty: any; no "
     "Origin: let in)"},
    {"RATE_LIMIT", HC_OPT_INT, "50", 0, 1000000, OFF (rate_limit),
     "client frames per second per connection (0 = no limit)"},
    {"RATE_BURST", HC_OPT_INT, "200", 1, 1000000, OFF (rate_burst),
     "client frames a connection may send in one burst"},
    {"SEND_QUEUE_MAX", HC_OPT_SIZE, "4MiB", 64 * 1024, 1024LL * 1024 * 1024,
     OFF (send_queue_max),
     "bytes waiting for one slow client before it is disconnected"},
    {"PING_INTERVAL", HC_OPT_DURATION, "30s", 100, DAY_MS,
     OFF (ping_interval_ms),
     "idle time before the server sends a WebSocket ping"},
    {"PING_TIMEOUT", HC_OPT_DURATION, "30s", 100, DAY_MS,
     OFF (ping_timeout_ms),
     "silence after that ping before the connection is dropped"},
    {"DEMO_PAGE", HC_OPT_BOOL, "on", 0, 0, OFF (demo_page),
     "GET / serves the demo call page (off: 426 as on other paths)"},

    //  ICE servers handed to clients (gateway)
    {"STUN_URLS", HC_OPT_TEXT, "", 0, 0, OFF (stun_urls),
     "STUN servers for clients: stun: URLs, comma-separated"},
    {"TURN_URLS", HC_OPT_TEXT, "", 0, 0, OFF (turn_urls),
     "TURN servers for clients: turn:/turns: URLs, comma-separated"},
    {"TURN_SECRET", HC_OPT_TEXT, "", 0, 0, OFF (turn_secret),
     "TURN shared secret (coturn static-auth-secret); needed with TURN_URLS"},
    {"TURN_TTL", HC_OPT_DURATION, "24h", 1000, 30 * DAY_MS, OFF (turn_ttl_ms),
     "life of the TURN credentials a client gets"},

    //  /signal rooms (rooms)
    {"ROOM_MAX_MEMBERS", HC_OPT_INT, "16", 2, 10000, OFF (room_max_members),
     "members of one /signal room"},
    {"MAX_ROOMS", HC_OPT_INT, "100000", 1, 100000000, OFF (max_rooms),
     "/signal rooms that exist at once"},
    {"QUEUE_MAX_FRAMES", HC_OPT_INT, "64", 1, 100000, OFF (queue_max_frames),
     "frames queued per /signal room"},
    {"QUEUE_MAX_BYTES", HC_OPT_SIZE, "256KiB", 1024, 1024LL * 1024 * 1024,
     OFF (queue_max_bytes), "bytes queued per /signal room"},
    {"QUEUE_TOTAL_BYTES", HC_OPT_SIZE, "64MiB", 1024,
     64LL * 1024 * 1024 * 1024, OFF (queue_total_bytes),
     "bytes queued over all /signal rooms"},
    {"QUEUE_TTL", HC_OPT_DURATION, "120s", 1, DAY_MS, OFF (queue_ttl_ms),
     "life of a queued /signal frame"},

    //  p2p dialect (gateway: heartbeat; rooms: the rest)
    {"P2P_HEARTBEAT_INTERVAL", HC_OPT_DURATION, "30s", 10, DAY_MS,
     OFF (p2p_heartbeat_interval_ms),
     "how often p2p connections are checked for PING"},
    {"P2P_HEARTBEAT_TIMEOUT", HC_OPT_DURATION, "5m", 10, DAY_MS,
     OFF (p2p_heartbeat_timeout_ms),
     "p2p connection without PING this long is closed (1000)"},
    {"P2P_WAITING_TTL", HC_OPT_DURATION, "60s", 1, DAY_MS,
     OFF (p2p_waiting_ttl_ms), "life of a call waiting for an offline user"},
    {"P2P_WAITING_SWEEP", HC_OPT_DURATION, "10s", 1, DAY_MS,
     OFF (p2p_waiting_sweep_ms),
     "how often expired waiting calls are dropped"},
    {"P2P_RECONNECT_GRACE", HC_OPT_DURATION, "30s", 0, DAY_MS,
     OFF (p2p_reconnect_grace_ms),
     "a call whose connection dropped waits this long for RECONNECT"},
    {"P2P_MAX_USERS", HC_OPT_INT, "100000", 1, 100000000, OFF (p2p_max_users),
     "registered p2p users"},
    {"P2P_MAX_DEVICES", HC_OPT_INT, "16", 1, 1000, OFF (p2p_max_devices),
     "connections registered under one user id"},
    {"P2P_MAX_WAITING", HC_OPT_INT, "100000", 1, 100000000,
     OFF (p2p_max_waiting), "calls waiting for offline users"},

    //  Logging (notifier)
    {"LOG_LEVEL", HC_OPT_LEVEL, "info", 0, 0, OFF (log_level),
     "least severe level logged: debug, info, warn, error"},
    {"LOG_FORMAT", HC_OPT_FORMAT, "auto", 0, 0, OFF (log_format),
     "text, json, or auto (text on a terminal, else json)"},
    {"LOG_FILE", HC_OPT_TEXT, "", 0, 0, OFF (log_file),
     "also append log lines to this file (reopened on SIGHUP)"},

    //  Telegram alerts (notifier)
    {"TELEGRAM_BOT_TOKEN", HC_OPT_TEXT, "", 0, 0, OFF (telegram_bot_token),
     "Telegram bot token (alias TG_API_KEY); no token: alerts are off"},
    {"TELEGRAM_CHAT_IDS", HC_OPT_TEXT, "", 0, 0, OFF (telegram_chat_ids),
     "chats that get alerts: ids, comma-separated"},
    {"TELEGRAM_API_URL", HC_OPT_TEXT, "https://api.telegram.org", 0, 0,
     OFF (telegram_api_url), "Telegram Bot API base URL"},
    {"TELEGRAM_MIN_LEVEL", HC_OPT_LEVEL, "info", 0, 0,
     OFF (telegram_min_level),
     "least severe alert sent: info (start, stop), warn, error"},
    {"TELEGRAM_INTERVAL", HC_OPT_DURATION, "1s", 0, 3600000,
     OFF (telegram_interval_ms), "least time between two messages to a chat"},
    {"TELEGRAM_PER_MINUTE", HC_OPT_INT, "20", 1, 1000,
     OFF (telegram_per_minute), "messages per minute to one chat"},
    {"TELEGRAM_MERGE_WINDOW", HC_OPT_DURATION, "60s", 100, DAY_MS,
     OFF (telegram_merge_window_ms),
     "identical alerts within this time become one message with a count"},
    {"TELEGRAM_QUEUE_MAX", HC_OPT_INT, "100", 1, 10000,
     OFF (telegram_queue_max),
     "alerts waiting per chat; past it the oldest is dropped and counted"},
    {"TELEGRAM_TIMEOUT", HC_OPT_DURATION, "10s", 100, 300000,
     OFF (telegram_timeout_ms), "longest Bot API request"},
    {"TELEGRAM_CONNECT_TIMEOUT", HC_OPT_DURATION, "5s", 100, 300000,
     OFF (telegram_connect_timeout_ms),
     "longest connect (TCP and TLS) to the Bot API"},
    {"TELEGRAM_BACKOFF_MIN", HC_OPT_DURATION, "1s", 10, 3600000,
     OFF (telegram_backoff_min_ms),
     "first retry delay after a 5xx or network error; doubles each time"},
    {"TELEGRAM_BACKOFF_MAX", HC_OPT_DURATION, "5m", 10, DAY_MS,
     OFF (telegram_backoff_max_ms), "longest retry delay"},
    {"CLIENT_ERROR_BURST", HC_OPT_INT, "50", 0, 1000000000,
     OFF (client_error_burst),
     "client errors within TELEGRAM_MERGE_WINDOW that alert (0 = never)"},
    {"TELEGRAM_SUBSCRIBE_SECRET", HC_OPT_TEXT, "", 0, 0,
     OFF (telegram_subscribe_secret),
     "chats that send /start SECRET to the bot get alerts (none: nobody)"},
    {"TELEGRAM_STATE_FILE", HC_OPT_TEXT, "telegram-chats.json", 0, 0,
     OFF (telegram_state_file),
     "where subscribed chats are kept across restarts"},
    {"TELEGRAM_POLL_TIMEOUT", HC_OPT_DURATION, "30s", 1000, 50000,
     OFF (telegram_poll_timeout_ms),
     "long-polling time of getUpdates (subscriptions)"},

    //  Endpoints between actors
    {"ROOMS_ENDPOINT", HC_OPT_TEXT, "inproc://rooms", 0, 0,
     OFF (rooms_endpoint), "ZeroMQ endpoint of the rooms actor"},
    {"EVENTS_IN_ENDPOINT", HC_OPT_TEXT, "inproc://events-in", 0, 0,
     OFF (events_in_endpoint), "ZeroMQ endpoint where actors publish events"},
    {"EVENTS_OUT_ENDPOINT", HC_OPT_TEXT, "inproc://events", 0, 0,
     OFF (events_out_endpoint),
     "ZeroMQ endpoint where the notifier and observers subscribe"},

    //  Deployment: which actors run here, links between processes
    {"ACTORS", HC_OPT_TEXT, "gateway,rooms,notifier", 0, 0, OFF (actors),
     "actors this process runs (any of gateway, rooms, notifier)"},
    {"OBSERVER_ENDPOINT", HC_OPT_TEXT, "tcp://127.0.0.1:5556", 0, 0,
     OFF (observer_endpoint),
     "where observers subscribe to the event bus (empty: nowhere)"},
    {"LINK_HEARTBEAT", HC_OPT_DURATION, "1s", 10, DAY_MS,
     OFF (link_heartbeat_ms), "period of heartbeats between processes"},
    {"LINK_TIMEOUT", HC_OPT_DURATION, "5s", 30, DAY_MS, OFF (link_timeout_ms),
     "silence after which a gateway or rooms counts as gone"},
    {"CURVE_SECRET_KEY", HC_OPT_TEXT, "", 0, 0, OFF (curve_secret_key),
     "this process's CURVE certificate (secret file): tcp links use CURVE"},
    {"CURVE_SERVER_KEY", HC_OPT_TEXT, "", 0, 0, OFF (curve_server_key),
     "public certificate of the process that runs rooms and the bus"},
    {"CURVE_ALLOWED_KEYS", HC_OPT_TEXT, "", 0, 0, OFF (curve_allowed_keys),
     "directory of public certificates allowed to connect"},
    {"TRACE", HC_OPT_TEXT, "", 0, 0, OFF (trace),
     "gateway: append every client frame in and out to this file"},

};

const size_t hc_options_n = sizeof (hc_options) / sizeof (hc_options [0]);

//  Names the original servers used; the option's own name wins over them
static const struct {
    const char *alias;
    const char *env;
} s_aliases [] = {
    {"TG_API_KEY", "TELEGRAM_BOT_TOKEN"},
};

#define ALIASES_N (sizeof (s_aliases) / sizeof (s_aliases [0]))

const hc_option_t *
hc_options_find_env (const char *name)
{
    for (size_t i = 0; i < hc_options_n; i++)
        if (strcmp (hc_options [i].env, name) == 0)
            return &hc_options [i];
    return NULL;
}

const hc_option_t *
hc_options_find_alias (const char *name)
{
    for (size_t i = 0; i < ALIASES_N; i++)
        if (strcmp (s_aliases [i].alias, name) == 0)
            return hc_options_find_env (s_aliases [i].env);
    return NULL;
}

//  A flag's byte for a byte of the environment name
static char
s_flag_char (char env)
{
    return env == '_' ? '-' : (char) tolower ((unsigned char) env);
}

const hc_option_t *
hc_options_find_flag (const char *name, size_t len)
{
    for (size_t i = 0; i < hc_options_n; i++) {
        const char *env = hc_options [i].env;
        size_t at = 0;
        while (at < len && env [at] && s_flag_char (env [at]) == name [at])
            at++;
        if (at == len && env [at] == 0)
            return &hc_options [i];
    }
    return NULL;
}

void
hc_options_flag (const hc_option_t *opt, char *flag, size_t size)
{
    size_t at = 0;
    for (; at + 1 < size && opt->env [at]; at++)
        flag [at] = s_flag_char (opt->env [at]);
    flag [at] = 0;
}

const char *
hc_options_getenv (const hc_option_t *opt)
{
    //  An empty TELEGRAM_BOT_TOKEN= (as in the example file) does not hide
    //  a TG_API_KEY that has a value
    const char *value = getenv (opt->env);
    for (size_t i = 0; (!value || !*value) && i < ALIASES_N; i++)
        if (strcmp (s_aliases [i].env, opt->env) == 0
        &&  getenv (s_aliases [i].alias))
            value = getenv (s_aliases [i].alias);
    return value;
}

//  The words of the options that take one of a list, in the order of
//  their values (a bool's: off, on, off, on, ...), and how a message
//  names them
static const struct {
    const char *const names [8];
    size_t n;
    const char *expect;
} s_words [] = {
    [HC_OPT_LEVEL] = {{"debug", "info", "warn", "error"}, 4,
                      "one of debug, info, warn, error"},
    [HC_OPT_FORMAT] = {{"auto", "text", "json"}, 3, "one of auto, text, json"},
    [HC_OPT_BOOL] = {{"off", "on", "false", "true", "no", "yes", "0", "1"}, 8,
                     "on or off"},
};

int
hc_options_apply (hc_config_t *cfg, const hc_option_t *opt, const char *text,
                  const char *source, char *err, size_t err_size)
{
    char *slot = (char *) cfg + opt->offset;
    int64_t value = 0;
    int rc = 0;
    const char *expect = "";
    switch (opt->type) {
        case HC_OPT_TEXT:
            if (strlen (text) >= HC_CFG_TEXT) {
                snprintf (err, err_size, "%s (%s): value longer than %d bytes",
                          opt->env, source, HC_CFG_TEXT - 1);
                return -1;
            }
            strcpy (slot, text);
            return 0;
        case HC_OPT_LEVEL:
        case HC_OPT_FORMAT:
        case HC_OPT_BOOL:
            rc = hc_parse_word (text, s_words [opt->type].names,
                                s_words [opt->type].n);
            expect = s_words [opt->type].expect;
            value = rc;
            break;
        case HC_OPT_INT:
            rc = hc_parse_int (text, &value);
            expect = "an integer";
            break;
        case HC_OPT_DURATION:
            rc = hc_parse_duration_ms (text, &value);
            expect = "a duration such as 250ms, 30s or 5m";
            break;
        case HC_OPT_SIZE:
            rc = hc_parse_size (text, &value);
            expect = "a size such as 65536, 64KiB or 1MiB";
            break;
    }
    if (rc < 0) {
        snprintf (err, err_size, "%s (%s): '%s' is not %s", opt->env, source,
                  text, expect);
        return -1;
    }
    if (opt->type == HC_OPT_LEVEL)
        *(hc_log_level_t *) slot = (hc_log_level_t) value;
    else
    if (opt->type == HC_OPT_FORMAT)
        *(hc_log_format_t *) slot = (hc_log_format_t) value;
    else
    if (opt->type == HC_OPT_BOOL)
        *(bool *) slot = value % 2 == 1;
    else
    if (value < opt->min || value > opt->max) {
        snprintf (err, err_size, "%s (%s): %s is out of range", opt->env,
                  source, text);
        return -1;
    }
    else
        *(int64_t *) slot = value;
    return 0;
}

//  ---------------------------------------------------------------------
//  Self test

void
hc_config_options_test (bool verbose)
{
    if (verbose)
        printf (" * config_options: ");
    hc_config_t cfg;
    memset (&cfg, 0, sizeof (cfg));
    char err [256], flag [64];
    //  Every default is valid; every name is upper case, its flag lower
    for (size_t i = 0; i < hc_options_n; i++) {
        const hc_option_t *opt = &hc_options [i];
        int rc = hc_options_apply (&cfg, opt, opt->def, "default", err,
                                   sizeof (err));
        assert (rc == 0);
        (void) rc;
        for (const char *c = opt->env; *c; c++)
            assert (isupper ((unsigned char) *c) || isdigit ((unsigned char) *c)
                    || *c == '_');
        hc_options_flag (opt, flag, sizeof (flag));
        assert (hc_options_find_flag (flag, strlen (flag)) == opt);
        assert (hc_options_find_env (opt->env) == opt);
    }
    const hc_option_t *port = hc_options_find_env ("WS_PORT");
    hc_options_flag (port, flag, sizeof (flag));
    assert (strcmp (flag, "ws-port") == 0);
    assert (hc_options_find_flag ("ws-port=1", 7) == port);
    assert (hc_options_find_flag ("ws-por", 6) == NULL);
    assert (hc_options_find_flag ("ws_port", 7) == NULL);
    assert (hc_options_find_env ("ws-port") == NULL);
    assert (hc_options_find_alias ("TG_API_KEY")
            == hc_options_find_env ("TELEGRAM_BOT_TOKEN"));
    assert (hc_options_find_alias ("WS_PORT") == NULL);

    //  Values: each type, its message, the bounds
    assert (hc_options_apply (&cfg, port, "7000", "test", err, 256) == 0);
    assert (cfg.ws_port == 7000);
    assert (hc_options_apply (&cfg, port, "70000", "test", err, 256) == -1);
    assert (strcmp (err, "WS_PORT (test): 70000 is out of range") == 0);
    assert (hc_options_apply (&cfg, port, "7x", "test", err, 256) == -1);
    assert (strcmp (err, "WS_PORT (test): '7x' is not an integer") == 0);
    assert (cfg.ws_port == 7000);
    const hc_option_t *level = hc_options_find_env ("LOG_LEVEL");
    assert (hc_options_apply (&cfg, level, "warn", "test", err, 256) == 0);
    assert (cfg.log_level == HC_LOG_WARN);
    assert (hc_options_apply (&cfg, level, "loud", "test", err, 256) == -1);
    assert (strcmp (err, "LOG_LEVEL (test): 'loud' is not one of debug, "
                        "info, warn, error") == 0);
    const hc_option_t *format = hc_options_find_env ("LOG_FORMAT");
    assert (hc_options_apply (&cfg, format, "json", "test", err, 256) == 0);
    assert (cfg.log_format == HC_LOG_FORMAT_JSON);
    const hc_option_t *demo = hc_options_find_env ("DEMO_PAGE");
    assert (hc_options_apply (&cfg, demo, "no", "test", err, 256) == 0);
    assert (!cfg.demo_page);
    assert (hc_options_apply (&cfg, demo, "1", "test", err, 256) == 0);
    assert (cfg.demo_page);
    assert (hc_options_apply (&cfg, demo, "maybe", "test", err, 256) == -1);
    assert (strcmp (err, "DEMO_PAGE (test): 'maybe' is not on or off") == 0);
    const hc_option_t *ttl = hc_options_find_env ("QUEUE_TTL");
    assert (hc_options_apply (&cfg, ttl, "300ms", "test", err, 256) == 0);
    assert (cfg.queue_ttl_ms == 300);
    const hc_option_t *host = hc_options_find_env ("WS_HOST");
    char long_text [HC_CFG_TEXT + 1];
    memset (long_text, 'a', HC_CFG_TEXT);
    long_text [HC_CFG_TEXT] = 0;
    assert (hc_options_apply (&cfg, host, long_text, "test", err, 256) == -1);
    assert (strstr (err, "longer than 255 bytes"));
    if (verbose)
        printf ("OK\n");
}
