/*  gw_trace.h - a JSON-lines record of every client frame in and out

    TRACE=FILE makes the gateway append one line per client event, in the
    order it saw them:

      {"time":T,"gateway":G,"conn":C,"dialect":"signal","dir":"open",
       "path":"/signal","peer":"127.0.0.1"}
      {"time":T,"gateway":G,"conn":C,"dialect":D,"dir":"in","frame":{...}}
      {..."dir":"out","frame":{...}}
      {..."dir":"in","frame":"PING","json":false}
      {..."dir":"in","frame":{...},"binary":true}
      {..."dir":"in","frame":"/w==","binary":true,"encoding":"base64"}
      {..."dir":"in","oversize":70000}
      {..."dir":"close","by":"client","code":1000}

    time is UTC with microseconds; gateway and conn are hex. A frame that is
    JSON is written as JSON (white space outside strings dropped); a text
    frame that is not is written as a string with "json":false; a binary
    frame that is not UTF-8 is written in base64. A message over
    MAX_FRAME_SIZE is never read whole: only its size so far is kept. A
    close says who closed ("client" or "server") and the close code (1006:
    no close frame).

    Lines are collected in memory and written once per loop turn
    (gw_trace_flush), so tracing costs one write() a turn, not one a frame.
*/
#ifndef GW_TRACE_H_INCLUDED
#define GW_TRACE_H_INCLUDED

#include "../common/buf.h"

typedef struct _gw_trace_t gw_trace_t;

//  Opens (appends to) path; NULL if it cannot
gw_trace_t *
    gw_trace_new (const char *path, uint32_t gateway);
//  Flushes and closes
void
    gw_trace_destroy (gw_trace_t **self_p);

void
    gw_trace_open (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
                   const char *path, const char *peer);
void
    gw_trace_frame (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
                    bool out, const char *data, size_t len, bool binary);
void
    gw_trace_oversize (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
                       size_t size);
void
    gw_trace_close (gw_trace_t *self, uint64_t conn, hc_dialect_t dialect,
                    bool by_client, uint16_t code, const char *reason);
//  Writes what was collected; -1 if the write failed
int
    gw_trace_flush (gw_trace_t *self);

void
    gw_trace_test (bool verbose);

#endif
