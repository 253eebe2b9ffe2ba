/*  link.c - how sockets bind and connect, within a process and across */
#include "link.h"
#include "endpoints.h"

#include <sys/stat.h>
#include <unistd.h>

#define ZAP_DOMAIN "homecall"
#define NO_SECRET "0000000000000000000000000000000000000000"

bool
hc_link_curve (const hc_config_t *cfg)
{
    return cfg->curve_secret_key [0] != 0;
}

//  A certificate from a file; with_secret: it must hold the secret key
static zcert_t *
s_cert_load (const char *path, bool with_secret)
{
    zcert_t *cert = zcert_load (path);
    if (cert && with_secret && streq (zcert_secret_txt (cert), NO_SECRET))
        zcert_destroy (&cert);
    return cert;
}

int
hc_link_check (const hc_config_t *cfg, bool accepts, bool makes, char *err,
               size_t err_size)
{
    if (!hc_link_curve (cfg)) {
        if (cfg->curve_server_key [0] || cfg->curve_allowed_keys [0]) {
            snprintf (err, err_size, "CURVE_SECRET_KEY: needed when "
                      "CURVE_SERVER_KEY or CURVE_ALLOWED_KEYS is set");
            return -1;
        }
        return 0;
    }
    zcert_t *own = s_cert_load (cfg->curve_secret_key, true);
    if (!own) {
        snprintf (err, err_size, "CURVE_SECRET_KEY: %s is not a secret "
                  "certificate (make one with homecall-keygen)",
                  cfg->curve_secret_key);
        return -1;
    }
    zcert_destroy (&own);
    struct stat st;
    if (accepts && (!cfg->curve_allowed_keys [0]
                    || stat (cfg->curve_allowed_keys, &st)
                    || !S_ISDIR (st.st_mode))) {
        snprintf (err, err_size, "CURVE_ALLOWED_KEYS: this process accepts "
                  "links and needs a directory of allowed certificates "
                  "('%s' is not one)", cfg->curve_allowed_keys);
        return -1;
    }
    if (makes) {
        zcert_t *server = cfg->curve_server_key [0]
                        ? s_cert_load (cfg->curve_server_key, false) : NULL;
        if (!server) {
            snprintf (err, err_size, "CURVE_SERVER_KEY: this process makes "
                      "links and needs the public certificate of the rooms "
                      "process ('%s' is not one)", cfg->curve_server_key);
            return -1;
        }
        zcert_destroy (&server);
    }
    return 0;
}

zactor_t *
hc_link_auth_new (const hc_config_t *cfg)
{
    if (!hc_link_curve (cfg) || !hc_endpoints_accepts_links (cfg))
        return NULL;
    zactor_t *auth = zactor_new (zauth, NULL);
    if (!auth)
        return NULL;
    zstr_sendx (auth, "CURVE", cfg->curve_allowed_keys, NULL);
    zsock_wait (auth);
    return auth;
}

//  Options for a link that leaves the process
static void
s_heartbeats (zsock_t *sock, const hc_config_t *cfg)
{
    //  A peer's word for how long a frame is cannot make us allocate
    //  gigabytes: frames beyond any message of ours are refused unread
    int64_t limit = cfg->max_frame_size > 0
                  ? cfg->max_frame_size * 4 + 256 * 1024 : 64 * 1024 * 1024;
    zsock_set_maxmsgsize (sock, (int) limit);
    zsock_set_heartbeat_ivl (sock, (int) cfg->link_heartbeat_ms);
    zsock_set_heartbeat_timeout (sock, (int) cfg->link_timeout_ms);
    //  How long the peer waits for our traffic before it gives up on us
    int64_t ttl = cfg->link_timeout_ms < 6553500 ? cfg->link_timeout_ms
                                                 : 6553500;
    zsock_set_heartbeat_ttl (sock, (int) ttl);
}

int
hc_link_bind (zsock_t *sock, const char *endpoint, const hc_config_t *cfg)
{
    if (!hc_endpoint_is_inproc (endpoint)) {
        s_heartbeats (sock, cfg);
        if (hc_link_curve (cfg)) {
            zcert_t *own = s_cert_load (cfg->curve_secret_key, true);
            if (!own)
                return -1;
            zcert_apply (own, zsock_resolve (sock));
            zcert_destroy (&own);
            zsock_set_curve_server (sock, 1);
            zsock_set_zap_domain (sock, ZAP_DOMAIN);
        }
    }
    return zsock_bind (sock, "%s", endpoint);
}

int
hc_link_connect (zsock_t *sock, const char *endpoint, const hc_config_t *cfg)
{
    if (!hc_endpoint_is_inproc (endpoint)) {
        s_heartbeats (sock, cfg);
        if (hc_link_curve (cfg)) {
            zcert_t *own = s_cert_load (cfg->curve_secret_key, true);
            zcert_t *server = s_cert_load (cfg->curve_server_key, false);
            if (!own || !server) {
                zcert_destroy (&own);
                zcert_destroy (&server);
                return -1;
            }
            zcert_apply (own, zsock_resolve (sock));
            zsock_set_curve_serverkey (sock, zcert_public_txt (server));
            zcert_destroy (&own);
            zcert_destroy (&server);
        }
    }
    return zsock_connect (sock, "%s", endpoint);
}

//  ---------------------------------------------------------------------
//  Self test: over tcp, an allowed client talks to the server; a client
//  whose key is not allowed, and one without CURVE, get nothing through

static void
s_cfg (hc_config_t *cfg, const char *dir, const char *secret,
       const char *server)
{
    memset (cfg, 0, sizeof (*cfg));
    strcpy (cfg->actors, "rooms");
    strcpy (cfg->rooms_endpoint, "tcp://127.0.0.1:*");
    strcpy (cfg->events_in_endpoint, "inproc://events-in");
    strcpy (cfg->events_out_endpoint, "inproc://events");
    cfg->link_heartbeat_ms = 100;
    cfg->link_timeout_ms = 1000;
    snprintf (cfg->curve_secret_key, HC_CFG_TEXT, "%s/%s_secret", dir,
              secret);
    snprintf (cfg->curve_server_key, HC_CFG_TEXT, "%s/%s", dir, server);
    snprintf (cfg->curve_allowed_keys, HC_CFG_TEXT, "%s/allowed", dir);
}

static void
s_keygen (const char *dir, const char *name, bool allowed)
{
    zcert_t *cert = zcert_new ();
    char path [256];
    snprintf (path, sizeof (path), "%s/%s", dir, name);
    zcert_save (cert, path);
    if (allowed) {
        snprintf (path, sizeof (path), "%s/allowed/%s", dir, name);
        zcert_save_public (cert, path);
    }
    zcert_destroy (&cert);
}

//  True if a message from client reaches server within timeout_ms
static bool
s_reaches (zsock_t *client, zsock_t *server, int timeout_ms)
{
    zstr_send (client, "hello");
    zsock_set_rcvtimeo (server, timeout_ms);
    zmsg_t *msg = zmsg_recv (server);
    bool got = msg != NULL;
    zmsg_destroy (&msg);
    return got;
}

void
hc_link_test (bool verbose)
{
    if (verbose)
        printf (" * link: ");
    char dir [] = "/tmp/hc-link-test-XXXXXX";
    assert (mkdtemp (dir));
    char allowed [300];
    snprintf (allowed, sizeof (allowed), "%s/allowed", dir);
    assert (mkdir (allowed, 0700) == 0);
    s_keygen (dir, "server", false);
    s_keygen (dir, "good", true);
    s_keygen (dir, "bad", false);

    hc_config_t server_cfg, good_cfg, bad_cfg;
    s_cfg (&server_cfg, dir, "server", "server");
    s_cfg (&good_cfg, dir, "good", "server");
    s_cfg (&bad_cfg, dir, "bad", "server");
    char err [256];
    assert (hc_link_check (&server_cfg, true, false, err, sizeof (err)) == 0);
    assert (hc_link_check (&good_cfg, false, true, err, sizeof (err)) == 0);
    //  A public certificate is not a secret key
    hc_config_t wrong = good_cfg;
    snprintf (wrong.curve_secret_key, HC_CFG_TEXT, "%s/allowed/good", dir);
    assert (hc_link_check (&wrong, false, true, err, sizeof (err)) == -1);
    assert (strstr (err, "CURVE_SECRET_KEY"));
    wrong = server_cfg;
    wrong.curve_allowed_keys [0] = 0;
    assert (hc_link_check (&wrong, true, false, err, sizeof (err)) == -1);
    assert (strstr (err, "CURVE_ALLOWED_KEYS"));

    zactor_t *auth = hc_link_auth_new (&server_cfg);
    assert (auth);
    zsock_t *server = zsock_new (ZMQ_PULL);
    int port = hc_link_bind (server, server_cfg.rooms_endpoint, &server_cfg);
    assert (port > 0);
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%d", port);

    zsock_t *good = zsock_new (ZMQ_PUSH);
    assert (hc_link_connect (good, endpoint, &good_cfg) == 0);
    assert (s_reaches (good, server, 2000));
    zsock_t *bad = zsock_new (ZMQ_PUSH);
    assert (hc_link_connect (bad, endpoint, &bad_cfg) == 0);
    assert (!s_reaches (bad, server, 300));
    zsock_t *plain = zsock_new (ZMQ_PUSH);
    assert (zsock_connect (plain, "%s", endpoint) == 0);
    assert (!s_reaches (plain, server, 300));
    //  The allowed client still gets through
    assert (s_reaches (good, server, 2000));

    zsock_destroy (&plain);
    zsock_destroy (&bad);
    zsock_destroy (&good);
    zsock_destroy (&server);
    zactor_destroy (&auth);
    zdir_t *tmp = zdir_new (dir, NULL);
    zdir_remove (tmp, true);
    zdir_destroy (&tmp);
    if (verbose)
        printf ("OK\n");
}
