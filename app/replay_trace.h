/*  replay_trace.h - reads gateway traces and compares frames, for
    homecall-replay

    A trace is the JSON-lines file of gateway/gw_trace.h. Several files (one
    per gateway of a split deployment) merge into one list, ordered by time
    (stable, so one file's order is kept). Frames compare as parsed JSON:
    key order does not matter, and the value of a volatile field (one that
    differs by nature between runs, such as p2p's addedAt) is not compared,
    only its presence.
*/
#ifndef REPLAY_TRACE_H_INCLUDED
#define REPLAY_TRACE_H_INCLUDED

#include "common/buf.h"

typedef enum {
    RT_OPEN,                    //  a client connected
    RT_IN,                      //  a frame from the client
    RT_OUT,                     //  a frame to the client
    RT_CLOSE                    //  the connection ended
} rt_dir_t;

typedef struct {
    rt_dir_t dir;
    int64_t time_us;            //  when the gateway saw it
    const char *file;           //  which trace (not owned)
    size_t line;                //  line number in that file
    char conn [24];             //  recorded connection id
    hc_dialect_t dialect;
    char *path;                 //  RT_OPEN: the path it asked for
    char *frame;                //  RT_IN, RT_OUT: the frame's text
    size_t frame_len;
    bool json;                  //  frame is JSON (else text or bytes)
    bool binary;                //  sent as a binary frame
    size_t oversize;            //  RT_IN: a message too large to keep
    bool by_client;             //  RT_CLOSE: the client closed
    int code;                   //  RT_CLOSE: close code (1006: none)
    char *reason;               //  RT_CLOSE: close reason, or NULL
} rt_record_t;

typedef struct {
    rt_record_t *items;
    size_t size;
    size_t cap;
} rt_trace_t;

//  Appends the records of one file; -1 with a message naming the line
int
    rt_trace_load (rt_trace_t *self, const char *path, char *err,
                   size_t err_size);
//  Orders the records by time, keeping each file's order among equals
void
    rt_trace_sort (rt_trace_t *self);
void
    rt_trace_free (rt_trace_t *self);

//  Compares a received frame with the recorded one; returns the number of
//  differences, described in diff one per line ("  .type: ...")
int
    rt_compare (const rt_record_t *expected, const char *got, size_t got_len,
                bool got_binary, const char *const *volatile_keys,
                size_t volatile_n, hc_buf_t *diff);

void
    rt_trace_test (bool verbose);

#endif
