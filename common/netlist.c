/*  netlist.c - a list of IP networks, and the address checks that go
    with it
*/
#include "netlist.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char s_v4_mapped [12] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

//  Reads an address into 16 bytes (IPv4 mapped); *v4 says which it was
static int
s_addr_bytes (const char *text, unsigned char bytes [16], bool *v4)
{
    struct in_addr in4;
    if (inet_pton (AF_INET, text, &in4) == 1) {
        memcpy (bytes, s_v4_mapped, 12);
        memcpy (bytes + 12, &in4, 4);
        *v4 = true;
        return 0;
    }
    if (inet_pton (AF_INET6, text, bytes) == 1) {
        *v4 = memcmp (bytes, s_v4_mapped, 12) == 0;
        return 0;
    }
    return -1;
}

static bool
s_prefix_matches (const unsigned char *a, const unsigned char *b, int bits)
{
    int whole = bits / 8;
    if (memcmp (a, b, (size_t) whole) != 0)
        return false;
    int rest = bits % 8;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char) (0xff << (8 - rest));
    return (a [whole] & mask) == (b [whole] & mask);
}

//  One entry: "addr" or "addr/prefix", prefix counted as the user wrote
//  it (of 32 for IPv4)
static int
s_net_parse (hc_net_t *net, const char *entry)
{
    char addr [HC_ADDR_TEXT + 8];
    const char *slash = strchr (entry, '/');
    size_t addr_len = slash ? (size_t) (slash - entry) : strlen (entry);
    if (addr_len == 0 || addr_len >= sizeof (addr))
        return -1;
    memcpy (addr, entry, addr_len);
    addr [addr_len] = 0;
    bool v4;
    if (s_addr_bytes (addr, net->bytes, &v4))
        return -1;
    int max = v4 ? 32 : 128;
    int prefix = max;
    if (slash) {
        char *end;
        long value = strtol (slash + 1, &end, 10);
        if (slash [1] < '0' || slash [1] > '9' || *end || value > max)
            return -1;
        prefix = (int) value;
    }
    net->prefix = v4 ? prefix + 96 : prefix;
    return 0;
}

int
hc_netlist_parse (hc_netlist_t *self, const char *text, char *bad,
                  size_t bad_size)
{
    memset (self, 0, sizeof (*self));
    const char *at = text;
    while (*at) {
        size_t len = strcspn (at, ",");
        //  Spaces around an entry are allowed
        const char *start = at;
        const char *end = at + len;
        while (start < end && *start == ' ')
            start++;
        while (end > start && end [-1] == ' ')
            end--;
        char entry [HC_ADDR_TEXT + 8];
        size_t entry_len = (size_t) (end - start);
        bool ok = entry_len > 0 && entry_len < sizeof (entry)
               && self->size < HC_NETLIST_MAX;
        if (ok) {
            memcpy (entry, start, entry_len);
            entry [entry_len] = 0;
            ok = s_net_parse (&self->nets [self->size], entry) == 0;
        }
        if (!ok) {
            if (bad_size > 0)
                snprintf (bad, bad_size, "%.*s", (int) entry_len, start);
            return -1;
        }
        self->size++;
        at += len;
        if (*at == ',')
            at++;
    }
    return 0;
}

bool
hc_netlist_contains (const hc_netlist_t *self, const char *addr)
{
    unsigned char bytes [16];
    bool v4;
    if (s_addr_bytes (addr, bytes, &v4))
        return false;
    for (size_t i = 0; i < self->size; i++)
        if (s_prefix_matches (bytes, self->nets [i].bytes,
                              self->nets [i].prefix))
            return true;
    return false;
}

int
hc_addr_canonical (const char *addr, char *out, size_t out_size)
{
    unsigned char bytes [16];
    bool v4;
    if (s_addr_bytes (addr, bytes, &v4))
        return -1;
    char text [HC_ADDR_TEXT];
    if (!inet_ntop (v4 ? AF_INET : AF_INET6, v4 ? bytes + 12 : bytes, text,
                    sizeof (text)))
        return -1;
    if (strlen (text) >= out_size)
        return -1;
    strcpy (out, text);
    return 0;
}

//  ---------------------------------------------------------------------
//  Self test

void
hc_netlist_test (bool verbose)
{
    if (verbose)
        printf (" * netlist: ");
    hc_netlist_t list;
    char bad [64];
    assert (hc_netlist_parse (&list, "", bad, sizeof (bad)) == 0
            && list.size == 0);
    assert (!hc_netlist_contains (&list, "127.0.0.1"));

    assert (hc_netlist_parse (&list, "127.0.0.1, ::1 ,10.0.0.0/8,"
                                     "2001:db8::/32,192.168.1.128/25",
                              bad, sizeof (bad)) == 0);
    assert (list.size == 5);
    assert (hc_netlist_contains (&list, "127.0.0.1"));
    assert (!hc_netlist_contains (&list, "127.0.0.2"));
    assert (hc_netlist_contains (&list, "::1"));
    assert (hc_netlist_contains (&list, "::ffff:127.0.0.1"));  //  mapped
    assert (hc_netlist_contains (&list, "10.255.1.2"));
    assert (hc_netlist_contains (&list, "::ffff:10.0.0.9"));
    assert (!hc_netlist_contains (&list, "11.0.0.1"));
    assert (hc_netlist_contains (&list, "2001:db8:1::5"));
    assert (!hc_netlist_contains (&list, "2001:db9::5"));
    assert (hc_netlist_contains (&list, "192.168.1.200"));
    assert (!hc_netlist_contains (&list, "192.168.1.127"));
    assert (!hc_netlist_contains (&list, "not an address"));
    assert (!hc_netlist_contains (&list, ""));

    //  /0 is everything of its family; IPv4 /0 is every IPv4 address only
    assert (hc_netlist_parse (&list, "0.0.0.0/0", bad, sizeof (bad)) == 0);
    assert (hc_netlist_contains (&list, "8.8.8.8"));
    assert (!hc_netlist_contains (&list, "2001:db8::1"));

    const char *wrong [] = {
        "localhost", "127.0.0.1/33", "::1/129", "10.0.0.0/", "10.0.0.0/x",
        "10.0.0.0/-1", "1.2.3", ",", "127.0.0.1,,::1", "1.2.3.4/8 8",
        "127.0.0.1:80"
    };
    for (size_t i = 0; i < sizeof (wrong) / sizeof (wrong [0]); i++)
        assert (hc_netlist_parse (&list, wrong [i], bad, sizeof (bad)) == -1);
    assert (hc_netlist_parse (&list, "::1, localhost ,x", bad, sizeof (bad))
            == -1 && strcmp (bad, "localhost") == 0);

    char text [HC_ADDR_TEXT];
    assert (hc_addr_canonical ("::ffff:1.2.3.4", text, sizeof (text)) == 0
            && strcmp (text, "1.2.3.4") == 0);
    assert (hc_addr_canonical ("2001:DB8:0:0::1", text, sizeof (text)) == 0
            && strcmp (text, "2001:db8::1") == 0);
    assert (hc_addr_canonical ("1.2.3.4", text, 7) == -1);
    assert (hc_addr_canonical ("1.2.3.x", text, sizeof (text)) == -1);
    if (verbose)
        printf ("OK\n");
}
