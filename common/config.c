/*  config.c - every setting of the server, from flags, environment and .env

    One table describes each option once: its flag, environment name, type,
    default, bounds and help text. Loading, validation and --help all walk it.
*/
#include "config.h"
#include "dotenv.h"
#include "netlist.h"
#include "origins.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HOMECALL_VERSION
#define HOMECALL_VERSION "dev"
#endif

typedef enum {
    T_INT,          //  plain integer
    T_DURATION,     //  stored in milliseconds
    T_SIZE,         //  stored in bytes
    T_TEXT,         //  char [HC_CFG_TEXT]
    T_LEVEL,        //  hc_log_level_t
    T_FORMAT,       //  hc_log_format_t
    T_BOOL          //  bool: on/off, true/false, yes/no, 1/0
} opt_type_t;

typedef struct {
    const char *flag;           //  without the leading dashes
    const char *env;            //  environment / .env name
    opt_type_t type;
    const char *def;            //  default, written as a user would
    int64_t min, max;           //  bounds, in the stored unit
    size_t offset;              //  where in hc_config_t
    const char *help;
} opt_spec_t;

#define OFF(field) offsetof (hc_config_t, field)
#define DAY_MS (86400LL * 1000)

static const opt_spec_t s_options [] = {
    {"ws-host", "WS_HOST", T_TEXT, "0.0.0.0", 0, 0, OFF (ws_host),
     "address the WebSocket listener binds"},
    {"ws-port", "WS_PORT", T_INT, "5555", 0, 65535, OFF (ws_port),
     "WebSocket port (0 picks a free port and logs it)"},
    {"max-frame-size", "MAX_FRAME_SIZE", T_SIZE, "64KiB", 1024,
     16 * 1024 * 1024, OFF (max_frame_size),
     "largest client message; larger ones close the connection (1009)"},
    {"max-connections", "MAX_CONNECTIONS", T_INT, "10000", 1, 1000000,
     OFF (max_connections), "concurrent WebSocket connections"},
    {"max-connections-per-ip", "MAX_CONNECTIONS_PER_IP", T_INT, "100", 0,
     1000000, OFF (max_connections_per_ip),
     "concurrent WebSocket connections from one client address (0 = no cap)"},
    {"max-handshakes", "MAX_HANDSHAKES", T_INT, "1000", 1, 1000000,
     OFF (max_handshakes), "sockets in their handshake at once; past it the "
     "oldest is closed"},
    {"handshake-timeout", "HANDSHAKE_TIMEOUT", T_DURATION, "10s", 100,
     3600000, OFF (handshake_timeout_ms),
     "time from accept to a complete handshake; then the socket is closed"},
    {"buffer-budget", "BUFFER_BUDGET", T_SIZE, "0", 0, 1LL << 40,
     OFF (buffer_budget), "bytes held for all clients together (send "
     "queues, partial messages); past it the largest queues are cut "
     "(0 = a quarter of the memory)"},
    {"max-header-size", "MAX_HEADER_SIZE", T_SIZE, "16KiB", 1024,
     1024 * 1024, OFF (max_header_size),
     "request line and headers of a handshake; larger ones get 431"},
    {"trusted-proxies", "TRUSTED_PROXIES", T_TEXT, "127.0.0.1,::1", 0, 0,
     OFF (trusted_proxies), "reverse proxies (addresses, networks as "
     "10.0.0.0/8) whose X-Forwarded-For names the client"},
    {"metrics-allow", "METRICS_ALLOW", T_TEXT, "127.0.0.1,::1", 0, 0,
     OFF (metrics_allow), "clients that may read /metrics (addresses, "
     "networks; empty: /metrics is off)"},
    {"tls-cert", "TLS_CERT", T_TEXT, "", 0, 0, OFF (tls_cert),
     "certificate chain (PEM): the gateway serves wss:// and https://"},
    {"tls-key", "TLS_KEY", T_TEXT, "", 0, 0, OFF (tls_key),
     "private key (PEM) of TLS_CERT"},
    {"allowed-origins", "ALLOWED_ORIGINS", T_TEXT, "", 0, 0,
     OFF (allowed_origins), "WebSocket Origins let in, exact, comma-"
     "separated (empty: any; no Origin: let in)"},
    {"rate-limit", "RATE_LIMIT", T_INT, "50", 0, 1000000, OFF (rate_limit),
     "client frames per second per connection (0 = no limit)"},
    {"rate-burst", "RATE_BURST", T_INT, "200", 1, 1000000, OFF (rate_burst),
     "client frames a connection may send in one burst"},
    {"send-queue-max", "SEND_QUEUE_MAX", T_SIZE, "4MiB", 64 * 1024,
     1024LL * 1024 * 1024, OFF (send_queue_max),
     "bytes waiting for one slow client before it is disconnected"},
    {"ping-interval", "PING_INTERVAL", T_DURATION, "30s", 100, DAY_MS,
     OFF (ping_interval_ms),
     "idle time before the server sends a WebSocket ping"},
    {"ping-timeout", "PING_TIMEOUT", T_DURATION, "30s", 100, DAY_MS,
     OFF (ping_timeout_ms),
     "silence after that ping before the connection is dropped"},
    {"demo-page", "DEMO_PAGE", T_BOOL, "on", 0, 0, OFF (demo_page),
     "GET / serves the demo call page (off: 426 as on other paths)"},
    {"stun-urls", "STUN_URLS", T_TEXT, "", 0, 0, OFF (stun_urls),
     "STUN servers for clients: stun: URLs, comma-separated"},
    {"turn-urls", "TURN_URLS", T_TEXT, "", 0, 0, OFF (turn_urls),
     "TURN servers for clients: turn:/turns: URLs, comma-separated"},
    {"turn-secret", "TURN_SECRET", T_TEXT, "", 0, 0, OFF (turn_secret),
     "TURN shared secret (coturn static-auth-secret); needed with TURN_URLS"},
    {"turn-ttl", "TURN_TTL", T_DURATION, "24h", 1000, 30 * DAY_MS,
     OFF (turn_ttl_ms), "life of the TURN credentials a client gets"},
    {"room-max-members", "ROOM_MAX_MEMBERS", T_INT, "16", 2, 10000,
     OFF (room_max_members), "members of one /signal room"},
    {"max-rooms", "MAX_ROOMS", T_INT, "100000", 1, 100000000, OFF (max_rooms),
     "/signal rooms that exist at once"},
    {"queue-max-frames", "QUEUE_MAX_FRAMES", T_INT, "64", 1, 100000,
     OFF (queue_max_frames), "frames queued per /signal room"},
    {"queue-max-bytes", "QUEUE_MAX_BYTES", T_SIZE, "256KiB", 1024,
     1024LL * 1024 * 1024, OFF (queue_max_bytes),
     "bytes queued per /signal room"},
    {"queue-total-bytes", "QUEUE_TOTAL_BYTES", T_SIZE, "64MiB", 1024,
     64LL * 1024 * 1024 * 1024, OFF (queue_total_bytes),
     "bytes queued over all /signal rooms"},
    {"queue-ttl", "QUEUE_TTL", T_DURATION, "120s", 1, DAY_MS,
     OFF (queue_ttl_ms), "life of a queued /signal frame"},
    {"p2p-heartbeat-interval", "P2P_HEARTBEAT_INTERVAL", T_DURATION, "30s", 10,
     DAY_MS, OFF (p2p_heartbeat_interval_ms),
     "how often p2p connections are checked for PING"},
    {"p2p-heartbeat-timeout", "P2P_HEARTBEAT_TIMEOUT", T_DURATION, "5m", 10,
     DAY_MS, OFF (p2p_heartbeat_timeout_ms),
     "p2p connection without PING this long is closed (1000)"},
    {"p2p-waiting-ttl", "P2P_WAITING_TTL", T_DURATION, "60s", 1, DAY_MS,
     OFF (p2p_waiting_ttl_ms), "life of a call waiting for an offline user"},
    {"p2p-waiting-sweep", "P2P_WAITING_SWEEP", T_DURATION, "10s", 1, DAY_MS,
     OFF (p2p_waiting_sweep_ms), "how often expired waiting calls are dropped"},
    {"p2p-reconnect-grace", "P2P_RECONNECT_GRACE", T_DURATION, "30s", 0,
     DAY_MS, OFF (p2p_reconnect_grace_ms),
     "a call whose connection dropped waits this long for RECONNECT"},
    {"p2p-max-users", "P2P_MAX_USERS", T_INT, "100000", 1, 100000000,
     OFF (p2p_max_users), "registered p2p users"},
    {"p2p-max-devices", "P2P_MAX_DEVICES", T_INT, "16", 1, 1000,
     OFF (p2p_max_devices), "connections registered under one user id"},
    {"p2p-max-waiting", "P2P_MAX_WAITING", T_INT, "100000", 1, 100000000,
     OFF (p2p_max_waiting), "calls waiting for offline users"},
    {"log-level", "LOG_LEVEL", T_LEVEL, "info", 0, 0, OFF (log_level),
     "least severe level logged: debug, info, warn, error"},
    {"log-format", "LOG_FORMAT", T_FORMAT, "auto", 0, 0, OFF (log_format),
     "text, json, or auto (text on a terminal, else json)"},
    {"log-file", "LOG_FILE", T_TEXT, "", 0, 0, OFF (log_file),
     "also append log lines to this file (reopened on SIGHUP)"},
    {"telegram-bot-token", "TELEGRAM_BOT_TOKEN", T_TEXT, "", 0, 0,
     OFF (telegram_bot_token),
     "Telegram bot token (alias TG_API_KEY); no token: alerts are off"},
    {"telegram-chat-ids", "TELEGRAM_CHAT_IDS", T_TEXT, "", 0, 0,
     OFF (telegram_chat_ids), "chats that get alerts: ids, comma-separated"},
    {"telegram-api-url", "TELEGRAM_API_URL", T_TEXT,
     "https://api.telegram.org", 0, 0, OFF (telegram_api_url),
     "Telegram Bot API base URL"},
    {"telegram-min-level", "TELEGRAM_MIN_LEVEL", T_LEVEL, "info", 0, 0,
     OFF (telegram_min_level),
     "least severe alert sent: info (start, stop), warn, error"},
    {"telegram-interval", "TELEGRAM_INTERVAL", T_DURATION, "1s", 0, 3600000,
     OFF (telegram_interval_ms), "least time between two messages to a chat"},
    {"telegram-per-minute", "TELEGRAM_PER_MINUTE", T_INT, "20", 1, 1000,
     OFF (telegram_per_minute), "messages per minute to one chat"},
    {"telegram-merge-window", "TELEGRAM_MERGE_WINDOW", T_DURATION, "60s", 100,
     DAY_MS, OFF (telegram_merge_window_ms),
     "identical alerts within this time become one message with a count"},
    {"telegram-queue-max", "TELEGRAM_QUEUE_MAX", T_INT, "100", 1, 10000,
     OFF (telegram_queue_max),
     "alerts waiting per chat; past it the oldest is dropped and counted"},
    {"telegram-timeout", "TELEGRAM_TIMEOUT", T_DURATION, "10s", 100, 300000,
     OFF (telegram_timeout_ms), "longest Bot API request"},
    {"telegram-connect-timeout", "TELEGRAM_CONNECT_TIMEOUT", T_DURATION, "5s",
     100, 300000, OFF (telegram_connect_timeout_ms),
     "longest connect (TCP and TLS) to the Bot API"},
    {"telegram-backoff-min", "TELEGRAM_BACKOFF_MIN", T_DURATION, "1s", 10,
     3600000, OFF (telegram_backoff_min_ms),
     "first retry delay after a 5xx or network error; doubles each time"},
    {"telegram-backoff-max", "TELEGRAM_BACKOFF_MAX", T_DURATION, "5m", 10,
     DAY_MS, OFF (telegram_backoff_max_ms), "longest retry delay"},
    {"client-error-burst", "CLIENT_ERROR_BURST", T_INT, "50", 0, 1000000000,
     OFF (client_error_burst),
     "client errors within TELEGRAM_MERGE_WINDOW that alert (0 = never)"},
    {"telegram-subscribe-secret", "TELEGRAM_SUBSCRIBE_SECRET", T_TEXT, "", 0,
     0, OFF (telegram_subscribe_secret),
     "chats that send /start SECRET to the bot get alerts (none: nobody)"},
    {"telegram-state-file", "TELEGRAM_STATE_FILE", T_TEXT,
     "telegram-chats.json", 0, 0, OFF (telegram_state_file),
     "where subscribed chats are kept across restarts"},
    {"telegram-poll-timeout", "TELEGRAM_POLL_TIMEOUT", T_DURATION, "30s", 1000,
     50000, OFF (telegram_poll_timeout_ms),
     "long-polling time of getUpdates (subscriptions)"},
    {"rooms-endpoint", "ROOMS_ENDPOINT", T_TEXT, "inproc://rooms", 0, 0,
     OFF (rooms_endpoint), "ZeroMQ endpoint of the rooms actor"},
    {"events-in-endpoint", "EVENTS_IN_ENDPOINT", T_TEXT, "inproc://events-in",
     0, 0, OFF (events_in_endpoint),
     "ZeroMQ endpoint where actors publish events"},
    {"events-out-endpoint", "EVENTS_OUT_ENDPOINT", T_TEXT, "inproc://events",
     0, 0, OFF (events_out_endpoint),
     "ZeroMQ endpoint where the notifier and observers subscribe"},
    {"actors", "ACTORS", T_TEXT, "gateway,rooms,notifier", 0, 0,
     OFF (actors), "actors this process runs (any of gateway, rooms, notifier)"},
    {"observer-endpoint", "OBSERVER_ENDPOINT", T_TEXT,
     "tcp://127.0.0.1:5556", 0, 0, OFF (observer_endpoint),
     "where observers subscribe to the event bus (empty: nowhere)"},
    {"link-heartbeat", "LINK_HEARTBEAT", T_DURATION, "1s", 10, DAY_MS,
     OFF (link_heartbeat_ms), "period of heartbeats between processes"},
    {"link-timeout", "LINK_TIMEOUT", T_DURATION, "5s", 30, DAY_MS,
     OFF (link_timeout_ms),
     "silence after which a gateway or rooms counts as gone"},
    {"curve-secret-key", "CURVE_SECRET_KEY", T_TEXT, "", 0, 0,
     OFF (curve_secret_key),
     "this process's CURVE certificate (secret file): tcp links use CURVE"},
    {"curve-server-key", "CURVE_SERVER_KEY", T_TEXT, "", 0, 0,
     OFF (curve_server_key),
     "public certificate of the process that runs rooms and the bus"},
    {"curve-allowed-keys", "CURVE_ALLOWED_KEYS", T_TEXT, "", 0, 0,
     OFF (curve_allowed_keys),
     "directory of public certificates allowed to connect"},
    {"trace", "TRACE", T_TEXT, "", 0, 0, OFF (trace),
     "gateway: append every client frame in and out to this file"},
};

#define OPTIONS_N (sizeof (s_options) / sizeof (s_options [0]))

//  Names the original servers used; the option's own name wins over them
static const struct {
    const char *alias;
    const char *env;
} s_aliases [] = {
    {"TG_API_KEY", "TELEGRAM_BOT_TOKEN"},
};

#define ALIASES_N (sizeof (s_aliases) / sizeof (s_aliases [0]))

static int
s_parse_int (const char *text, int64_t *value)
{
    if (!*text || isspace ((unsigned char) *text))
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll (text, &end, 10);
    if (errno || end == text || *end)
        return -1;
    *value = v;
    return 0;
}

//  An integer followed by one of the given units; no unit uses the first
static int
s_parse_with_unit (const char *text, const char *const *units,
                   const int64_t *factors, size_t units_n, int64_t *value)
{
    if (!isdigit ((unsigned char) *text))
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull (text, &end, 10);
    if (errno || v > INT64_MAX)
        return -1;
    int64_t factor = factors [0];
    if (*end) {
        size_t i;
        for (i = 0; i < units_n; i++)
            if (strcmp (end, units [i]) == 0)
                break;
        if (i == units_n)
            return -1;
        factor = factors [i];
    }
    if (v > (unsigned long long) (INT64_MAX / factor))
        return -1;
    *value = (int64_t) v * factor;
    return 0;
}

int
hc_parse_duration_ms (const char *text, int64_t *ms)
{
    static const char *const units [] = {"s", "ms", "m", "h"};
    static const int64_t factors [] = {1000, 1, 60000, 3600000};
    return s_parse_with_unit (text, units, factors, 4, ms);
}

int
hc_parse_size (const char *text, int64_t *bytes)
{
    static const char *const units [] = {
        "B", "K", "KB", "KiB", "k", "M", "MB", "MiB", "G", "GB", "GiB"};
    static const int64_t factors [] = {
        1, 1024, 1024, 1024, 1024, 1 << 20, 1 << 20, 1 << 20,
        1 << 30, 1 << 30, 1 << 30};
    return s_parse_with_unit (text, units, factors, 11, bytes);
}

static int
s_lookup (const char *text, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (text, names [i]) == 0)
            return (int) i;
    return -1;
}

//  Parses text into the option's slot; on failure err says what was wrong
static int
s_apply (hc_config_t *cfg, const opt_spec_t *opt, const char *text,
         const char *source, char *err, size_t err_size)
{
    char *slot = (char *) cfg + opt->offset;
    int64_t value = 0;
    int rc = 0;
    const char *expect = "";
    switch (opt->type) {
        case T_TEXT:
            if (strlen (text) >= HC_CFG_TEXT) {
                snprintf (err, err_size, "%s (%s): value longer than %d bytes",
                          opt->env, source, HC_CFG_TEXT - 1);
                return -1;
            }
            strcpy (slot, text);
            return 0;
        case T_LEVEL: {
            static const char *const names [] = {"debug", "info", "warn",
                                                 "error"};
            int level = s_lookup (text, names, 4);
            if (level < 0) {
                snprintf (err, err_size,
                          "%s (%s): '%s' is not one of debug, info, warn, "
                          "error", opt->env, source, text);
                return -1;
            }
            *(hc_log_level_t *) slot = (hc_log_level_t) level;
            return 0;
        }
        case T_FORMAT: {
            static const char *const names [] = {"auto", "text", "json"};
            int format = s_lookup (text, names, 3);
            if (format < 0) {
                snprintf (err, err_size,
                          "%s (%s): '%s' is not one of auto, text, json",
                          opt->env, source, text);
                return -1;
            }
            *(hc_log_format_t *) slot = (hc_log_format_t) format;
            return 0;
        }
        case T_BOOL: {
            static const char *const names [] = {"off", "on", "false", "true",
                                                 "no", "yes", "0", "1"};
            int index = s_lookup (text, names, 8);
            if (index < 0) {
                snprintf (err, err_size, "%s (%s): '%s' is not on or off",
                          opt->env, source, text);
                return -1;
            }
            *(bool *) slot = index % 2 == 1;
            return 0;
        }
        case T_INT:
            rc = s_parse_int (text, &value);
            expect = "an integer";
            break;
        case T_DURATION:
            rc = hc_parse_duration_ms (text, &value);
            expect = "a duration such as 250ms, 30s or 5m";
            break;
        case T_SIZE:
            rc = hc_parse_size (text, &value);
            expect = "a size such as 65536, 64KiB or 1MiB";
            break;
    }
    if (rc) {
        snprintf (err, err_size, "%s (%s): '%s' is not %s", opt->env, source,
                  text, expect);
        return -1;
    }
    if (value < opt->min || value > opt->max) {
        snprintf (err, err_size, "%s (%s): %s is out of range", opt->env,
                  source, text);
        return -1;
    }
    *(int64_t *) slot = value;
    return 0;
}

//  The option of that flag (len bytes at name) or environment name
static const opt_spec_t *
s_find (const char *name, size_t len, bool env)
{
    for (size_t i = 0; i < OPTIONS_N; i++) {
        const char *key = env ? s_options [i].env : s_options [i].flag;
        if (strlen (key) == len && memcmp (key, name, len) == 0)
            return &s_options [i];
    }
    return NULL;
}

static const opt_spec_t *
s_find_env (const char *name)
{
    return s_find (name, strlen (name), true);
}

//  The option an alias stands for, or NULL
static const opt_spec_t *
s_find_alias (const char *name)
{
    for (size_t i = 0; i < ALIASES_N; i++)
        if (strcmp (s_aliases [i].alias, name) == 0)
            return s_find_env (s_aliases [i].env);
    return NULL;
}

//  The environment's value for opt: its own name, else an alias
static const char *
s_getenv (const opt_spec_t *opt)
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

//  What a .env read needs: where it goes, which options it set
typedef struct {
    hc_config_t *cfg;
    bool seen [OPTIONS_N];      //  got a non-empty value under its own name
    bool aliased [OPTIONS_N];   //  got a value under an alias
    char *err;
    size_t err_size;
} dotenv_read_t;

//  One assignment of the .env file
static int
s_dotenv_setting (const char *name, const char *value, int lineno, void *arg)
{
    dotenv_read_t *read = (dotenv_read_t *) arg;
    //  An option's own name wins over an alias, and an empty value under
    //  its own name does not hide an alias's
    const opt_spec_t *opt = s_find_env (name);
    bool alias = !opt;
    if (alias)
        opt = s_find_alias (name);
    if (!opt)
        return 0;               //  a .env may hold settings of other tools
    size_t index = (size_t) (opt - s_options);
    if ((alias && read->seen [index])
    ||  (!alias && !*value && read->aliased [index]))
        return 0;
    char source [64];
    snprintf (source, sizeof (source), ".env line %d", lineno);
    int rc = s_apply (read->cfg, opt, value, source, read->err,
                      read->err_size);
    if (alias)
        read->aliased [index] = true;
    else
    if (*value)
        read->seen [index] = true;
    return rc;
}

int
hc_config_load (hc_config_t *cfg, int argc, char **argv,
                const char *dotenv_path, char *err, size_t err_size)
{
    memset (cfg, 0, sizeof (*cfg));
    for (size_t i = 0; i < OPTIONS_N; i++) {
        int rc = s_apply (cfg, &s_options [i], s_options [i].def, "default",
                          err, err_size);
        assert (rc == 0);       //  our own defaults must be valid
        (void) rc;
    }
    //  Flags first, applied last: scan them for --help and --env-file
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv [i], "--help") == 0 || strcmp (argv [i], "-h") == 0) {
            hc_config_print_help (stdout);
            return 1;
        }
        if (strcmp (argv [i], "--version") == 0) {
            printf ("homecall %s\n", HOMECALL_VERSION);
            return 1;
        }
        if (strcmp (argv [i], "--env-file") == 0 && i + 1 < argc)
            dotenv_path = argv [++i];
        else
        if (strncmp (argv [i], "--env-file=", 11) == 0)
            dotenv_path = argv [i] + 11;
    }
    dotenv_read_t read = {cfg, {false}, {false}, err, err_size};
    if (hc_dotenv_read (dotenv_path ? dotenv_path : ".env", s_dotenv_setting,
                        &read))
        return -1;
    for (size_t i = 0; i < OPTIONS_N; i++) {
        const char *value = s_getenv (&s_options [i]);
        if (value && s_apply (cfg, &s_options [i], value, "environment", err,
                              err_size))
            return -1;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        if (strncmp (arg, "--", 2) != 0) {
            snprintf (err, err_size, "unexpected argument '%s' (see --help)",
                      arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr (name, '=');
        size_t name_len = eq ? (size_t) (eq - name) : strlen (name);
        if (name_len == 8 && memcmp (name, "env-file", 8) == 0) {
            if (!eq)
                i++;
            continue;
        }
        const opt_spec_t *opt = s_find (name, name_len, false);
        if (!opt) {
            snprintf (err, err_size, "unknown option '%.*s' (see --help)",
                      (int) name_len + 2, arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) {
                snprintf (err, err_size, "option --%s needs a value",
                          opt->flag);
                return -1;
            }
            value = argv [++i];
        }
        if (s_apply (cfg, opt, value, "command line", err, err_size))
            return -1;
    }
    if (cfg->ws_host [0] == 0) {
        snprintf (err, err_size, "WS_HOST: must not be empty");
        return -1;
    }
    hc_netlist_t proxies;
    char bad [64];
    const char *lists [][2] = {
        {"TRUSTED_PROXIES", cfg->trusted_proxies},
        {"METRICS_ALLOW", cfg->metrics_allow}
    };
    for (size_t i = 0; i < sizeof (lists) / sizeof (lists [0]); i++)
        if (hc_netlist_parse (&proxies, lists [i][1], bad, sizeof (bad))) {
            snprintf (err, err_size, "%s: '%s' is not an IP address or a "
                                     "network such as 10.0.0.0/8 (at most %d, "
                                     "comma-separated)", lists [i][0], bad,
                      HC_NETLIST_MAX);
            return -1;
        }
    hc_origins_t origins;
    if (hc_origins_parse (&origins, cfg->allowed_origins, bad, sizeof (bad))) {
        snprintf (err, err_size, "ALLOWED_ORIGINS: '%s' is not an origin such "
                                 "as https://call.example.com (scheme://host"
                                 "[:port], no path; at most %d, comma-"
                                 "separated)", bad, HC_ORIGINS_MAX);
        return -1;
    }
    if (cfg->tls_key [0] && !cfg->tls_cert [0]) {
        snprintf (err, err_size, "TLS_KEY: set without TLS_CERT");
        return -1;
    }
    if (cfg->rate_limit > 0 && cfg->rate_burst < 1) {
        snprintf (err, err_size, "RATE_BURST: must be at least 1");
        return -1;
    }
    return 0;
}

hc_log_level_t
hc_config_publish_level (const hc_config_t *cfg)
{
    if (cfg->telegram_bot_token [0] && cfg->log_level > HC_LOG_INFO)
        return HC_LOG_INFO;
    return cfg->log_level;
}

void
hc_config_print_help (FILE *out)
{
    fprintf (out,
             "homecall %s - WebRTC signaling server (/signal and p2p "
             "dialects)\n\n"
             "Usage: homecall [--option value | --option=value] ...\n\n"
             "Each option can also be set by its environment variable or in "
             "a .env file\nin the working directory (--env-file PATH to "
             "choose another). Flags win\nover the environment, the "
             "environment over .env.\n\n",
             HOMECALL_VERSION);
    fprintf (out, "  %-28s %-26s %-16s %s\n", "flag", "environment", "default",
             "meaning");
    for (size_t i = 0; i < OPTIONS_N; i++) {
        char flag [64];
        snprintf (flag, sizeof (flag), "--%s", s_options [i].flag);
        fprintf (out, "  %-28s %-26s %-16s %s\n", flag, s_options [i].env,
                 *s_options [i].def ? s_options [i].def : "(none)",
                 s_options [i].help);
    }
    fprintf (out,
             "\n  %-28s %-26s %-16s %s\n  %-28s %-26s %-16s %s\n"
             "  %-28s %-26s %-16s %s\n",
             "--env-file PATH", "", ".env", "read settings from this file",
             "--help", "", "", "print this list and exit",
             "--version", "", "", "print the version and exit");
}

//  ---------------------------------------------------------------------
//  Self test

void
hc_config_test (bool verbose)
{
    if (verbose)
        printf (" * config: ");
    int64_t v;
    assert (hc_parse_duration_ms ("250ms", &v) == 0 && v == 250);
    assert (hc_parse_duration_ms ("30", &v) == 0 && v == 30000);
    assert (hc_parse_duration_ms ("2m", &v) == 0 && v == 120000);
    assert (hc_parse_duration_ms ("1h", &v) == 0 && v == 3600000);
    assert (hc_parse_duration_ms ("-1s", &v) == -1);
    assert (hc_parse_duration_ms ("5 s", &v) == -1);
    assert (hc_parse_duration_ms ("s", &v) == -1);
    assert (hc_parse_size ("64KiB", &v) == 0 && v == 65536);
    assert (hc_parse_size ("1MiB", &v) == 0 && v == 1048576);
    assert (hc_parse_size ("100", &v) == 0 && v == 100);
    assert (hc_parse_size ("99999999999999999999", &v) == -1);
    assert (hc_parse_size ("1x", &v) == -1);

    unsetenv ("WS_PORT");
    unsetenv ("QUEUE_TTL");
    char dotenv [] = "/tmp/hc-config-test-XXXXXX";
    int fd = mkstemp (dotenv);
    assert (fd >= 0);
    FILE *f = fdopen (fd, "w");
    fprintf (f, "# comment\nWS_PORT=7000\nexport QUEUE_TTL=\"5s\"\n"
                "OTHER_TOOL=1\nLOG_LEVEL=warn # trailing\n");
    fclose (f);

    hc_config_t cfg;
    char err [256];
    char *argv0 [] = {"homecall", NULL};
    //  Defaults
    assert (hc_config_load (&cfg, 1, argv0, "/nonexistent/.env", err,
                            sizeof (err)) == 0);
    assert (cfg.ws_port == 5555 && strcmp (cfg.ws_host, "0.0.0.0") == 0);
    assert (cfg.max_frame_size == 65536 && cfg.queue_ttl_ms == 120000);
    assert (cfg.log_level == HC_LOG_INFO);
    //  .env, then environment over .env, then flags over both
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == 0);
    assert (cfg.ws_port == 7000 && cfg.queue_ttl_ms == 5000);
    assert (cfg.log_level == HC_LOG_WARN);
    setenv ("WS_PORT", "7001", 1);
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == 0);
    assert (cfg.ws_port == 7001);
    char *argv1 [] = {"homecall", "--ws-port", "7002", "--queue-ttl=300ms",
                      NULL};
    assert (hc_config_load (&cfg, 4, argv1, dotenv, err, sizeof (err)) == 0);
    assert (cfg.ws_port == 7002 && cfg.queue_ttl_ms == 300);
    //  Bad values name the option
    setenv ("WS_PORT", "8888abc", 1);
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == -1);
    assert (strstr (err, "WS_PORT") && strstr (err, "8888abc"));
    setenv ("WS_PORT", "70000", 1);
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == -1);
    assert (strstr (err, "out of range"));
    unsetenv ("WS_PORT");
    char *argv2 [] = {"homecall", "--no-such-thing", "1", NULL};
    assert (hc_config_load (&cfg, 3, argv2, dotenv, err, sizeof (err)) == -1);
    assert (strstr (err, "--no-such-thing"));
    char *argv3 [] = {"homecall", "--ws-port", NULL};
    assert (hc_config_load (&cfg, 2, argv3, dotenv, err, sizeof (err)) == -1);
    char *argv4 [] = {"homecall", "--log-level", "loud", NULL};
    assert (hc_config_load (&cfg, 3, argv4, dotenv, err, sizeof (err)) == -1);
    assert (strstr (err, "LOG_LEVEL"));
    //  Proxies: loopback by default; a wrong entry is quoted
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == 0);
    assert (strcmp (cfg.trusted_proxies, "127.0.0.1,::1") == 0
            && cfg.max_connections_per_ip == 100);
    char *argv6 [] = {"homecall", "--trusted-proxies", "10.0.0.0/8,proxy",
                      NULL};
    assert (hc_config_load (&cfg, 3, argv6, dotenv, err, sizeof (err)) == -1);
    assert (strstr (err, "TRUSTED_PROXIES") && strstr (err, "'proxy'"));

    //  Origins and TLS: checked at load
    char *argv7 [] = {"homecall", "--allowed-origins",
                      "https://a.example,https://b.example/x", NULL};
    assert (hc_config_load (&cfg, 3, argv7, dotenv, err, sizeof (err)) == -1);
    assert (strstr (err, "ALLOWED_ORIGINS") && strstr (err, "'https://b.example/x'"));
    char *argv8 [] = {"homecall", "--tls-key", "/etc/key.pem", NULL};
    assert (hc_config_load (&cfg, 3, argv8, dotenv, err, sizeof (err)) == -1);
    assert (strstr (err, "TLS_KEY") && strstr (err, "TLS_CERT"));

    //  Telegram: the original's TG_API_KEY is an alias; the real name wins
    unsetenv ("TELEGRAM_BOT_TOKEN");
    setenv ("TG_API_KEY", "123:abc", 1);
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == 0);
    assert (strcmp (cfg.telegram_bot_token, "123:abc") == 0);
    assert (hc_config_publish_level (&cfg) == HC_LOG_INFO);
    setenv ("TELEGRAM_BOT_TOKEN", "456:def", 1);
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == 0);
    assert (strcmp (cfg.telegram_bot_token, "456:def") == 0);
    unsetenv ("TELEGRAM_BOT_TOKEN");
    unsetenv ("TG_API_KEY");
    //  In .env too, and the alias does not override the real name there
    f = fopen (dotenv, "w");
    fprintf (f, "TELEGRAM_BOT_TOKEN=1:real\nTG_API_KEY=2:alias\n");
    fclose (f);
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == 0);
    assert (strcmp (cfg.telegram_bot_token, "1:real") == 0);
    //  An empty value under the real name does not hide the alias's
    f = fopen (dotenv, "w");
    fprintf (f, "TG_API_KEY=2:alias\nTELEGRAM_BOT_TOKEN=\n");
    fclose (f);
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == 0);
    assert (strcmp (cfg.telegram_bot_token, "2:alias") == 0);
    setenv ("TELEGRAM_BOT_TOKEN", "", 1);
    setenv ("TG_API_KEY", "3:env", 1);
    assert (hc_config_load (&cfg, 1, argv0, dotenv, err, sizeof (err)) == 0);
    assert (strcmp (cfg.telegram_bot_token, "3:env") == 0);
    unsetenv ("TELEGRAM_BOT_TOKEN");
    unsetenv ("TG_API_KEY");
    cfg.telegram_bot_token [0] = 0;
    cfg.log_level = HC_LOG_ERROR;
    assert (hc_config_publish_level (&cfg) == HC_LOG_ERROR);
    unlink (dotenv);
    if (verbose)
        printf ("OK\n");
}
