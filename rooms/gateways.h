/*  gateways.h - the gateways rooms hears from, and their open connections

    Plain bookkeeping for the rooms actor: a gateway is known from its first
    message on and stays alive while it keeps talking (HELLO every
    LINK_HEARTBEAT at least). One that stays silent for LINK_TIMEOUT has
    died (kill -9, a lost host or network): the actor then closes every
    connection it had opened, exactly as if the gateway had sent CLOSE for
    each. Each open connection keeps its dialect and peer address, so that
    its close can still be reported when its gateway cannot.
*/
#ifndef GATEWAYS_H_INCLUDED
#define GATEWAYS_H_INCLUDED

#include "../common/hc_types.h"

#define GATEWAYS_MAX 4096       //  gateways known at once

typedef struct _gateways_t gateways_t;

//  What rooms knows of one open connection
typedef struct {
    uint64_t conn;              //  connection id
    hc_dialect_t dialect;       //  its dialect
    const char *peer;           //  client address (owned by the table)
} gateways_conn_t;

gateways_t *
    gateways_new (int64_t timeout_ms);
void
    gateways_destroy (gateways_t **self_p);

//  A message came from gateway (its instance number) at now (monotonic
//  ms). Returns 1 if the gateway was not known (rooms says WELCOME), 0 if
//  it was, -1 if the table is full (the message is dropped).
int
    gateways_heard (gateways_t *self, uint32_t gateway, int64_t now);
//  A connection opened; -1 if it is open already or its gateway unknown
int
    gateways_open (gateways_t *self, uint64_t conn, hc_dialect_t dialect,
                   hc_str_t peer);
//  The open connection, or NULL
const gateways_conn_t *
    gateways_lookup (gateways_t *self, uint64_t conn);
//  A connection closed (nothing happens if it was not open)
void
    gateways_close (gateways_t *self, uint64_t conn);
//  Some open connection of gateway, or NULL when it has none left
const gateways_conn_t *
    gateways_any_conn (gateways_t *self, uint32_t gateway);
//  Open connections of gateway
size_t
    gateways_conn_count (gateways_t *self, uint32_t gateway);
//  A gateway that has been silent for the timeout at now, or 0 for none.
//  It stays known until gateways_forget.
uint32_t
    gateways_expired (gateways_t *self, int64_t now);
//  Forgets a gateway that has no open connection left
void
    gateways_forget (gateways_t *self, uint32_t gateway);
//  When the next gateway would expire, or -1 when none is known
int64_t
    gateways_next_deadline (gateways_t *self);

void
    gateways_test (bool verbose);

#endif
