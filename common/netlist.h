/*  netlist.h - a list of IP networks ("127.0.0.1,::1,10.0.0.0/8"), and the
    address checks that go with it

    Used for TRUSTED_PROXIES: the peers whose X-Forwarded-For the gateway
    believes. Addresses are compared as bytes, so "::ffff:10.1.2.3" (an
    IPv4 client on a dual-stack socket) matches 10.0.0.0/8.
*/
#ifndef NETLIST_H_INCLUDED
#define NETLIST_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#define HC_NETLIST_MAX 32       //  networks in one list
#define HC_ADDR_TEXT 46         //  INET6_ADDRSTRLEN

typedef struct {
    unsigned char bytes [16];   //  IPv4 as ::ffff:a.b.c.d
    int prefix;                 //  bits that must match, of 128
} hc_net_t;

typedef struct {
    hc_net_t nets [HC_NETLIST_MAX];
    size_t size;
} hc_netlist_t;

//  Parses a comma-separated list of addresses and address/prefix networks;
//  "" is the empty list. -1 on anything else (then *bad names the first
//  bad entry, up to bad_size - 1 bytes)
int
    hc_netlist_parse (hc_netlist_t *self, const char *text, char *bad,
                      size_t bad_size);
//  True if addr (text, IPv4 or IPv6) is in one of the networks
bool
    hc_netlist_contains (const hc_netlist_t *self, const char *addr);
//  Writes addr in canonical form (IPv4-mapped IPv6 as plain IPv4); -1 if
//  it is not an IP address
int
    hc_addr_canonical (const char *addr, char *out, size_t out_size);

void
    hc_netlist_test (bool verbose);

#endif
