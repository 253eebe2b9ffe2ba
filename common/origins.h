/*  origins.h - a list of web origins ("https://call.example.com,
    https://app.example.com:8443"), for ALLOWED_ORIGINS

    A browser names the page that opens a WebSocket in its Origin header;
    a page of another site must not use our server with the user's
    cookies or from inside their network. Native apps and other non-browser
    clients send no Origin (and could send any), so a missing Origin is let
    in: the list guards against other sites' pages, not against clients.
    Origins compare whole, without regard to ASCII case (scheme and host
    are case-insensitive); "null" (sandboxed frames, file:// pages) only
    matches a listed "null".
*/
#ifndef ORIGINS_H_INCLUDED
#define ORIGINS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HC_ORIGINS_MAX 32       //  origins in one list
#define HC_ORIGINS_TEXT 256     //  bytes of the whole list

//  A plain value (offsets, no pointers), safe to copy
typedef struct {
    char text [HC_ORIGINS_TEXT];        //  the entries, each 0-terminated
    uint16_t start [HC_ORIGINS_MAX];
    uint16_t len [HC_ORIGINS_MAX];
    size_t size;                        //  0: every origin is let in
} hc_origins_t;

//  Parses a comma-separated list of origins, each scheme://host[:port]
//  (no path, no trailing slash) or "null"; "" is the empty list. -1 on
//  anything else (then *bad names the first bad entry, up to bad_size - 1
//  bytes)
int
    hc_origins_parse (hc_origins_t *self, const char *text, char *bad,
                      size_t bad_size);
//  True if a handshake with this Origin may go on: the list is empty, the
//  header is missing (origin NULL), or it names a listed origin
bool
    hc_origins_allow (const hc_origins_t *self, const char *origin);

void
    hc_origins_test (bool verbose);

#endif
