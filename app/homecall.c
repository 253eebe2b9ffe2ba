/*  homecall.c - the server: reads the settings, starts the actors, waits
    for a signal, stops the actors in reverse order

    ACTORS chooses which of gateway, rooms and notifier run here; the event
    bus always runs (as the bus beside rooms, as a relay elsewhere; see
    common/endpoints.h), and so does zauth when this process accepts CURVE
    links (common/link.h): it is started first and stopped last.

    Signals are blocked in every thread and taken here with sigwait, so no
    actor is interrupted in the middle of a system call and CZMQ's own
    handlers stay out of the way. SIGINT and SIGTERM stop the server (exit
    0); SIGHUP reopens the log file.
*/
#include "common/bus.h"
#include "common/config.h"
#include "common/endpoints.h"
#include "common/link.h"
#include "common/log.h"
#include "gateway/gateway.h"
#include "gateway/gw_ice.h"
#include "gateway/gw_json.h"
#include "gateway/gw_tls.h"
#include "notifier/notifier.h"
#include "notifier/telegram_settings.h"
#include "rooms/rooms.h"

#include <signal.h>
#include <sys/resource.h>

typedef struct {
    const char *name;
    zactor_fn *fn;
    int bit;                    //  HC_ACTOR_*, or 0: always runs
    zactor_t *actor;
} actor_slot_t;

//  Enough descriptors for MAX_CONNECTIONS clients, MAX_HANDSHAKES pending
//  ones and our own sockets (the gateway's lws sizes its table by this)
static void
s_raise_fd_limit (const hc_config_t *cfg)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit))
        return;
    rlim_t want = (rlim_t) cfg->max_connections
                + (rlim_t) cfg->max_handshakes + 256;
    if (limit.rlim_cur < want) {
        limit.rlim_cur = want < limit.rlim_max ? want : limit.rlim_max;
        setrlimit (RLIMIT_NOFILE, &limit);
    }
}

//  What the settings must be beyond each value's own range: a process
//  that can work, keys it can use, ICE servers the gateway can hand out,
//  Telegram settings the notifier can use
static int
s_settings_check (const hc_config_t *cfg, char *err, size_t err_size)
{
    if (hc_endpoints_check (cfg, err, err_size)
    ||  hc_link_check (cfg, hc_endpoints_accepts_links (cfg),
                       hc_endpoints_makes_links (cfg), err, err_size)
    ||  gw_ice_check (cfg, err, err_size)
    ||  ((hc_actors (cfg) & HC_ACTOR_GATEWAY)
         && gw_tls_check (cfg, err, err_size))
    ||  telegram_settings_check (cfg, err, err_size))
        return -1;
    return 0;
}

int
main (int argc, char **argv)
{
    hc_config_t cfg;
    char err [512];
    int rc = hc_config_load (&cfg, argc, argv, NULL, err, sizeof (err));
    if (rc == 1)
        return 0;               //  --help or --version
    if (rc < 0 || s_settings_check (&cfg, err, sizeof (err))) {
        fprintf (stderr, "homecall: %s\n", err);
        return 2;
    }
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);    //  inherited by actors
    signal (SIGPIPE, SIG_IGN);
    zsys_handler_set (NULL);
    zsys_init ();
    gw_json_setup ();           //  cJSON's hooks, before any thread uses it
    s_raise_fd_limit (&cfg);

    //  Started in this order, stopped in the reverse one
    actor_slot_t actors [] = {
        {"bus", hc_bus_actor, 0, NULL},
        {"notifier", notifier_actor, HC_ACTOR_NOTIFIER, NULL},
        {"rooms", rooms_actor, HC_ACTOR_ROOMS, NULL},
        {"gateway", gateway_actor, HC_ACTOR_GATEWAY, NULL},
    };
    size_t actors_n = sizeof (actors) / sizeof (actors [0]);
    size_t started = 0;
    int exit_code = 0;
    //  Our own records (start and stop, alerted), once the notifier listens
    zsock_t *pub = NULL;
    hc_log_t *log = NULL;
    char why [64] = "";
    zactor_t *auth = hc_link_auth_new (&cfg);
    if (hc_link_curve (&cfg) && hc_endpoints_accepts_links (&cfg) && !auth) {
        fprintf (stderr, "homecall: zauth could not start\n");
        snprintf (why, sizeof (why), "zauth could not start");
        exit_code = 1;
        actors_n = 0;
    }
    for (; started < actors_n; started++) {
        if (actors [started].bit && !(hc_actors (&cfg) & actors [started].bit))
            continue;
        actors [started].actor = zactor_new (actors [started].fn, &cfg);
        zstr_send (actors [started].actor, "START");
        int result = -1;
        if (zsock_recv (actors [started].actor, "i", &result) || result < 0) {
            fprintf (stderr, "homecall: the %s actor could not start "
                             "(see the log above)\n", actors [started].name);
            snprintf (why, sizeof (why), "the %s actor could not start",
                      actors [started].name);
            started++;
            exit_code = 1;
            break;
        }
        if (actors [started].fn == notifier_actor) {
            pub = hc_log_pub_new (hc_endpoint_publish (&cfg));
            if (pub && hc_log_pub_wait (pub, 2000))
                log = hc_log_new (pub, "server",
                                  hc_config_publish_level (&cfg));
        }
    }
    if (exit_code == 0) {
        HC_LOG (log, HC_LOG_INFO, "server.started",
                hc_field_str ("version", HC_STR_LIT (HOMECALL_VERSION)),
                hc_field_int ("pid", (int64_t) getpid ()));
        int signum = 0;
        while (sigwait (&signals, &signum) == 0 && signum == SIGHUP)
            if (actors [1].actor)
                zstr_send (actors [1].actor, "REOPEN");
        snprintf (why, sizeof (why), "%s", signum == SIGINT ? "SIGINT"
                                                            : "SIGTERM");
    }
    HC_LOG (log, HC_LOG_INFO, "server.stopping", hc_field_str ("why",
                                                               hc_str (why)));
    while (started > 0) {
        started--;
        zactor_destroy (&actors [started].actor);
    }
    hc_log_destroy (&log);
    zsock_destroy (&pub);
    zactor_destroy (&auth);
    zsys_shutdown ();
    return exit_code;
}
