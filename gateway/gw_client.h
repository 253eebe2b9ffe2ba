/*  gw_client.h - who a connection's client is, and how many connections
    each client holds

    Behind a reverse proxy every socket peer is the proxy. When the peer is
    in TRUSTED_PROXIES, the client is the nearest address of its
    X-Forwarded-For that is not a trusted proxy: read from the right, since
    each proxy appends the address it saw and only the left part can be
    forged by the client.

    The counts serve MAX_CONNECTIONS_PER_IP, so that one client cannot take
    every connection the server has.
*/
#ifndef GW_CLIENT_H_INCLUDED
#define GW_CLIENT_H_INCLUDED

#include "../common/netlist.h"

#include <czmq.h>

//  Writes the client's address: canonical form of peer, or of the address
//  X-Forwarded-For gives for it (forwarded_for may be NULL); and via, the
//  proxy it came through (peer, canonical), or "" when it came directly
void
    gw_client_address (const hc_netlist_t *trusted, const char *peer,
                       const char *forwarded_for, char client [HC_ADDR_TEXT],
                       char via [HC_ADDR_TEXT]);

typedef struct _gw_clients_t gw_clients_t;

gw_clients_t *
    gw_clients_new (void);
void
    gw_clients_destroy (gw_clients_t **self_p);
//  Connections address holds now
size_t
    gw_clients_count (gw_clients_t *self, const char *address);
void
    gw_clients_add (gw_clients_t *self, const char *address);
//  Forgets one connection of address (which must hold one)
void
    gw_clients_remove (gw_clients_t *self, const char *address);

void
    gw_client_test (bool verbose);

#endif
