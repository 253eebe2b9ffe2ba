/*  gw_demo.c - the demo call page, served from memory at GET / */
#include "gw_demo.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define PREFIX "/demo/"

const char *const gw_demo_headers [] = {
    "content-security-policy:",
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self' ws: wss:; img-src 'self' data:; media-src 'self' "
    "blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "x-content-type-options:", "nosniff",
    "referrer-policy:", "no-referrer",
    //  A newer server's page, not an old one from the browser's cache
    "cache-control:", "no-cache",
    NULL
};

const gw_demo_file_t *
gw_demo_find (const char *path)
{
    const char *name = NULL;
    if (path && strcmp (path, "/") == 0)
        name = "index.html";
    else
    if (path && strncmp (path, PREFIX, strlen (PREFIX)) == 0)
        name = path + strlen (PREFIX);
    if (!name || (strcmp (name, "index.html") == 0 && path [1]))
        return NULL;            //  the page has one address
    for (const gw_demo_file_t *file = gw_demo_files; file->name; file++)
        if (strcmp (file->name, name) == 0)
            return file;
    return NULL;
}

const char *
gw_demo_type (const gw_demo_file_t *file)
{
    static const char *const types [][2] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
    };
    const char *dot = strrchr (file->name, '.');
    for (size_t i = 0; dot && i < sizeof (types) / sizeof (types [0]); i++)
        if (strcmp (dot, types [i][0]) == 0)
            return types [i][1];
    return "application/octet-stream";
}

void
gw_demo_test (bool verbose)
{
    if (verbose)
        printf (" * gw_demo: ");
    const gw_demo_file_t *page = gw_demo_find ("/");
    assert (page && strcmp (page->name, "index.html") == 0);
    assert (strcmp (gw_demo_type (page), "text/html; charset=utf-8") == 0);
    //  The page is whole, and what it loads is there too
    assert (page->size > 100 && page->data [page->size] == 0);
    assert (strstr ((const char *) page->data, "</html>"));
    const gw_demo_file_t *script = gw_demo_find ("/demo/call.js");
    assert (script && strstr (gw_demo_type (script), "javascript"));
    assert (strstr ((const char *) script->data, "ice-servers"));
    assert (strstr ((const char *) page->data, "/demo/call.js"));
    const gw_demo_file_t *style = gw_demo_find ("/demo/call.css");
    assert (style && strstr (gw_demo_type (style), "text/css"));
    assert (strstr ((const char *) page->data, "/demo/call.css"));
    //  Nothing else
    const char *none [] = {"", "/index.html", "/demo/index.html", "/demo/",
                           "/demo", "/demo/../x", "/signal", "/x/call.js",
                           "/demo/call.js/", "/healthz", NULL};
    for (int i = 0; none [i]; i++)
        assert (gw_demo_find (none [i]) == NULL);
    assert (gw_demo_find (NULL) == NULL);
    size_t headers = 0;
    while (gw_demo_headers [headers])
        headers++;
    assert (headers % 2 == 0);
    for (size_t i = 0; i < headers; i += 2)
        assert (gw_demo_headers [i][strlen (gw_demo_headers [i]) - 1] == ':');
    gw_demo_file_t other = {"x.bin", NULL, 0};
    assert (strcmp (gw_demo_type (&other), "application/octet-stream") == 0);
    if (verbose)
        printf ("OK\n");
}
