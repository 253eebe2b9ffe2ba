/*  gw_ice.h - the ICE servers a client gets: STUN URLs, and TURN URLs with
    credentials of coturn's REST scheme (use-auth-secret)

    A TURN credential is username "EXPIRY:USER" (EXPIRY in Unix seconds)
    and password base64 (HMAC-SHA1 (TURN_SECRET, username)); coturn, given
    the same static-auth-secret, computes the same password and refuses
    the username once EXPIRY has passed. The server keeps no state per
    credential. See docs/deploy.md.
*/
#ifndef GW_ICE_H_INCLUDED
#define GW_ICE_H_INCLUDED

#include "../common/buf.h"
#include "../common/config.h"

#define GW_ICE_PASSWORD 29      //  base64 of 20 bytes, and a NUL

typedef struct _gw_ice_t gw_ice_t;

//  From STUN_URLS, TURN_URLS, TURN_SECRET and TURN_TTL. NULL if they are
//  not usable; then err says which setting and why.
gw_ice_t *
    gw_ice_new (const hc_config_t *cfg, char *err, size_t err_size);
void
    gw_ice_destroy (gw_ice_t **self_p);
//  The settings' check alone, for the start: 0, or -1 with err set
int
    gw_ice_check (const hc_config_t *cfg, char *err, size_t err_size);

//  Appends the iceServers array in RTCPeerConnection's format, e.g.
//  [{"urls":["stun:h:3478"]},{"urls":["turn:h:3478"],"username":
//  "1700086400:u","credential":"..."}], for user at now (Unix seconds);
//  [] when nothing is set
void
    gw_ice_render (const gw_ice_t *self, const char *user, int64_t now,
                   hc_buf_t *out);

//  password = base64 (HMAC-SHA1 (secret, username)). Returns 0 or -1.
int
    gw_ice_password (const char *secret, const char *username,
                     char password [GW_ICE_PASSWORD]);

void
    gw_ice_test (bool verbose);

#endif
