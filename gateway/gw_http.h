/*  gw_http.h - the gateway's plain HTTP answers (gateway thread)

    Which answer a plain HTTP request gets, and writing it whole: /healthz
    for load balancers, /metrics for Prometheus, / and /demo/ the demo page
    (unless DEMO_PAGE is off); any other path is a WebSocket endpoint and
    gets 426, as the original did. A refused handshake's answer is written
    as raw bytes (lws would call it HTTP/1.0 at that stage, which
    WebSocket clients refuse to parse).
*/
#ifndef GW_HTTP_H_INCLUDED
#define GW_HTTP_H_INCLUDED

#include "gw_demo.h"
#include "../common/buf.h"
#include "../common/hc_types.h"

#include <libwebsockets.h>

typedef enum {
    GW_HTTP_DEMO,               //  a file of the demo page
    GW_HTTP_METRICS,            //  /metrics
    GW_HTTP_HEALTH,             //  /healthz
    GW_HTTP_UPGRADE             //  anything else: 426
} gw_http_route_t;

//  The dialect of a WebSocket upgrade to path: /signal speaks the
//  /signal protocol, any other path the p2p one (docs/p2p.md). A query
//  does not count: it is cut off path.
hc_dialect_t
    gw_http_dialect (char *path);
//  Where path goes; for GW_HTTP_DEMO, *file is the file
gw_http_route_t
    gw_http_route (const char *path, bool demo_page,
                   const gw_demo_file_t **file);
//  Writes a whole answer; body has LWS_PRE bytes of head room; headers
//  are more name, value pairs (names end in ':'), NULL-terminated, or
//  NULL. -1 when the connection is done with.
int
    gw_http_answer (struct lws *wsi, unsigned status, const char *type,
                    const char *const *headers, hc_buf_t *body);
int
    gw_http_text (struct lws *wsi, unsigned status, const char *text);
//  A file of the demo page, with the page's own headers (gw_demo.h)
int
    gw_http_file (struct lws *wsi, const gw_demo_file_t *file);
//  /healthz: 200 while rooms answers, else 503
int
    gw_http_health (struct lws *wsi, bool rooms_up);
//  The raw answer to a refused handshake ("429 Too Many Requests" and the
//  reason's name as the body); its length, 0 if it does not fit
size_t
    gw_http_refusal (const char *status, const char *name, char *text,
                     size_t size);

void
    gw_http_test (bool verbose);

#endif
