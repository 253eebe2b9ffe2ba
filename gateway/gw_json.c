/*  gw_json.c - client JSON in and out, for the gateway thread only

    cJSON parses and validates; its memory is the thread's arena
    (gw_arena.c). The scan of members as written is gw_json_scan.c.
*/
#include "gw_json.h"
#include "gw_arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
gw_json_setup (void)
{
    gw_arena_setup ();
}

void
gw_json_teardown (void)
{
    gw_arena_teardown ();
}

static cJSON *
s_parse (const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts (text, len, &end, false);
    if (!root)
        return NULL;
    //  Only white space may follow the value (cJSON counts any byte up to
    //  0x20 as white space, and so do we)
    for (const char *p = end; p < text + len; p++)
        if ((unsigned char) *p > 32) {
            cJSON_Delete (root);
            return NULL;
        }
    return root;
}

cJSON *
gw_json_parse (const char *text, size_t len)
{
    gw_arena_rewind ();
    return s_parse (text, len);
}

void
gw_json_release (cJSON **root_p)
{
    if (*root_p) {
        cJSON_Delete (*root_p);
        *root_p = NULL;
    }
}

const cJSON *
gw_json_member (const cJSON *object, const char *key)
{
    const cJSON *found = NULL;
    if (!cJSON_IsObject (object))
        return NULL;
    for (const cJSON *item = object->child; item; item = item->next)
        if (item->string && strcmp (item->string, key) == 0)
            found = item;
    return found;
}

cJSON *
gw_json_parse_skipping (const char *text, size_t len, const char *const *keys,
                        gw_span_t *spans, size_t keys_n)
{
    gw_arena_rewind ();
    for (size_t k = 0; k < keys_n; k++)
        spans [k] = (gw_span_t) {HC_STR_NULL, false, false};
    //  Where each skipped value starts and ends, in text order
    const char *cut [2 * GW_SKIP_MAX];
    size_t cuts = 0, kept = len;
    const char *end = text + len;
    const char *p = gw_json_scan_begin (text, len);
    gw_member_t member;
    while (p && gw_json_scan_next (&p, end, &member)) {
        for (size_t k = 0; k < keys_n; k++) {
            if (!hc_str_eq_cstr (member.key, keys [k]))
                continue;
            spans [k] = (gw_span_t) {member.value, member.strict, true};
            const char *v0 = member.value.ptr, *v1 = v0 + member.value.len;
            if (member.value.len >= GW_SKIP_MIN && *v0 == '"'
            &&  member.strict && member.plain && cuts < 2 * GW_SKIP_MAX) {
                cut [cuts++] = v0 + 1;      //  the quotes stay
                cut [cuts++] = v1 - 1;
                kept -= member.value.len - 2;
            }
        }
    }
    if (!p) {                   //  cJSON says what is wrong
        for (size_t k = 0; k < keys_n; k++)
            spans [k].found = false;
        cuts = 0;
    }
    char *copy = cuts ? (char *) gw_arena_alloc (kept) : NULL;
    if (!copy)
        return s_parse (text, len);
    char *out = copy;
    const char *from = text;
    for (size_t i = 0; i < cuts; i += 2) {
        memcpy (out, from, (size_t) (cut [i] - from));
        out += cut [i] - from;
        from = cut [i + 1];
    }
    memcpy (out, from, (size_t) (end - from));
    cJSON *root = s_parse (copy, kept);
    gw_arena_free (copy);
    return root;
}

//  JavaScript's String.prototype.trim: ASCII white space, line
//  terminators, no-break space, BOM and the Unicode space separators
static size_t
s_space_at (const unsigned char *p, size_t left)
{
    if (left >= 1 && ((p [0] >= 0x09 && p [0] <= 0x0D) || p [0] == 0x20))
        return 1;
    if (left >= 2 && p [0] == 0xC2 && p [1] == 0xA0)
        return 2;
    if (left >= 3) {
        unsigned cp = ((p [0] & 0x0Fu) << 12) | ((p [1] & 0x3Fu) << 6)
                    | (p [2] & 0x3Fu);
        if ((p [0] & 0xF0) == 0xE0
        &&  (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028
             || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000
             || cp == 0xFEFF))
            return 3;
    }
    return 0;
}

hc_str_t
gw_json_trim (hc_str_t s)
{
    const unsigned char *p = (const unsigned char *) s.ptr;
    size_t len = s.len;
    size_t n;
    while (len && (n = s_space_at (p, len))) {
        p += n;
        len -= n;
    }
    //  From the end: step back over one UTF-8 sequence at a time
    while (len) {
        size_t k = 1;
        while (k < len && k < 3 && (p [len - k] & 0xC0) == 0x80)
            k++;
        if (s_space_at (p + len - k, k) == k)
            len -= k;
        else
            break;
    }
    return (hc_str_t){(const char *) p, len};
}

//  ---------------------------------------------------------------------
//  Output

void
gw_json_render (hc_buf_t *out, const hc_field_t *fields, size_t n)
{
    hc_buf_append_char (out, '{');
    for (size_t i = 0; i < n; i++) {
        const hc_field_t *f = &fields [i];
        if (i)
            hc_buf_append_char (out, ',');
        hc_buf_append_json_str (out, f->key);
        hc_buf_append_char (out, ':');
        switch (f->type) {
            case HC_V_STR:  hc_buf_append_json_str (out, f->str); break;
            case HC_V_RAW:  hc_buf_append_str (out, f->str); break;
            case HC_V_INT:  hc_buf_append_int (out, f->num); break;
            case HC_V_BOOL:
                hc_buf_append_cstr (out, f->flag ? "true" : "false");
                break;
            case HC_V_NULL: hc_buf_append_cstr (out, "null"); break;
            case HC_V_OBJ:  gw_json_render (out, f->obj, f->obj_n); break;
        }
    }
    hc_buf_append_char (out, '}');
}

//  ---------------------------------------------------------------------
//  Self test

void
gw_json_test (bool verbose)
{
    if (verbose)
        printf (" * gw_json: ");
    gw_json_setup ();

    //  Parse: objects and other values; trailing bytes refused
    const char *text = "{\"type\":\"offer\",\"sdp\":\"v=0\\r\\n\",\"n\":1}";
    cJSON *root = gw_json_parse (text, strlen (text));
    assert (cJSON_IsObject (root));
    assert (strcmp (gw_json_member (root, "type")->valuestring, "offer") == 0);
    gw_json_release (&root);
    assert (root == NULL);
    assert (gw_json_parse ("{} x", 4) == NULL);
    root = gw_json_parse (" null \n", 7);
    assert (cJSON_IsNull (root));
    gw_json_release (&root);
    assert (gw_json_parse ("not json", 8) == NULL);
    //  Length is respected: no terminator needed
    root = gw_json_parse ("[1]]]]", 3);
    assert (cJSON_IsArray (root));
    gw_json_release (&root);
    //  Duplicate keys: the last one wins, as with JSON.parse
    text = "{\"type\":\"a\",\"type\":\"b\"}";
    root = gw_json_parse (text, strlen (text));
    assert (strcmp (gw_json_member (root, "type")->valuestring, "b") == 0);
    gw_json_release (&root);
    //  A frame bigger than the arena spills to the heap and still works
    size_t big = 400 * 1024;
    char *huge = (char *) malloc (big + 16);
    huge [0] = '[';
    size_t len = 1;
    while (len < big) {
        memcpy (huge + len, "1,", 2);
        len += 2;
    }
    huge [len++] = '1';
    huge [len++] = ']';
    root = gw_json_parse (huge, len);
    assert (cJSON_IsArray (root));
    gw_json_release (&root);
    free (huge);

    //  Skipping: a long plain string reaches cJSON as "", its span is the
    //  original; escapes cJSON must decode, or bad ones, are not skipped
    char sdp [600];
    size_t at = 0;
    while (at < 500)
        at += (size_t) snprintf (sdp + at, sizeof (sdp) - at, "a=%zu\\r\\n", at);
    sdp [at] = 0;
    const char *keys [] = {"sdp", "candidate"};
    gw_span_t spans [2];
    char frame [800];
    snprintf (frame, sizeof (frame), "{\"sdp\":\"%s\",\"type\":\"offer\"}", sdp);
    root = gw_json_parse_skipping (frame, strlen (frame), keys, spans, 2);
    assert (cJSON_IsObject (root) && !spans [1].found);
    assert (strcmp (gw_json_member (root, "sdp")->valuestring, "") == 0);
    assert (strcmp (gw_json_member (root, "type")->valuestring, "offer") == 0);
    assert (spans [0].found && spans [0].strict);
    assert (spans [0].value.len == strlen (sdp) + 2
            && memcmp (spans [0].value.ptr + 1, sdp, strlen (sdp)) == 0);
    gw_json_release (&root);
    snprintf (frame, sizeof (frame), "{\"sdp\":\"\\u0041%s\"}", sdp);
    root = gw_json_parse_skipping (frame, strlen (frame), keys, spans, 2);
    assert (gw_json_member (root, "sdp")->valuestring [0] == 'A');
    gw_json_release (&root);
    snprintf (frame, sizeof (frame), "{\"sdp\":\"\\q%s\"}", sdp);
    assert (gw_json_parse_skipping (frame, strlen (frame), keys, spans, 2)
            == NULL);
    snprintf (frame, sizeof (frame), "{\"sdp\":\"\t%s\"} x", sdp);
    assert (gw_json_parse_skipping (frame, strlen (frame), keys, spans, 2)
            == NULL);
    snprintf (frame, sizeof (frame), "{\"sdp\":\"\t%s\",\"sdp\":1}", sdp);
    root = gw_json_parse_skipping (frame, strlen (frame), keys, spans, 2);
    assert (cJSON_IsNumber (gw_json_member (root, "sdp")));
    assert (spans [0].found && spans [0].strict && spans [0].value.len == 1);
    gw_json_release (&root);
    snprintf (frame, sizeof (frame), "{\"sdp\":\"\t%s\"}", sdp);
    root = gw_json_parse_skipping (frame, strlen (frame), keys, spans, 2);
    assert (cJSON_IsString (gw_json_member (root, "sdp")) && !spans [0].strict);
    gw_json_release (&root);
    //  Trim like JavaScript
    hc_str_t t = gw_json_trim (HC_STR_LIT ("  r1 \t"));
    assert (hc_str_eq_cstr (t, "r1"));
    t = gw_json_trim (HC_STR_LIT ("\xc2\xa0\xe3\x80\x80room\xe2\x80\xa8\xef\xbb\xbf"));
    assert (hc_str_eq_cstr (t, "room"));
    t = gw_json_trim (HC_STR_LIT ("\xd0\x9f"));         //  not a space
    assert (hc_str_eq_cstr (t, "\xd0\x9f"));
    t = gw_json_trim (HC_STR_LIT ("   "));
    assert (t.len == 0);

    //  Render
    hc_buf_t out;
    hc_buf_init (&out, 0);
    hc_field_t inner [] = {hc_field_raw ("audio", HC_STR_LIT ("\"sA\""))};
    hc_field_t fields [] = {
        hc_field_str ("type", HC_STR_LIT ("call")),
        hc_field_raw ("offer", HC_STR_LIT ("{\"sdp\":\"x\"}")),
        hc_field_int ("addedAt", 1795303252150),
        hc_field_bool ("isVideo", false),
        {.key = HC_STR_LIT ("photo"), .type = HC_V_NULL},
        hc_field_obj ("streamIds", inner, 1),
        hc_field_str ("name", HC_STR_LIT ("\"Al\"\n")),
    };
    gw_json_render (&out, fields, 7);
    assert (0 == strcmp (hc_buf_cstr (&out),
                   "{\"type\":\"call\",\"offer\":{\"sdp\":\"x\"},"
                   "\"addedAt\":1795303252150,\"isVideo\":false,"
                   "\"photo\":null,\"streamIds\":{\"audio\":\"sA\"},"
                   "\"name\":\"\\\"Al\\\"\\n\"}"));
    hc_buf_free (&out);
    gw_json_teardown ();
    if (verbose)
        printf ("OK\n");
}
