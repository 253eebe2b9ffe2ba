/*  config.c - every setting of the server, from flags, environment and .env

    One table describes each option once: its flag, environment name, type,
    default, bounds and help text. Loading, validation and --help all walk it.
*/
#include "config.h"

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
    T_FORMAT        //  hc_log_format_t
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
    {"log-level", "LOG_LEVEL", T_LEVEL, "info", 0, 0, OFF (log_level),
     "least severe level logged: debug, info, warn, error"},
    {"log-format", "LOG_FORMAT", T_FORMAT, "auto", 0, 0, OFF (log_format),
     "text, json, or auto (text on a terminal, else json)"},
    {"log-file", "LOG_FILE", T_TEXT, "", 0, 0, OFF (log_file),
     "also append log lines to this file (reopened on SIGHUP)"},
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

static const opt_spec_t *
s_find_flag (const char *name, size_t len)
{
    for (size_t i = 0; i < OPTIONS_N; i++)
        if (strlen (s_options [i].flag) == len
        &&  memcmp (s_options [i].flag, name, len) == 0)
            return &s_options [i];
    return NULL;
}

static const opt_spec_t *
s_find_env (const char *name)
{
    for (size_t i = 0; i < OPTIONS_N; i++)
        if (strcmp (s_options [i].env, name) == 0)
            return &s_options [i];
    return NULL;
}

//  Strips spaces, an optional "export ", and matching quotes, in place
static char *
s_dotenv_trim (char *s)
{
    while (isspace ((unsigned char) *s))
        s++;
    char *end = s + strlen (s);
    while (end > s && isspace ((unsigned char) end [-1]))
        *--end = 0;
    return s;
}

static int
s_load_dotenv (hc_config_t *cfg, const char *path, bool *seen, char *err,
               size_t err_size)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return 0;               //  no .env is the usual case
    char line [1024];
    int lineno = 0;
    int rc = 0;
    while (rc == 0 && fgets (line, sizeof (line), file)) {
        lineno++;
        char *s = s_dotenv_trim (line);
        if (*s == 0 || *s == '#')
            continue;
        if (strncmp (s, "export ", 7) == 0)
            s = s_dotenv_trim (s + 7);
        char *eq = strchr (s, '=');
        if (!eq)
            continue;           //  not an assignment: ignored, as dotenv does
        *eq = 0;
        char *name = s_dotenv_trim (s);
        char *value = s_dotenv_trim (eq + 1);
        size_t len = strlen (value);
        if (len >= 2 && (value [0] == '"' || value [0] == '\'')
        &&  value [len - 1] == value [0]) {
            value [len - 1] = 0;
            value++;
        }
        else {
            char *hash = strstr (value, " #");      //  trailing comment
            if (hash) {
                *hash = 0;
                value = s_dotenv_trim (value);
            }
        }
        const opt_spec_t *opt = s_find_env (name);
        if (!opt)
            continue;           //  a .env may hold settings of other tools
        char source [64];
        snprintf (source, sizeof (source), ".env line %d", lineno);
        rc = s_apply (cfg, opt, value, source, err, err_size);
        seen [opt - s_options] = true;
    }
    fclose (file);
    return rc;
}

int
hc_config_load (hc_config_t *cfg, int argc, char **argv,
                const char *dotenv_path, char *err, size_t err_size)
{
    memset (cfg, 0, sizeof (*cfg));
    bool seen [OPTIONS_N] = {false};
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
    if (s_load_dotenv (cfg, dotenv_path ? dotenv_path : ".env", seen, err,
                       err_size))
        return -1;
    for (size_t i = 0; i < OPTIONS_N; i++) {
        const char *value = getenv (s_options [i].env);
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
        const opt_spec_t *opt = s_find_flag (name, name_len);
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
    if (cfg->rate_limit > 0 && cfg->rate_burst < 1) {
        snprintf (err, err_size, "RATE_BURST: must be at least 1");
        return -1;
    }
    return 0;
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
    fprintf (out, "  %-24s %-22s %-16s %s\n", "flag", "environment", "default",
             "meaning");
    for (size_t i = 0; i < OPTIONS_N; i++) {
        char flag [64];
        snprintf (flag, sizeof (flag), "--%s", s_options [i].flag);
        fprintf (out, "  %-24s %-22s %-16s %s\n", flag, s_options [i].env,
                 *s_options [i].def ? s_options [i].def : "(none)",
                 s_options [i].help);
    }
    fprintf (out,
             "\n  %-24s %-22s %-16s %s\n  %-24s %-22s %-16s %s\n"
             "  %-24s %-22s %-16s %s\n",
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
    unlink (dotenv);
    if (verbose)
        printf ("OK\n");
}
