/*  endpoints.c - which actors run in this process, and where each socket
    binds or connects
*/
#include "endpoints.h"

#include <czmq.h>

static const char *const s_actor_names [] = {"gateway", "rooms", "notifier"};

int
hc_actors_parse (const char *text, int *mask)
{
    *mask = 0;
    const char *p = text;
    while (*p) {
        const char *comma = strchr (p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen (p);
        int bit = 0;
        for (int i = 0; i < 3; i++)
            if (strlen (s_actor_names [i]) == len
            &&  memcmp (s_actor_names [i], p, len) == 0)
                bit = 1 << i;
        if (!bit || (*mask & bit))
            return -1;
        *mask |= bit;
        p += len;
        if (comma && !comma [1])
            return -1;          //  a trailing comma names nothing
        if (comma)
            p++;
    }
    return *mask ? 0 : -1;
}

int
hc_actors (const hc_config_t *cfg)
{
    int mask = 0;
    if (hc_actors_parse (cfg->actors, &mask))
        return 0;
    return mask;
}

bool
hc_endpoint_is_inproc (const char *endpoint)
{
    return strncmp (endpoint, "inproc://", 9) == 0;
}

bool
hc_endpoints_bus_central (const hc_config_t *cfg)
{
    return (hc_actors (cfg) & HC_ACTOR_ROOMS)
        || hc_endpoint_is_inproc (cfg->events_in_endpoint);
}

const char *
hc_endpoint_publish (const hc_config_t *cfg)
{
    return hc_endpoint_is_inproc (cfg->events_in_endpoint)
               ? cfg->events_in_endpoint : HC_EVENTS_IN_LOCAL;
}

const char *
hc_endpoint_bus_out_local (const hc_config_t *cfg)
{
    return hc_endpoint_is_inproc (cfg->events_out_endpoint)
               ? cfg->events_out_endpoint : HC_EVENTS_OUT_LOCAL;
}

const char *
hc_endpoint_subscribe (const hc_config_t *cfg)
{
    //  A remote bus's output is used as it is: the notifier sees everything
    if (!hc_endpoints_bus_central (cfg)
    &&  !hc_endpoint_is_inproc (cfg->events_out_endpoint))
        return cfg->events_out_endpoint;
    return hc_endpoint_bus_out_local (cfg);
}

const char *
hc_endpoint_rooms (const hc_config_t *cfg)
{
    if ((hc_actors (cfg) & HC_ACTOR_ROOMS)
    &&  !hc_endpoint_is_inproc (cfg->rooms_endpoint))
        return HC_ROOMS_LOCAL;
    return cfg->rooms_endpoint;
}

bool
hc_endpoints_accepts_links (const hc_config_t *cfg)
{
    int actors = hc_actors (cfg);
    if ((actors & HC_ACTOR_ROOMS)
    &&  !hc_endpoint_is_inproc (cfg->rooms_endpoint))
        return true;
    return hc_endpoints_bus_central (cfg)
        && (!hc_endpoint_is_inproc (cfg->events_in_endpoint)
            || !hc_endpoint_is_inproc (cfg->events_out_endpoint)
            || (cfg->observer_endpoint [0]
                && !hc_endpoint_is_inproc (cfg->observer_endpoint)));
}

bool
hc_endpoints_makes_links (const hc_config_t *cfg)
{
    int actors = hc_actors (cfg);
    if ((actors & HC_ACTOR_GATEWAY)
    &&  !hc_endpoint_is_inproc (hc_endpoint_rooms (cfg)))
        return true;
    if ((actors & HC_ACTOR_NOTIFIER)
    &&  !hc_endpoint_is_inproc (hc_endpoint_subscribe (cfg)))
        return true;
    return !hc_endpoints_bus_central (cfg);
}

int
hc_endpoints_check (const hc_config_t *cfg, char *err, size_t err_size)
{
    int actors = 0;
    if (hc_actors_parse (cfg->actors, &actors)) {
        snprintf (err, err_size, "ACTORS: '%s' is not a list of gateway, "
                  "rooms, notifier", cfg->actors);
        return -1;
    }
    if ((actors & HC_ACTOR_GATEWAY) && !(actors & HC_ACTOR_ROOMS)
    &&  hc_endpoint_is_inproc (cfg->rooms_endpoint)) {
        snprintf (err, err_size, "ROOMS_ENDPOINT: %s cannot be reached from "
                  "a process that does not run rooms (use tcp://HOST:PORT)",
                  cfg->rooms_endpoint);
        return -1;
    }
    if (cfg->link_heartbeat_ms >= cfg->link_timeout_ms) {
        snprintf (err, err_size, "LINK_TIMEOUT: must be longer than "
                  "LINK_HEARTBEAT");
        return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Self test

static void
s_config (hc_config_t *cfg, const char *actors, const char *rooms,
          const char *in, const char *out)
{
    char err [256];
    char *argv [] = {"homecall", NULL};
    unsetenv ("ACTORS");
    int rc = hc_config_load (cfg, 1, argv, "/nonexistent/.env", err,
                             sizeof (err));
    assert (rc == 0);
    strcpy (cfg->actors, actors);
    strcpy (cfg->rooms_endpoint, rooms);
    strcpy (cfg->events_in_endpoint, in);
    strcpy (cfg->events_out_endpoint, out);
}

void
hc_endpoints_test (bool verbose)
{
    if (verbose)
        printf (" * endpoints: ");
    int mask;
    assert (hc_actors_parse ("gateway,rooms,notifier", &mask) == 0
            && mask == 7);
    assert (hc_actors_parse ("rooms", &mask) == 0 && mask == HC_ACTOR_ROOMS);
    assert (hc_actors_parse ("notifier,gateway", &mask) == 0 && mask == 5);
    assert (hc_actors_parse ("", &mask) == -1);
    assert (hc_actors_parse ("rooms,", &mask) == -1);
    assert (hc_actors_parse ("rooms,rooms", &mask) == -1);
    assert (hc_actors_parse ("room", &mask) == -1);
    assert (hc_actors_parse ("gateway,,rooms", &mask) == -1);

    hc_config_t cfg;
    char err [256];
    //  All in one: everything inproc, the bus is here, the observer port
    //  is the only link
    s_config (&cfg, "gateway,rooms,notifier", "inproc://rooms",
              "inproc://events-in", "inproc://events");
    assert (hc_endpoints_check (&cfg, err, sizeof (err)) == 0);
    assert (hc_endpoints_bus_central (&cfg));
    assert (streq (hc_endpoint_publish (&cfg), "inproc://events-in"));
    assert (streq (hc_endpoint_subscribe (&cfg), "inproc://events"));
    assert (streq (hc_endpoint_rooms (&cfg), "inproc://rooms"));
    assert (hc_endpoints_accepts_links (&cfg));
    assert (!hc_endpoints_makes_links (&cfg));
    cfg.observer_endpoint [0] = 0;
    assert (!hc_endpoints_accepts_links (&cfg));

    //  The rooms process of a split deployment: binds tcp, local aliases
    s_config (&cfg, "rooms,notifier", "tcp://127.0.0.1:7001",
              "tcp://127.0.0.1:7002", "inproc://events");
    assert (hc_endpoints_check (&cfg, err, sizeof (err)) == 0);
    assert (hc_endpoints_bus_central (&cfg));
    assert (streq (hc_endpoint_publish (&cfg), HC_EVENTS_IN_LOCAL));
    assert (streq (hc_endpoint_subscribe (&cfg), "inproc://events"));
    assert (hc_endpoints_accepts_links (&cfg));
    assert (!hc_endpoints_makes_links (&cfg));

    //  A gateway process: a relay bus, rooms over tcp
    s_config (&cfg, "gateway,notifier", "tcp://127.0.0.1:7001",
              "tcp://127.0.0.1:7002", "inproc://events");
    assert (hc_endpoints_check (&cfg, err, sizeof (err)) == 0);
    assert (!hc_endpoints_bus_central (&cfg));
    assert (streq (hc_endpoint_publish (&cfg), HC_EVENTS_IN_LOCAL));
    assert (streq (hc_endpoint_subscribe (&cfg), "inproc://events"));
    assert (streq (hc_endpoint_rooms (&cfg), "tcp://127.0.0.1:7001"));
    assert (!hc_endpoints_accepts_links (&cfg));
    assert (hc_endpoints_makes_links (&cfg));

    //  rooms with one local gateway on a tcp endpoint: the gateway uses
    //  the inproc alias
    s_config (&cfg, "rooms,gateway", "tcp://127.0.0.1:7001",
              "inproc://events-in", "inproc://events");
    assert (streq (hc_endpoint_rooms (&cfg), HC_ROOMS_LOCAL));

    //  A notifier elsewhere subscribes to the remote bus itself
    s_config (&cfg, "notifier", "inproc://rooms", "tcp://10.0.0.1:7002",
              "tcp://10.0.0.1:7003");
    assert (hc_endpoints_check (&cfg, err, sizeof (err)) == 0);
    assert (streq (hc_endpoint_subscribe (&cfg), "tcp://10.0.0.1:7003"));

    //  Refused: a gateway without rooms on inproc, unknown actors, timing
    s_config (&cfg, "gateway", "inproc://rooms", "inproc://events-in",
              "inproc://events");
    assert (hc_endpoints_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "ROOMS_ENDPOINT"));
    s_config (&cfg, "gateway,bus", "inproc://rooms", "inproc://events-in",
              "inproc://events");
    assert (hc_endpoints_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "ACTORS"));
    s_config (&cfg, "rooms", "inproc://rooms", "inproc://events-in",
              "inproc://events");
    cfg.link_heartbeat_ms = cfg.link_timeout_ms;
    assert (hc_endpoints_check (&cfg, err, sizeof (err)) == -1);
    assert (strstr (err, "LINK_TIMEOUT"));
    if (verbose)
        printf ("OK\n");
}
