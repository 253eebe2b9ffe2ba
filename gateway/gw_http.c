/*  gw_http.c - the gateway's plain HTTP answers (gateway thread) */
#include "gw_http.h"

#include <czmq.h>

hc_dialect_t
gw_http_dialect (char *path)
{
    char *query = strchr (path, '?');
    if (query)
        *query = 0;
    return streq (path, "/signal") ? HC_DIALECT_SIGNAL : HC_DIALECT_P2P;
}

gw_http_route_t
gw_http_route (const char *path, bool demo_page, const gw_demo_file_t **file)
{
    *file = demo_page ? gw_demo_find (path) : NULL;
    if (*file)
        return GW_HTTP_DEMO;
    if (path && streq (path, "/metrics"))
        return GW_HTTP_METRICS;
    if (path && streq (path, "/healthz"))
        return GW_HTTP_HEALTH;
    return GW_HTTP_UPGRADE;
}

int
gw_http_answer (struct lws *wsi, unsigned status, const char *type,
                const char *const *headers, hc_buf_t *body)
{
    if (body->failed || body->len == 0)
        return -1;
    unsigned char buf [LWS_PRE + 1024];
    unsigned char *start = buf + LWS_PRE, *p = start;
    unsigned char *end = buf + sizeof (buf) - 1;
    if (lws_add_http_common_headers (wsi, status, type, body->len, &p, end))
        return -1;
    for (; headers && *headers; headers += 2)
        if (lws_add_http_header_by_name (
                wsi, (const unsigned char *) headers [0],
                (const unsigned char *) headers [1],
                (int) strlen (headers [1]), &p, end))
            return -1;
    if (lws_finalize_write_http_header (wsi, start, &p, end))
        return -1;
    if (lws_write (wsi, (unsigned char *) body->data, body->len,
                   LWS_WRITE_HTTP_FINAL) != (int) body->len)
        return -1;
    return lws_http_transaction_completed (wsi) ? -1 : 0;
}

//  A whole answer of these bytes
static int
s_answer_bytes (struct lws *wsi, unsigned status, const char *type,
                const char *const *headers, const void *data, size_t size)
{
    hc_buf_t body;
    hc_buf_init (&body, LWS_PRE);
    hc_buf_append (&body, data, size);
    int rc = gw_http_answer (wsi, status, type, headers, &body);
    hc_buf_free (&body);
    return rc;
}

int
gw_http_text (struct lws *wsi, unsigned status, const char *text)
{
    return s_answer_bytes (wsi, status, "text/plain", NULL, text,
                           strlen (text));
}

int
gw_http_file (struct lws *wsi, const gw_demo_file_t *file)
{
    return s_answer_bytes (wsi, HTTP_STATUS_OK, gw_demo_type (file),
                           gw_demo_headers, file->data, file->size);
}

int
gw_http_health (struct lws *wsi, bool rooms_up)
{
    return rooms_up ? gw_http_text (wsi, HTTP_STATUS_OK, "ok\n")
                    : gw_http_text (wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
                                    "rooms unavailable\n");
}

size_t
gw_http_refusal (const char *status, const char *name, char *text,
                 size_t size)
{
    int len = snprintf (text, size,
                        "HTTP/1.1 %s\r\ncontent-type: text/plain\r\n"
                        "content-length: %zu\r\nconnection: close\r\n"
                        "\r\n%s\n", status, strlen (name) + 1, name);
    return len > 0 && (size_t) len < size ? (size_t) len : 0;
}

//  ---------------------------------------------------------------------
//  Self test (the writing itself is the integration tests')

void
gw_http_test (bool verbose)
{
    if (verbose)
        printf (" * gw_http: ");
    const gw_demo_file_t *file = NULL;
    char path [32] = "/signal?room=x";
    assert (gw_http_dialect (path) == HC_DIALECT_SIGNAL);
    assert (streq (path, "/signal"));
    strcpy (path, "/");
    assert (gw_http_dialect (path) == HC_DIALECT_P2P);
    strcpy (path, "/signal/");
    assert (gw_http_dialect (path) == HC_DIALECT_P2P);
    strcpy (path, "");
    assert (gw_http_dialect (path) == HC_DIALECT_P2P);
    assert (gw_http_route ("/metrics", true, &file) == GW_HTTP_METRICS);
    assert (gw_http_route ("/healthz", true, &file) == GW_HTTP_HEALTH);
    assert (gw_http_route ("/signal", true, &file) == GW_HTTP_UPGRADE);
    assert (gw_http_route (NULL, true, &file) == GW_HTTP_UPGRADE && !file);
    if (gw_demo_find ("/")) {
        assert (gw_http_route ("/", true, &file) == GW_HTTP_DEMO && file);
        assert (gw_http_route ("/", false, &file) == GW_HTTP_UPGRADE);
    }
    char text [256];
    size_t len = gw_http_refusal ("429 Too Many Requests",
                                  "max_connections_per_ip", text,
                                  sizeof (text));
    assert (len == strlen (text));
    assert (streq (text, "HTTP/1.1 429 Too Many Requests\r\n"
                         "content-type: text/plain\r\ncontent-length: 23\r\n"
                         "connection: close\r\n\r\nmax_connections_per_ip\n"));
    if (verbose)
        printf ("OK\n");
}
