/*  link.h - how sockets bind and connect, within a process and across

    Every bind and connect of a configured endpoint goes through here. An
    inproc endpoint is used as it is: it never leaves the process. Any other
    endpoint (tcp, ipc) gets ZMTP heartbeats (LINK_HEARTBEAT, LINK_TIMEOUT),
    so that the connection to a dead peer is dropped and redialled, a cap
    on frame size (ZMQ_MAXMSGSIZE: a forged length allocates nothing), and,
    when CURVE_SECRET_KEY is set, CurveZMQ: a socket that binds is a CURVE
    server whose clients zauth checks against the certificates in
    CURVE_ALLOWED_KEYS; a socket that connects is a CURVE client that
    insists on the server key of CURVE_SERVER_KEY. A peer without an allowed
    key never completes the handshake, so it can neither read nor send.
*/
#ifndef LINK_H_INCLUDED
#define LINK_H_INCLUDED

#include "config.h"

#include <czmq.h>

//  True when tcp links use CURVE
bool
    hc_link_curve (const hc_config_t *cfg);
//  Checks the key settings for a process that accepts and/or makes links:
//  the files exist and hold what they must. -1 with a message otherwise.
int
    hc_link_check (const hc_config_t *cfg, bool accepts, bool makes,
                   char *err, size_t err_size);
//  zauth, set up to accept the allowed certificates, when this process
//  accepts CURVE links; NULL when it needs none. Destroy it last.
zactor_t *
    hc_link_auth_new (const hc_config_t *cfg);
//  zsock_bind / zsock_connect with the options above. bind returns what
//  zsock_bind does (the port for a tcp://...:* endpoint), -1 on failure.
int
    hc_link_bind (zsock_t *sock, const char *endpoint,
                  const hc_config_t *cfg);
int
    hc_link_connect (zsock_t *sock, const char *endpoint,
                     const hc_config_t *cfg);

void
    hc_link_test (bool verbose);

#endif
