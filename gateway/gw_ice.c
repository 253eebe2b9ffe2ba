/*  gw_ice.c - the ICE servers a client gets, with TURN REST credentials */
#include "gw_ice.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

#define URLS_MAX 16             //  URLs in one setting

struct _gw_ice_t {
    hc_buf_t stun;              //  ["stun:...",...] or empty
    hc_buf_t turn;              //  ["turn:...",...] or empty
    char secret [HC_CFG_TEXT];  //  TURN_SECRET
    int64_t ttl;                //  seconds a credential lives
};

//  A comma-separated list of URLs, each starting with one of the schemes,
//  into a JSON array of strings (nothing for an empty list). URLs are
//  printable ASCII without spaces, quotes or backslashes: what a browser
//  takes, and nothing that needs escaping.
static int
s_urls (const char *name, const char *text, const char *const *schemes,
        hc_buf_t *json, char *err, size_t err_size)
{
    size_t count = 0;
    const char *at = text;
    while (*at) {
        const char *end = strchr (at, ',');
        if (!end)
            end = at + strlen (at);
        hc_str_t url = {at, (size_t) (end - at)};
        while (url.len && url.ptr [0] == ' ')
            url.ptr++, url.len--;
        while (url.len && url.ptr [url.len - 1] == ' ')
            url.len--;
        bool ok = url.len > 0 && count < URLS_MAX;
        for (size_t i = 0; ok && i < url.len; i++)
            ok = url.ptr [i] > ' ' && url.ptr [i] < 0x7f
              && url.ptr [i] != '"' && url.ptr [i] != '\\';
        bool known = false;
        for (const char *const *scheme = schemes; ok && *scheme; scheme++)
            known |= hc_str_starts (url, *scheme) && url.len > strlen (*scheme);
        if (!ok || !known) {
            snprintf (err, err_size, "%s: '%.*s' is not a %s URL (at most %d, "
                      "comma-separated)", name, (int) (url.len > 80 ? 80
                                                       : url.len), url.ptr,
                      schemes [0], URLS_MAX);
            return -1;
        }
        hc_buf_append_char (json, count++ ? ',' : '[');
        hc_buf_append_json_str (json, url);
        at = *end ? end + 1 : end;
    }
    if (count)
        hc_buf_append_char (json, ']');
    return json->failed ? -1 : 0;
}

gw_ice_t *
gw_ice_new (const hc_config_t *cfg, char *err, size_t err_size)
{
    static const char *const stun [] = {"stun:", "stuns:", NULL};
    static const char *const turn [] = {"turn:", "turns:", NULL};
    gw_ice_t *self = (gw_ice_t *) calloc (1, sizeof (gw_ice_t));
    if (!self) {
        snprintf (err, err_size, "out of memory");
        return NULL;
    }
    hc_buf_init (&self->stun, 0);
    hc_buf_init (&self->turn, 0);
    snprintf (self->secret, sizeof (self->secret), "%s", cfg->turn_secret);
    self->ttl = cfg->turn_ttl_ms / 1000;
    if (s_urls ("STUN_URLS", cfg->stun_urls, stun, &self->stun, err, err_size)
    ||  s_urls ("TURN_URLS", cfg->turn_urls, turn, &self->turn, err,
                err_size)) {
        gw_ice_destroy (&self);
        return NULL;
    }
    if (self->turn.len && !self->secret [0]) {
        snprintf (err, err_size, "TURN_URLS: needs TURN_SECRET (coturn's "
                                 "static-auth-secret)");
        gw_ice_destroy (&self);
        return NULL;
    }
    return self;
}

void
gw_ice_destroy (gw_ice_t **self_p)
{
    gw_ice_t *self = *self_p;
    if (!self)
        return;
    hc_buf_free (&self->stun);
    hc_buf_free (&self->turn);
    //  The secret does not linger in freed memory (a memset the compiler
    //  may drop would not do)
    OPENSSL_cleanse (self->secret, sizeof (self->secret));
    free (self);
    *self_p = NULL;
}

int
gw_ice_check (const hc_config_t *cfg, char *err, size_t err_size)
{
    gw_ice_t *ice = gw_ice_new (cfg, err, err_size);
    int rc = ice ? 0 : -1;
    gw_ice_destroy (&ice);
    return rc;
}

int
gw_ice_password (const char *secret, const char *username,
                 char password [GW_ICE_PASSWORD])
{
    unsigned char digest [EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!HMAC (EVP_sha1 (), secret, (int) strlen (secret),
               (const unsigned char *) username, strlen (username), digest,
               &size) || size != 20)
        return -1;
    EVP_EncodeBlock ((unsigned char *) password, digest, (int) size);
    return 0;
}

void
gw_ice_render (const gw_ice_t *self, const char *user, int64_t now,
               hc_buf_t *out)
{
    hc_buf_append_char (out, '[');
    if (self->stun.len) {
        hc_buf_append_cstr (out, "{\"urls\":");
        hc_buf_append_str (out, hc_buf_str (&self->stun));
        hc_buf_append_char (out, '}');
    }
    char username [HC_CFG_TEXT + 24];
    char password [GW_ICE_PASSWORD];
    snprintf (username, sizeof (username), "%" PRId64 ":%s", now + self->ttl,
              user);
    if (self->turn.len && gw_ice_password (self->secret, username,
                                           password) == 0) {
        if (self->stun.len)
            hc_buf_append_char (out, ',');
        hc_buf_append_cstr (out, "{\"urls\":");
        hc_buf_append_str (out, hc_buf_str (&self->turn));
        hc_buf_append_cstr (out, ",\"username\":");
        hc_buf_append_json_str (out, hc_str (username));
        hc_buf_append_cstr (out, ",\"credential\":");
        hc_buf_append_json_str (out, hc_str (password));
        hc_buf_append_char (out, '}');
    }
    hc_buf_append_char (out, ']');
}

//  ---------------------------------------------------------------------
//  Self test

static void
s_expect_password (const char *secret, const char *username,
                   const char *expected)
{
    char password [GW_ICE_PASSWORD];
    assert (gw_ice_password (secret, username, password) == 0);
    if (strcmp (password, expected) != 0) {
        fprintf (stderr, "\nHMAC-SHA1 (%s, %s): expected %s, got %s\n",
                 secret, username, expected, password);
        assert (false);
    }
}

static hc_config_t *
s_config (const char *stun, const char *turn, const char *secret)
{
    static hc_config_t cfg;
    memset (&cfg, 0, sizeof (cfg));
    snprintf (cfg.stun_urls, sizeof (cfg.stun_urls), "%s", stun);
    snprintf (cfg.turn_urls, sizeof (cfg.turn_urls), "%s", turn);
    snprintf (cfg.turn_secret, sizeof (cfg.turn_secret), "%s", secret);
    cfg.turn_ttl_ms = 86400 * 1000;
    return &cfg;
}

void
gw_ice_test (bool verbose)
{
    if (verbose)
        printf (" * gw_ice: ");
    //  Expected values computed apart from this code, with the OpenSSL
    //  command line and Python's hmac module agreeing:
    //    printf '%s' USERNAME | openssl dgst -sha1 -hmac SECRET -binary |
    //        base64
    //    python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(
    //        hmac.new(SECRET, USERNAME, hashlib.sha1).digest()))'
    //  RFC 2202 test case 2 (digest effcdf6ae5eb2fa2d27416d5f184df9c259a7c79)
    s_expect_password ("Jefe", "what do ya want for nothing?",
                       "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    s_expect_password ("north", "1700000000:alice",
                       "Cd/49soE35ICqcJF/bCTn8Z4OyE=");
    //  A secret longer than SHA-1's 64-byte block is hashed first
    s_expect_password ("s3cr3t-with-longer-text-0123456789-abcdefghijklmnop"
                       "qrstuvwxyz-0123456789",
                       "1735689600:00000001deadbeef",
                       "jnIziEGNNdThM0C2eZhBITyCy7E=");

    char err [256];
    hc_buf_t out;
    hc_buf_init (&out, 0);
    //  Nothing set: an empty list, and old clients see nothing new
    gw_ice_t *ice = gw_ice_new (s_config ("", "", ""), err, sizeof (err));
    assert (ice);
    gw_ice_render (ice, "u", 1700000000, &out);
    assert (strcmp (hc_buf_cstr (&out), "[]") == 0);
    gw_ice_destroy (&ice);
    gw_ice_destroy (&ice);      //  idempotent

    //  STUN alone: no credentials
    ice = gw_ice_new (s_config (" stun:a.example:3478 ,stuns:b.example", "",
                                ""), err, sizeof (err));
    assert (ice);
    hc_buf_reset (&out);
    gw_ice_render (ice, "u", 1700000000, &out);
    assert (strcmp (hc_buf_cstr (&out), "[{\"urls\":[\"stun:a.example:3478\","
                                        "\"stuns:b.example\"]}]") == 0);
    gw_ice_destroy (&ice);

    //  TURN: expiry is now + TURN_TTL, the password the HMAC of it all
    hc_config_t *cfg = s_config ("stun:s:3478", "turn:t:3478?transport=udp,"
                                 "turns:t:5349", "north");
    cfg->turn_ttl_ms = 300 * 1000;
    ice = gw_ice_new (cfg, err, sizeof (err));
    assert (ice);
    hc_buf_reset (&out);
    gw_ice_render (ice, "alice", 1699999700, &out);
    assert (strcmp (hc_buf_cstr (&out),
                    "[{\"urls\":[\"stun:s:3478\"]},{\"urls\":[\"turn:t:3478?"
                    "transport=udp\",\"turns:t:5349\"],\"username\":"
                    "\"1700000000:alice\",\"credential\":"
                    "\"Cd/49soE35ICqcJF/bCTn8Z4OyE=\"}]") == 0);
    gw_ice_destroy (&ice);

    //  Bad settings name the setting
    const char *bad [][3] = {
        {"turn:x", "", ""},                     //  not a stun: URL
        {"stun:", "", ""},                      //  no host
        {"stun:a,,stun:b", "", ""},             //  empty entry
        {"stun:a b", "", ""},                   //  space inside
        {"stun:\"x", "", ""},
        {"", "stun:x", "k"},                    //  not a turn: URL
        {"", "turn:x", ""},                     //  TURN without a secret
    };
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad [0]); i++) {
        err [0] = 0;
        assert (gw_ice_check (s_config (bad [i][0], bad [i][1], bad [i][2]),
                              err, sizeof (err)) == -1);
        assert (strstr (err, i < 5 ? "STUN_URLS" : "TURN_URLS"));
    }
    char many [HC_CFG_TEXT] = "";
    for (int i = 0; i <= URLS_MAX; i++)
        strcat (many, i ? ",stun:h" : "stun:h");
    assert (gw_ice_check (s_config (many, "", ""), err, sizeof (err)) == -1);
    assert (gw_ice_check (s_config ("", "turn:x", "k"), err,
                          sizeof (err)) == 0);
    hc_buf_free (&out);
    if (verbose)
        printf ("OK\n");
}
