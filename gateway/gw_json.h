/*  gw_json.h - client JSON in and out, for the gateway thread only

    In: cJSON parses and validates a client frame. Its allocations come from
    a per-thread arena that is reset for every frame (gw_arena.h), so
    parsing a frame costs no malloc. Values the server only relays are not
    re-encoded: the scan (gw_json_scan.h) finds their original text, which
    is spliced back as is.

    Out: gw_json_render writes a frame described by hc_field_t members as
    compact JSON, the way JSON.stringify does.
*/
#ifndef GW_JSON_H_INCLUDED
#define GW_JSON_H_INCLUDED

#include "gw_json_scan.h"

//  Installs the arena allocator into cJSON (once per process; later calls
//  do nothing). Call it before starting threads that use cJSON.
void
    gw_json_setup (void);
//  Parses one frame; NULL if it is not JSON. Release with gw_json_release
//  before the next parse.
cJSON *
    gw_json_parse (const char *text, size_t len);
void
    gw_json_release (cJSON **root_p);
//  Frees this thread's arena (call when the gateway thread ends)
void
    gw_json_teardown (void);

//  The last member named key (JSON.parse keeps the last duplicate), or NULL
const cJSON *
    gw_json_member (const cJSON *object, const char *key);
//  The original text of a member's value, found while parsing
typedef struct {
    hc_str_t value;             //  as written
    bool strict;                //  JSON a browser accepts
    bool found;                 //  the object has a member of that name
} gw_span_t;

#define GW_SKIP_MIN 64          //  shorter strings are not worth skipping
#define GW_SKIP_MAX 4           //  values skipped in one frame at most

//  gw_json_parse, for a frame whose members named keys are only relayed:
//  a long string value of one, with no escape but \n and the like, reaches
//  cJSON as "" (its bytes need no decoding: an SDP costs a scan, not a
//  parse). spans [k] is what gw_json_span would give for keys [k], found
//  false when there is none or the text is not an object.
cJSON *
    gw_json_parse_skipping (const char *text, size_t len,
                            const char *const *keys, gw_span_t *spans,
                            size_t keys_n);
//  s without the white space JavaScript's trim() removes
hc_str_t
    gw_json_trim (hc_str_t s);

//  Appends {"key":value,...} for the members
void
    gw_json_render (hc_buf_t *out, const hc_field_t *fields, size_t n);

void
    gw_json_test (bool verbose);

#endif
