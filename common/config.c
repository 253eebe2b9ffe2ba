/*  config.c - every setting of the server, from flags, environment and .env

    The table of options (config_options.c) describes each option once;
    here the sources are read in order of precedence, and the settings that
    depend on each other are checked.
*/
#include "config.h"
#include "dotenv.h"
#include "netlist.h"
#include "origins.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HOMECALL_VERSION
#define HOMECALL_VERSION "dev"
#endif

#define OPTIONS_MAX 128         //  room for the table's rows

//  What a .env read needs: where it goes, which options it set
typedef struct {
    hc_config_t *cfg;
    bool seen [OPTIONS_MAX];    //  got a non-empty value under its own name
    bool aliased [OPTIONS_MAX]; //  got a value under an alias
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
    const hc_option_t *opt = hc_options_find_env (name);
    bool alias = !opt;
    if (alias)
        opt = hc_options_find_alias (name);
    if (!opt)
        return 0;               //  a .env may hold settings of other tools
    size_t index = (size_t) (opt - hc_options);
    if ((alias && read->seen [index])
    ||  (!alias && !*value && read->aliased [index]))
        return 0;
    char source [64];
    snprintf (source, sizeof (source), ".env line %d", lineno);
    int rc = hc_options_apply (read->cfg, opt, value, source, read->err,
                               read->err_size);
    if (alias)
        read->aliased [index] = true;
    else
    if (*value)
        read->seen [index] = true;
    return rc;
}

//  The settings that a value alone cannot refuse: lists, and options that
//  need each other
static int
s_validate (const hc_config_t *cfg, char *err, size_t err_size)
{
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

int
hc_config_load (hc_config_t *cfg, int argc, char **argv,
                const char *dotenv_path, char *err, size_t err_size)
{
    memset (cfg, 0, sizeof (*cfg));
    assert (hc_options_n <= OPTIONS_MAX);
    for (size_t i = 0; i < hc_options_n; i++) {
        int rc = hc_options_apply (cfg, &hc_options [i], hc_options [i].def,
                                   "default", err, err_size);
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
    for (size_t i = 0; i < hc_options_n; i++) {
        const char *value = hc_options_getenv (&hc_options [i]);
        if (value && hc_options_apply (cfg, &hc_options [i], value,
                                       "environment", err, err_size))
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
        const hc_option_t *opt = hc_options_find_flag (name, name_len);
        if (!opt) {
            snprintf (err, err_size, "unknown option '%.*s' (see --help)",
                      (int) name_len + 2, arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) {
                snprintf (err, err_size, "option --%.*s needs a value",
                          (int) name_len, name);
                return -1;
            }
            value = argv [++i];
        }
        if (hc_options_apply (cfg, opt, value, "command line", err,
                              err_size))
            return -1;
    }
    return s_validate (cfg, err, err_size);
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
    for (size_t i = 0; i < hc_options_n; i++) {
        const hc_option_t *opt = &hc_options [i];
        char flag [64] = "--";
        hc_options_flag (opt, flag + 2, sizeof (flag) - 2);
        fprintf (out, "  %-28s %-26s %-16s %s\n", flag, opt->env,
                 *opt->def ? opt->def : "(none)", opt->help);
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
