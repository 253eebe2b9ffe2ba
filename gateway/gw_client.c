/*  gw_client.c - who a connection's client is, and how many connections
    each client holds
*/
#include "gw_client.h"

#include <assert.h>
#include <string.h>

//  ---------------------------------------------------------------------
//  The client's address

void
gw_client_address (const hc_netlist_t *trusted, const char *peer,
                   const char *forwarded_for, char client [HC_ADDR_TEXT],
                   char via [HC_ADDR_TEXT])
{
    char direct [HC_ADDR_TEXT];
    if (hc_addr_canonical (peer, direct, sizeof (direct)))
        snprintf (direct, sizeof (direct), "%s", peer);
    strcpy (client, direct);
    bool believed = hc_netlist_contains (trusted, client);
    const char *end = forwarded_for ? forwarded_for + strlen (forwarded_for)
                                    : NULL;
    while (believed && end && end > forwarded_for) {
        //  The entry before end, spaces trimmed
        const char *start = end;
        while (start > forwarded_for && start [-1] != ',')
            start--;
        const char *next_end = start > forwarded_for ? start - 1 : NULL;
        const char *stop = end;
        while (start < stop && *start == ' ')
            start++;
        while (stop > start && stop [-1] == ' ')
            stop--;
        char entry [HC_ADDR_TEXT];
        size_t len = (size_t) (stop - start);
        if (len == 0 || len >= sizeof (entry))
            break;              //  a proxy that writes nonsense: stop here
        memcpy (entry, start, len);
        entry [len] = 0;
        if (hc_addr_canonical (entry, client, HC_ADDR_TEXT))
            break;
        believed = hc_netlist_contains (trusted, client);
        end = next_end;
    }
    strcpy (via, strcmp (direct, client) ? direct : "");
}

//  ---------------------------------------------------------------------
//  Connections per address

struct _gw_clients_t {
    zhashx_t *counts;           //  address -> count, as a pointer
};

gw_clients_t *
gw_clients_new (void)
{
    gw_clients_t *self = (gw_clients_t *) zmalloc (sizeof (gw_clients_t));
    self->counts = zhashx_new ();
    assert (self->counts);
    return self;
}

void
gw_clients_destroy (gw_clients_t **self_p)
{
    if (!*self_p)
        return;
    zhashx_destroy (&(*self_p)->counts);
    free (*self_p);
    *self_p = NULL;
}

size_t
gw_clients_count (gw_clients_t *self, const char *address)
{
    return (size_t) (uintptr_t) zhashx_lookup (self->counts, address);
}

void
gw_clients_add (gw_clients_t *self, const char *address)
{
    size_t count = gw_clients_count (self, address) + 1;
    zhashx_update (self->counts, address, (void *) (uintptr_t) count);
}

void
gw_clients_remove (gw_clients_t *self, const char *address)
{
    size_t count = gw_clients_count (self, address);
    assert (count > 0);
    if (count == 1)
        zhashx_delete (self->counts, address);
    else
        zhashx_update (self->counts, address,
                       (void *) (uintptr_t) (count - 1));
}

//  ---------------------------------------------------------------------
//  Self test

//  via is expected to be the canonical peer when the client differs
static void
s_expect (const hc_netlist_t *trusted, const char *peer, const char *xff,
          const char *expected)
{
    char client [HC_ADDR_TEXT], via [HC_ADDR_TEXT], direct [HC_ADDR_TEXT];
    gw_client_address (trusted, peer, xff, client, via);
    if (hc_addr_canonical (peer, direct, sizeof (direct)))
        strcpy (direct, peer);
    const char *expected_via = strcmp (expected, direct) ? direct : "";
    if (strcmp (client, expected) != 0 || strcmp (via, expected_via) != 0) {
        fprintf (stderr, "gw_client: peer %s X-Forwarded-For '%s': got %s "
                         "via '%s', expected %s via '%s'\n", peer,
                 xff ? xff : "(none)", client, via, expected, expected_via);
        assert (false);
    }
}

void
gw_client_test (bool verbose)
{
    if (verbose)
        printf (" * gw_client: ");
    hc_netlist_t trusted;
    char bad [64];
    assert (hc_netlist_parse (&trusted, "127.0.0.1,::1,10.0.0.0/8", bad,
                              sizeof (bad)) == 0);
    //  No proxy in the way, or one we do not trust: the peer
    s_expect (&trusted, "203.0.113.5", NULL, "203.0.113.5");
    s_expect (&trusted, "203.0.113.5", "1.1.1.1", "203.0.113.5");
    s_expect (&trusted, "::ffff:203.0.113.5", "1.1.1.1", "203.0.113.5");
    //  A trusted proxy: the address it saw
    s_expect (&trusted, "127.0.0.1", NULL, "127.0.0.1");
    s_expect (&trusted, "127.0.0.1", "", "127.0.0.1");
    s_expect (&trusted, "127.0.0.1", "198.51.100.7", "198.51.100.7");
    s_expect (&trusted, "::ffff:127.0.0.1", " 198.51.100.7 ",
              "198.51.100.7");
    s_expect (&trusted, "::1", "2001:DB8::7", "2001:db8::7");
    //  A chain: the nearest untrusted hop; what the client forged on the
    //  left is never reached
    s_expect (&trusted, "127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1",
              "198.51.100.7");
    s_expect (&trusted, "127.0.0.1", "10.2.2.2,10.1.1.1", "10.2.2.2");
    //  Garbage from a proxy: the last address believed
    s_expect (&trusted, "127.0.0.1", "198.51.100.7, junk", "127.0.0.1");
    s_expect (&trusted, "127.0.0.1", "198.51.100.7,,10.1.1.1", "10.1.1.1");
    s_expect (&trusted, "127.0.0.1", ",", "127.0.0.1");
    s_expect (&trusted, "127.0.0.1", "198.51.100.7:4444", "127.0.0.1");
    //  Nothing trusted: always the peer
    hc_netlist_t none;
    assert (hc_netlist_parse (&none, "", bad, sizeof (bad)) == 0);
    s_expect (&none, "127.0.0.1", "198.51.100.7", "127.0.0.1");
    //  A peer that is not an address at all is kept as it is
    s_expect (&trusted, "?", "198.51.100.7", "?");

    gw_clients_t *clients = gw_clients_new ();
    assert (gw_clients_count (clients, "1.2.3.4") == 0);
    gw_clients_add (clients, "1.2.3.4");
    gw_clients_add (clients, "1.2.3.4");
    gw_clients_add (clients, "::1");
    assert (gw_clients_count (clients, "1.2.3.4") == 2);
    assert (gw_clients_count (clients, "::1") == 1);
    gw_clients_remove (clients, "1.2.3.4");
    assert (gw_clients_count (clients, "1.2.3.4") == 1);
    gw_clients_remove (clients, "1.2.3.4");
    assert (gw_clients_count (clients, "1.2.3.4") == 0);
    assert (gw_clients_count (clients, "::1") == 1);
    gw_clients_destroy (&clients);
    gw_clients_destroy (&clients);
    if (verbose)
        printf ("OK\n");
}
