/*  gateways.c - the gateways rooms hears from, and their open connections

    Gateways are few (a handful of processes), so deadlines are found by a
    scan. Each gateway chains its connections in a list, so closing all of
    a dead gateway's connections costs what it has, not what everyone has.
*/
#include "gateways.h"
#include "../common/deadline.h"
#include "../common/idmap.h"

#include <assert.h>

#define PEER_MAX 63             //  bytes of a client address kept

typedef struct _gw_t gw_t;
typedef struct _conn_t conn_t;

struct _conn_t {
    gateways_conn_t pub;        //  what callers see; pub.conn is the key
    gw_t *gw;                   //  its gateway
    conn_t *prev, *next;        //  in the gateway's list
    char peer [];               //  pub.peer points here: its own length,
                                //  at most PEER_MAX (one per connection)
};

struct _gw_t {
    uint64_t key;               //  instance number, as the idmap key
    int64_t heard_at;           //  last message (monotonic ms)
    conn_t *conns;              //  open connections, newest first
    size_t conns_n;
};

struct _gateways_t {
    int64_t timeout_ms;         //  silence that ends a gateway
    zhashx_t *gateways;         //  instance -> gw_t
    zhashx_t *conns;            //  connection id -> conn_t
};

gateways_t *
gateways_new (int64_t timeout_ms)
{
    gateways_t *self = (gateways_t *) zmalloc (sizeof (gateways_t));
    self->timeout_ms = timeout_ms;
    self->gateways = hc_idmap_new ();
    self->conns = hc_idmap_new ();
    return self;
}

void
gateways_destroy (gateways_t **self_p)
{
    assert (self_p);
    gateways_t *self = *self_p;
    if (!self)
        return;
    for (conn_t *c = (conn_t *) zhashx_first (self->conns); c;
         c = (conn_t *) zhashx_next (self->conns))
        free (c);
    for (gw_t *g = (gw_t *) zhashx_first (self->gateways); g;
         g = (gw_t *) zhashx_next (self->gateways))
        free (g);
    zhashx_destroy (&self->conns);
    zhashx_destroy (&self->gateways);
    free (self);
    *self_p = NULL;
}

static gw_t *
s_gateway (gateways_t *self, uint32_t gateway)
{
    uint64_t key = gateway;
    return (gw_t *) zhashx_lookup (self->gateways, &key);
}

int
gateways_heard (gateways_t *self, uint32_t gateway, int64_t now)
{
    gw_t *gw = s_gateway (self, gateway);
    if (gw) {
        gw->heard_at = now;
        return 0;
    }
    if (zhashx_size (self->gateways) >= GATEWAYS_MAX)
        return -1;
    gw = (gw_t *) zmalloc (sizeof (gw_t));
    gw->key = gateway;
    gw->heard_at = now;
    int rc = zhashx_insert (self->gateways, &gw->key, gw);
    assert (rc == 0);
    (void) rc;
    return 1;
}

int
gateways_open (gateways_t *self, uint64_t conn, hc_dialect_t dialect,
               hc_str_t peer)
{
    gw_t *gw = s_gateway (self, hc_conn_gateway (conn));
    if (!gw || zhashx_lookup (self->conns, &conn))
        return -1;
    size_t len = peer.len < PEER_MAX ? peer.len : PEER_MAX;
    conn_t *c = (conn_t *) zmalloc (sizeof (conn_t) + len + 1);
    c->pub.conn = conn;
    c->pub.dialect = dialect;
    if (len)
        memcpy (c->peer, peer.ptr, len);
    c->pub.peer = c->peer;
    c->gw = gw;
    c->next = gw->conns;
    if (gw->conns)
        gw->conns->prev = c;
    gw->conns = c;
    gw->conns_n++;
    int rc = zhashx_insert (self->conns, &c->pub.conn, c);
    assert (rc == 0);
    (void) rc;
    return 0;
}

const gateways_conn_t *
gateways_lookup (gateways_t *self, uint64_t conn)
{
    conn_t *c = (conn_t *) zhashx_lookup (self->conns, &conn);
    return c ? &c->pub : NULL;
}

void
gateways_close (gateways_t *self, uint64_t conn)
{
    conn_t *c = (conn_t *) zhashx_lookup (self->conns, &conn);
    if (!c)
        return;
    zhashx_delete (self->conns, &conn);
    if (c->prev)
        c->prev->next = c->next;
    else
        c->gw->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->gw->conns_n--;
    free (c);
}

const gateways_conn_t *
gateways_any_conn (gateways_t *self, uint32_t gateway)
{
    gw_t *gw = s_gateway (self, gateway);
    return gw && gw->conns ? &gw->conns->pub : NULL;
}

size_t
gateways_conn_count (gateways_t *self, uint32_t gateway)
{
    gw_t *gw = s_gateway (self, gateway);
    return gw ? gw->conns_n : 0;
}

uint32_t
gateways_expired (gateways_t *self, int64_t now)
{
    for (gw_t *g = (gw_t *) zhashx_first (self->gateways); g;
         g = (gw_t *) zhashx_next (self->gateways))
        if (now - g->heard_at >= self->timeout_ms)
            return (uint32_t) g->key;
    return 0;
}

void
gateways_forget (gateways_t *self, uint32_t gateway)
{
    gw_t *gw = s_gateway (self, gateway);
    if (!gw)
        return;
    assert (gw->conns == NULL);
    zhashx_delete (self->gateways, &gw->key);
    free (gw);
}

int64_t
gateways_next_deadline (gateways_t *self)
{
    int64_t next = -1;
    for (gw_t *g = (gw_t *) zhashx_first (self->gateways); g;
         g = (gw_t *) zhashx_next (self->gateways)) {
        next = hc_deadline_earliest (next, g->heard_at + self->timeout_ms);
    }
    return next;
}

//  ---------------------------------------------------------------------
//  Self test

void
gateways_test (bool verbose)
{
    if (verbose)
        printf (" * gateways: ");
    gateways_t *table = gateways_new (1000);
    uint64_t a1 = 0x0000aaaa00000001ULL, a2 = 0x0000aaaa00000002ULL;
    uint64_t b1 = 0x0000bbbb00000001ULL;
    assert (gateways_next_deadline (table) == -1);
    //  Connections of an unknown gateway are refused
    assert (gateways_open (table, a1, HC_DIALECT_SIGNAL, HC_STR_LIT ("x"))
            == -1);
    assert (gateways_heard (table, 0xaaaa, 0) == 1);
    assert (gateways_heard (table, 0xaaaa, 100) == 0);
    assert (gateways_heard (table, 0xbbbb, 500) == 1);
    assert (gateways_open (table, a1, HC_DIALECT_SIGNAL,
                           HC_STR_LIT ("127.0.0.1")) == 0);
    assert (gateways_open (table, a1, HC_DIALECT_SIGNAL, HC_STR_LIT ("x"))
            == -1);
    assert (gateways_open (table, a2, HC_DIALECT_P2P, HC_STR_LIT ("::1"))
            == 0);
    assert (gateways_open (table, b1, HC_DIALECT_SIGNAL, HC_STR_NULL) == 0);
    const gateways_conn_t *found = gateways_lookup (table, a2);
    assert (found && found->dialect == HC_DIALECT_P2P);
    assert (streq (found->peer, "::1"));
    assert (gateways_conn_count (table, 0xaaaa) == 2);
    assert (gateways_next_deadline (table) == 1100);

    //  Silence: a expires first, b later; its connections close one by one
    assert (gateways_expired (table, 1099) == 0);
    assert (gateways_expired (table, 1100) == 0xaaaa);
    size_t closed = 0;
    const gateways_conn_t *conn;
    while ((conn = gateways_any_conn (table, 0xaaaa))) {
        assert (hc_conn_gateway (conn->conn) == 0xaaaa);
        gateways_close (table, conn->conn);
        closed++;
    }
    assert (closed == 2);
    gateways_forget (table, 0xaaaa);
    assert (gateways_next_deadline (table) == 1500);  //  b alone is left
    assert (gateways_lookup (table, a1) == NULL);
    assert (gateways_lookup (table, b1) != NULL);
    assert (gateways_expired (table, 1499) == 0);
    assert (gateways_expired (table, 1500) == 0xbbbb);
    //  Closing what is not open changes nothing
    gateways_close (table, a1);
    gateways_close (table, b1);
    gateways_close (table, b1);
    assert (gateways_conn_count (table, 0xbbbb) == 0);
    gateways_destroy (&table);
    assert (table == NULL);
    if (verbose)
        printf ("OK\n");
}
