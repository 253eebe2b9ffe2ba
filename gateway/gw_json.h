/*  gw_json.h - client JSON in and out, for the gateway thread only

    In: cJSON parses and validates a client frame. Its allocations come from
    a per-thread arena that is reset for every frame, so parsing a frame
    costs no malloc. Values the server only relays are not re-encoded:
    gw_json_span finds their original text, which is spliced back as is.

    Out: gw_json_render writes a frame described by hc_field_t members as
    compact JSON, the way JSON.stringify does.
*/
#ifndef GW_JSON_H_INCLUDED
#define GW_JSON_H_INCLUDED

#include "../common/buf.h"

#include <cjson/cJSON.h>

#define GW_JSON_DEPTH_MAX CJSON_NESTING_LIMIT   //  as deep as cJSON goes

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
//  The original text of the value of the last top-level member named key.
//  text must be the frame that parsed into an object. Returns 0 or -1.
int
    gw_json_span (const char *text, size_t len, const char *key,
                  hc_str_t *span);
//  One top-level member of an object, as written
typedef struct {
    hc_str_t key;               //  its name, decoded (valid until the next
                                //  parse on this thread)
    hc_str_t value;             //  the original text of its value
    bool strict;                //  the value is JSON a browser accepts
} gw_member_t;

//  The top-level members of the object that text parsed into, in order,
//  duplicates included. Returns how many, or -1 if more than cap.
int
    gw_json_members (const char *text, size_t len, gw_member_t *members,
                     size_t cap);
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
//  Appends text without its white space when it is strict JSON (what a
//  browser's JSON.parse takes, nested at most GW_JSON_DEPTH_MAX deep);
//  false, with out as it was, otherwise
bool
    gw_json_minify (hc_buf_t *out, const char *text, size_t len);
//  s without the white space JavaScript's trim() removes
hc_str_t
    gw_json_trim (hc_str_t s);

//  Appends {"key":value,...} for the members
void
    gw_json_render (hc_buf_t *out, const hc_field_t *fields, size_t n);

void
    gw_json_test (bool verbose);

#endif
