/*  gw_json.c - client JSON in and out, for the gateway thread only

    cJSON allocates through hooks installed once per process. While a thread
    has an arena (the gateway thread does), allocations come from it and
    frees of arena memory do nothing; the arena is rewound for each frame.
    Other threads that use cJSON get plain malloc/free.
*/
#include "gw_json.h"

#include <assert.h>
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_SIZE (256 * 1024)
#define ARENA_ALIGN 16

typedef struct {
    char *block;                //  ARENA_SIZE bytes
    size_t used;                //  bytes handed out since the last rewind
} arena_t;

static _Thread_local arena_t *tl_arena;

static void *
s_arena_malloc (size_t size)
{
    arena_t *arena = tl_arena;
    if (arena) {
        size_t start = (arena->used + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);
        if (start + size <= ARENA_SIZE) {
            arena->used = start + size;
            return arena->block + start;
        }
    }
    return malloc (size);       //  a huge frame overflows to the heap
}

static void
s_arena_free (void *ptr)
{
    arena_t *arena = tl_arena;
    if (arena && (char *) ptr >= arena->block
    &&  (char *) ptr < arena->block + ARENA_SIZE)
        return;                 //  rewound with the arena
    free (ptr);
}

void
gw_json_teardown (void)
{
    if (tl_arena) {
        free (tl_arena->block);
        free (tl_arena);
        tl_arena = NULL;
    }
}

static void
s_install_hooks (void)
{
    static cJSON_Hooks hooks = {s_arena_malloc, s_arena_free};
    cJSON_InitHooks (&hooks);
}

//  The hooks are global to cJSON: they are written once, and main does it
//  before any actor thread (the notifier uses cJSON too) exists
void
gw_json_setup (void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once (&once, s_install_hooks);
}

//  This thread's arena, rewound (or none: cJSON then runs on the heap)
static void
s_arena_ready (void)
{
    if (!tl_arena) {
        tl_arena = (arena_t *) calloc (1, sizeof (arena_t));
        if (tl_arena)
            tl_arena->block = (char *) malloc (ARENA_SIZE);
        if (!tl_arena || !tl_arena->block) {
            free (tl_arena);
            tl_arena = NULL;    //  run on the heap
        }
    }
    if (tl_arena)
        tl_arena->used = 0;
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
    s_arena_ready ();
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

//  ---------------------------------------------------------------------
//  Spans. The text already parsed, so the scan only finds boundaries; on
//  the way it also holds relayed values to strict JSON (cJSON accepts
//  "01", "1." and raw control characters in strings, browsers do not).

static const char *
s_skip_ws (const char *p, const char *end)
{
    while (p < end && (unsigned char) *p <= 32)
        p++;
    return p;
}

//  True if one of the eight bytes in word is a quote, a backslash or a
//  control character (the bytes a string scan must look at)
static inline bool
s_word_special (uint64_t word)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = word ^ (ones * '"'), slash = word ^ (ones * '\\');
    uint64_t zero_quote = (quote - ones) & ~quote;
    uint64_t zero_slash = (slash - ones) & ~slash;
    uint64_t control = (word - ones * 0x20) & ~word;
    return ((zero_quote | zero_slash | control) & highs) != 0;
}

//  p at the opening quote; returns the byte after the closing quote. An
//  SDP is kilobytes of plain text: those go eight bytes at a step.
static const char *
s_skip_string (const char *p, const char *end, bool *strict)
{
    for (p++; p < end; p++) {
        uint64_t word;
        while (end - p >= 8 && (memcpy (&word, p, 8), !s_word_special (word)))
            p += 8;
        if (p >= end)
            break;
        unsigned char c = (unsigned char) *p;
        if (c == '"')
            return p + 1;
        if (c == '\\')
            p++;
        else
        if (c < 0x20)
            *strict = false;
    }
    return NULL;
}

static const char *
s_skip_number (const char *p, const char *end, bool *strict)
{
    const char *start = p;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            *strict = false;            //  leading zero
    }
    else {
        if (p >= end || *p < '1' || *p > '9')
            *strict = false;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9')
            *strict = false;            //  "1."
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            *strict = false;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    //  Anything else cJSON's strtod took ("+1" cannot start a value)
    while (p < end && (*p == '+' || *p == '-' || *p == '.' || *p == 'e'
                       || *p == 'E' || (*p >= '0' && *p <= '9'))) {
        *strict = false;
        p++;
    }
    return p > start ? p : NULL;
}

//  depth: nesting so far; deeper than cJSON nests is no value
static const char *
s_skip_value (const char *p, const char *end, bool *strict, int depth)
{
    if (p >= end || depth > GW_JSON_DEPTH_MAX)
        return NULL;
    if (*p == '"')
        return s_skip_string (p, end, strict);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = s_skip_ws (p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        while (p && p < end) {
            if (close == '}') {
                if (*p != '"')
                    return NULL;
                p = s_skip_string (p, end, strict);      //  key
                if (!p)
                    return NULL;
                p = s_skip_ws (p, end);
                if (p >= end || *p != ':')
                    return NULL;
                p = s_skip_ws (p + 1, end);
            }
            p = s_skip_value (p, end, strict, depth + 1);
            if (!p)
                return NULL;
            p = s_skip_ws (p, end);
            if (p < end && *p == ',')
                p = s_skip_ws (p + 1, end);
            else
            if (p < end && *p == close)
                return p + 1;
            else
                return NULL;
        }
        return NULL;
    }
    if (*p == '-' || (*p >= '0' && *p <= '9'))
        return s_skip_number (p, end, strict);
    static const char *const literals [] = {"true", "false", "null"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen (literals [i]);
        if ((size_t) (end - p) >= n && memcmp (p, literals [i], n) == 0)
            return p + n;
    }
    return NULL;
}

//  The name of the quoted key at [k0, k1): the bytes between the quotes,
//  or, when it has escapes, its decoded text. Decoded names live in the
//  arena until the next parse; without room there (a frame far beyond any
//  real one) the name stays as written, escapes and all.
static hc_str_t
s_key_name (const char *k0, const char *k1)
{
    hc_str_t raw = {k0 + 1, (size_t) (k1 - k0) - 2};
    if (!memchr (raw.ptr, '\\', raw.len))
        return raw;
    cJSON *name = cJSON_ParseWithLength (k0, (size_t) (k1 - k0));
    bool in_arena = name && tl_arena && (char *) name >= tl_arena->block
                 && (char *) name < tl_arena->block + ARENA_SIZE;
    if (in_arena && cJSON_IsString (name))
        return hc_str (name->valuestring);
    cJSON_Delete (name);
    return raw;
}

//  Steps over one "key": value member at *p; false at the end, and with
//  *p set to NULL on a syntax error
static bool
s_member_next (const char **p, const char *end, gw_member_t *member)
{
    const char *q = *p;
    if (q >= end || *q == '}')
        return false;
    const char *k0 = q;
    bool key_strict = true;
    q = s_skip_string (q, end, &key_strict);
    const char *k1 = q;
    if (q)
        q = s_skip_ws (q, end);
    if (!q || q >= end || *q != ':') {
        *p = NULL;
        return false;
    }
    q = s_skip_ws (q + 1, end);
    const char *v0 = q;
    member->strict = true;
    q = s_skip_value (q, end, &member->strict, 2);
    if (!q) {
        *p = NULL;
        return false;
    }
    member->key = s_key_name (k0, k1);
    member->value = (hc_str_t){v0, (size_t) (q - v0)};
    q = s_skip_ws (q, end);
    if (q < end && *q == ',')
        q = s_skip_ws (q + 1, end);
    *p = q;
    return true;
}

//  Positions at the first member of the object in text
static const char *
s_members_begin (const char *text, const char *end)
{
    const char *p = s_skip_ws (text, end);
    if (p >= end || *p != '{')
        return NULL;
    return s_skip_ws (p + 1, end);
}

int
gw_json_span (const char *text, size_t len, const char *key, hc_str_t *span)
{
    const char *end = text + len;
    const char *p = s_members_begin (text, end);
    bool found = false, strict = true;
    gw_member_t member;
    while (p && s_member_next (&p, end, &member))
        if (hc_str_eq_cstr (member.key, key)) {
            *span = member.value;
            strict = member.strict;
            found = true;
        }
    return p && found && strict ? 0 : -1;
}

int
gw_json_members (const char *text, size_t len, gw_member_t *members,
                 size_t cap)
{
    const char *end = text + len;
    const char *p = s_members_begin (text, end);
    size_t n = 0;
    gw_member_t member;
    while (p && s_member_next (&p, end, &member)) {
        if (n == cap)
            return -1;
        members [n++] = member;
    }
    return p ? (int) n : -1;
}

//  The quoted string [q0, q1) has no escape cJSON must decode with care
//  (only \\n, \\" and the like, no \\u) and no raw control character
static bool
s_string_plain (const char *q0, const char *q1)
{
    const char *p = q0 + 1, *end = q1 - 1;
    while ((p = (const char *) memchr (p, '\\', (size_t) (end - p)))) {
        if (!strchr ("bfnrt\"\\/", p [1]) || p [1] == 0)
            return false;
        p += 2;
    }
    return true;
}

cJSON *
gw_json_parse_skipping (const char *text, size_t len, const char *const *keys,
                        gw_span_t *spans, size_t keys_n)
{
    s_arena_ready ();
    for (size_t k = 0; k < keys_n; k++)
        spans [k] = (gw_span_t) {HC_STR_NULL, false, false};
    //  Where each skipped value starts and ends, in text order
    const char *cut [2 * GW_SKIP_MAX];
    size_t cuts = 0, kept = len;
    const char *end = text + len;
    const char *p = s_members_begin (text, end);
    gw_member_t member;
    while (p && s_member_next (&p, end, &member)) {
        for (size_t k = 0; k < keys_n; k++) {
            if (!hc_str_eq_cstr (member.key, keys [k]))
                continue;
            spans [k] = (gw_span_t) {member.value, member.strict, true};
            const char *v0 = member.value.ptr, *v1 = v0 + member.value.len;
            if (member.value.len >= GW_SKIP_MIN && *v0 == '"'
            &&  member.strict && cuts < 2 * GW_SKIP_MAX
            &&  s_string_plain (v0, v1)) {
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
    char *copy = cuts ? (char *) s_arena_malloc (kept) : NULL;
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
    s_arena_free (copy);
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
//  Minified, for traces: the same scan, then the text without white space

//  The escapes of a string's text [p, end) are JSON's: cJSON refuses
//  other ones, so frames that parsed have none, but a trace holds any
//  frame. (Not in the span scan: every "\r\n" of an SDP would ask.)
static bool
s_escapes_valid (const char *p, const char *end)
{
    while ((p = (const char *) memchr (p, '\\', (size_t) (end - p)))) {
        char c = p + 1 < end ? p [1] : 0;
        if (!c || !strchr ("\"\\/bfnrtu", c))
            return false;
        for (int i = 2; c == 'u' && i < 6; i++)
            if (p + i >= end || !isxdigit ((unsigned char) p [i]))
                return false;
        p += c == 'u' ? 6 : 2;
        if (p >= end)
            break;
    }
    return true;
}

bool
gw_json_minify (hc_buf_t *out, const char *text, size_t len)
{
    const char *end = text + len;
    bool strict = true;
    const char *p = s_skip_ws (text, end);
    p = s_skip_value (p, end, &strict, 1);
    if (!p || !strict || s_skip_ws (p, end) != end)
        return false;
    size_t mark = out->len;
    for (const char *q = text; q < end; q++) {
        unsigned char c = (unsigned char) *q;
        if (c == '"') {         //  a string, as it is, if its escapes are
            const char *close = s_skip_string (q, end, &strict);
            if (!s_escapes_valid (q + 1, close - 1)) {
                out->len = mark;
                return false;
            }
            hc_buf_append (out, q, (size_t) (close - q));
            q = close - 1;
        }
        else
        if (c < 0x20 && c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            out->len = mark;    //  the scan took it for white space
            return false;
        }
        else
        if (c > ' ')
            hc_buf_append (out, q, 1);
    }
    if (out->failed) {
        out->len = mark;
        return false;
    }
    return true;
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

static void
s_expect_span (const char *text, const char *key, const char *expected)
{
    hc_str_t span;
    cJSON *root = gw_json_parse (text, strlen (text));  //  as the gateway does
    int rc = gw_json_span (text, strlen (text), key, &span);
    gw_json_release (&root);
    if (!expected)
        assert (rc == -1);
    else {
        assert (rc == 0);
        assert (span.len == strlen (expected));
        assert (memcmp (span.ptr, expected, span.len) == 0);
    }
}

static bool
s_minify_is (const char *text, const char *expected)
{
    hc_buf_t out;
    hc_buf_init (&out, 0);
    bool ok = gw_json_minify (&out, text, strlen (text));
    bool same = expected ? ok && strcmp (hc_buf_cstr (&out), expected) == 0
                         : !ok && out.len == 0;
    hc_buf_free (&out);
    return same;
}

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

    //  Spans: the original text of values, last duplicate, escaped keys
    s_expect_span ("{\"sdp\":\"v=0\\r\\n\"}", "sdp", "\"v=0\\r\\n\"");
    s_expect_span (" { \"a\" : 1 , \"candidate\" : { \"c\" : [1, 2.5e-3] } } ",
                   "candidate", "{ \"c\" : [1, 2.5e-3] }");
    s_expect_span ("{\"x\":1,\"x\":{\"y\":\"}\"}}", "x", "{\"y\":\"}\"}");
    s_expect_span ("{\"s\\u0064p\":\"z\"}", "sdp", "\"z\"");
    s_expect_span ("{\"a\":true,\"b\":null,\"c\":false}", "c", "false");
    s_expect_span ("{\"a\":1}", "sdp", NULL);
    //  Values cJSON accepts but browsers would not: refused
    s_expect_span ("{\"c\":{\"i\":01}}", "c", NULL);
    s_expect_span ("{\"c\":1.}", "c", NULL);
    s_expect_span ("{\"c\":\"a\tb\"}", "c", NULL);
    s_expect_span ("{\"c\":-}", "c", NULL);
    //  ...unless the bad value is not the one relayed
    s_expect_span ("{\"junk\":01,\"c\":2}", "c", "2");

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
    //  The eight-byte scan stops at a quote or backslash wherever it is
    for (int cut = 0; cut < 20; cut++) {
        char value [64], text20 [80];
        snprintf (value, sizeof (value), "\"%.*s\\\"%.*s\"", cut,
                  "abcdefghijklmnopqrstuvwxyz", 19 - cut,
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        snprintf (text20, sizeof (text20), "{\"c\":%s}", value);
        s_expect_span (text20, "c", value);
    }

    //  Members: in order, duplicates kept, escaped names decoded
    text = "{\"route\":\"OFFER\", \"o\\u0066fer\":{\"sdp\":\"v\"},\"n\":1,\"n\":2}";
    root = gw_json_parse (text, strlen (text));
    gw_member_t members [4];
    assert (gw_json_members (text, strlen (text), members, 4) == 4);
    assert (hc_str_eq_cstr (members [0].key, "route"));
    assert (hc_str_eq_cstr (members [0].value, "\"OFFER\""));
    assert (hc_str_eq_cstr (members [1].key, "offer"));
    assert (hc_str_eq_cstr (members [1].value, "{\"sdp\":\"v\"}"));
    assert (hc_str_eq_cstr (members [3].value, "2") && members [3].strict);
    assert (gw_json_members (text, strlen (text), members, 3) == -1);
    assert (gw_json_members ("{}", 2, members, 4) == 0);
    assert (gw_json_members ("[1]", 3, members, 4) == -1);
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
    //  Minified for traces: what a browser's JSON.parse takes, alone
    assert (s_minify_is (" { \"a\" : [ 1 , -2.5e+3 , true ] ,\n"
                         "\"b\":\"x y\" } ",
                         "{\"a\":[1,-2.5e+3,true],\"b\":\"x y\"}"));
    assert (s_minify_is ("\"join\"", "\"join\""));
    assert (s_minify_is ("null", "null"));
    assert (s_minify_is ("{\"s\":\"\\u00e9\\n\\\"\"}",
                         "{\"s\":\"\\u00e9\\n\\\"\"}"));
    assert (s_minify_is ("{}", "{}"));
    assert (s_minify_is ("[ ]", "[]"));
    //  What cJSON tolerates and browsers do not is not JSON here
    assert (s_minify_is ("{\"i\":01}", NULL));
    assert (s_minify_is ("1.", NULL));
    assert (s_minify_is ("{\"a\":\"x\ny\"}", NULL));
    assert (s_minify_is ("{\"a\":\"\\x\"}", NULL));
    assert (s_minify_is ("{\"a\":1,}", NULL));
    assert (s_minify_is ("{\"type\":\"join\"} x", NULL));
    assert (s_minify_is ("PING", NULL));
    assert (s_minify_is ("", NULL));
    assert (s_minify_is ("tru", NULL));
    //  Nested deeper than cJSON goes
    char deep [2 * (GW_JSON_DEPTH_MAX + 1)];
    memset (deep, '[', GW_JSON_DEPTH_MAX + 1);
    memset (deep + GW_JSON_DEPTH_MAX + 1, ']', GW_JSON_DEPTH_MAX + 1);
    hc_buf_t deep_out;
    hc_buf_init (&deep_out, 0);
    assert (!gw_json_minify (&deep_out, deep, sizeof (deep)));
    assert (gw_json_minify (&deep_out, deep + 1, sizeof (deep) - 2));
    //  White space is the four JSON has, not any control character
    assert (s_minify_is ("[1,\x01 2]", NULL));
    assert (s_minify_is ("{\"a\" 1}", NULL));
    assert (s_minify_is ("{1:2}", NULL));
    hc_buf_free (&deep_out);

    if (verbose)
        printf ("OK\n");
}
