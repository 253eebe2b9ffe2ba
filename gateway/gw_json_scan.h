/*  gw_json_scan.h - the members of a client frame as written

    Values the server only relays are not re-encoded: the scan finds their
    original text, which is spliced back as is, and says whether it is
    JSON a browser's JSON.parse takes (cJSON takes more). The text must be
    one that cJSON parsed (gw_json.h) on this thread: names with escapes
    are decoded into that parse's arena.
*/
#ifndef GW_JSON_SCAN_H_INCLUDED
#define GW_JSON_SCAN_H_INCLUDED

#include "../common/buf.h"

#include <cjson/cJSON.h>

#define GW_JSON_DEPTH_MAX CJSON_NESTING_LIMIT   //  as deep as cJSON goes

//  One top-level member of an object, as written
typedef struct {
    hc_str_t key;               //  its name, decoded (valid until the next
                                //  parse on this thread)
    hc_str_t value;             //  the original text of its value
    bool strict;                //  the value is JSON a browser accepts
    bool plain;                 //  a string, its escapes one-letter ones
                                //  (\n, \", ...): cJSON need not decode it
} gw_member_t;

//  Walks the top-level members of the object in text:
//      const char *p = gw_json_scan_begin (text, len);
//      while (gw_json_scan_next (&p, text + len, &member)) ...
//  p is NULL at the end when text is no object or has a syntax error.
const char *
    gw_json_scan_begin (const char *text, size_t len);
bool
    gw_json_scan_next (const char **p, const char *end, gw_member_t *member);
//  The original text of the value of the last top-level member named key.
//  Returns 0, or -1 when there is none or it is not strict.
int
    gw_json_span (const char *text, size_t len, const char *key,
                  hc_str_t *span);
//  The top-level members, in order, duplicates included. Returns how
//  many, or -1 if more than cap or text is no object.
int
    gw_json_members (const char *text, size_t len, gw_member_t *members,
                     size_t cap);
//  Appends text without its white space when it is strict JSON (what a
//  browser's JSON.parse takes, nested at most GW_JSON_DEPTH_MAX deep);
//  false, with out as it was, otherwise. Any text: no parse needed.
bool
    gw_json_minify (hc_buf_t *out, const char *text, size_t len);

void
    gw_json_scan_test (bool verbose);

#endif
