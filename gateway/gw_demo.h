/*  gw_demo.h - the demo call page, served from memory at GET /

    The files of gateway/demo/ are compiled in (cmake/embed_files.cmake):
    index.html at "/", every other file at "/demo/NAME". No CDN, nothing
    to build or install for the user. DEMO_PAGE=off turns it off.
*/
#ifndef GW_DEMO_H_INCLUDED
#define GW_DEMO_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

//  One embedded file; the generated table ends with a NULL name
typedef struct {
    const char *name;           //  file name in gateway/demo/
    const unsigned char *data;  //  its bytes
    size_t size;
} gw_demo_file_t;

extern const gw_demo_file_t gw_demo_files [];

//  Headers every file goes out with: name (with its ':'), value, ...,
//  NULL. The page may load only its own files and talk only WebSocket;
//  no other site may frame it (it holds the camera).
extern const char *const gw_demo_headers [];

//  The file a request path names ("/" or "/demo/NAME"), or NULL
const gw_demo_file_t *
    gw_demo_find (const char *path);
//  Its Content-Type, from the file name's extension
const char *
    gw_demo_type (const gw_demo_file_t *file);

void
    gw_demo_test (bool verbose);

#endif
