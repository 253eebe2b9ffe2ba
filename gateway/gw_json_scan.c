/*  gw_json_scan.c - the members of a client frame as written: where each
    value's text starts and ends, and whether it is JSON a browser accepts

    The text already parsed, so the scan only finds boundaries; on the way
    it also holds relayed values to strict JSON (cJSON accepts "01", "1."
    and raw control characters in strings, browsers do not).
*/
#include "gw_json_scan.h"
#include "gw_arena.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *
s_skip_ws (const char *p, const char *end)
{
    while (p < end && (unsigned char) *p <= 32)
        p++;
    return p;
}

//  The bytes of word a string scan must look at (a quote, a backslash, a
//  control character), as the high bit of each such byte. Bytes above the
//  first one may be marked too (a borrow runs upward), so only the first
//  mark counts.
static inline uint64_t
s_word_special (uint64_t word)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = word ^ (ones * '"'), slash = word ^ (ones * '\\');
    uint64_t zero_quote = (quote - ones) & ~quote;
    uint64_t zero_slash = (slash - ones) & ~slash;
    uint64_t control = (word - ones * 0x20) & ~word;
    return (zero_quote | zero_slash | control) & highs;
}

//  How many bytes of the word come before its first marked one (0 where
//  the byte order is not known: the byte loop then finds it)
static inline size_t
s_first_marked (uint64_t special)
{
#if defined (__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t) __builtin_ctzll (special) / 8;
#elif defined (__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (size_t) __builtin_clzll (special) / 8;
#else
    (void) special;
    return 0;
#endif
}

//  True for the letter after a backslash of \n, \", \/ and the like
static inline bool
s_one_letter_escape (char c)
{
    switch (c) {
        case 'b': case 'f': case 'n': case 'r': case 't':
        case '"': case '\\': case '/':
            return true;
        default:
            return false;
    }
}

//  p at the opening quote; returns the byte after the closing quote. An
//  SDP is kilobytes of plain text: those go eight bytes at a step, and
//  from a word with a \r\n straight to its backslash. *plain turns false
//  at an escape other than the one-letter ones (\n, \", ...).
static const char *
s_skip_string (const char *p, const char *end, bool *strict, bool *plain)
{
    for (p++; p < end; p++) {
        while (end - p >= 8) {
            uint64_t word;
            memcpy (&word, p, 8);
            uint64_t special = s_word_special (word);
            if (special) {
                p += s_first_marked (special);
                break;
            }
            p += 8;
        }
        if (p >= end)
            break;
        unsigned char c = (unsigned char) *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            p++;
            if (p < end && !s_one_letter_escape (*p))
                *plain = false;
        }
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
    bool plain;
    if (*p == '"')
        return s_skip_string (p, end, strict, &plain);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = s_skip_ws (p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        while (p && p < end) {
            if (close == '}') {
                if (*p != '"')
                    return NULL;
                p = s_skip_string (p, end, strict, &plain);     //  key
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
    if (name && gw_arena_holds (name) && cJSON_IsString (name))
        return hc_str (name->valuestring);
    cJSON_Delete (name);
    return raw;
}

bool
gw_json_scan_next (const char **p, const char *end, gw_member_t *member)
{
    const char *q = *p;
    if (q >= end || *q == '}')
        return false;
    const char *k0 = q;
    bool key_strict = true, key_plain;
    q = s_skip_string (q, end, &key_strict, &key_plain);
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
    member->plain = *q == '"';
    q = member->plain ? s_skip_string (q, end, &member->strict, &member->plain)
                      : s_skip_value (q, end, &member->strict, 2);
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

const char *
gw_json_scan_begin (const char *text, size_t len)
{
    const char *end = text + len;
    const char *p = s_skip_ws (text, end);
    if (p >= end || *p != '{')
        return NULL;
    return s_skip_ws (p + 1, end);
}

int
gw_json_span (const char *text, size_t len, const char *key, hc_str_t *span)
{
    const char *end = text + len;
    const char *p = gw_json_scan_begin (text, len);
    bool found = false, strict = true;
    gw_member_t member;
    while (p && gw_json_scan_next (&p, end, &member))
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
    const char *p = gw_json_scan_begin (text, len);
    size_t n = 0;
    gw_member_t member;
    while (p && gw_json_scan_next (&p, end, &member)) {
        if (n == cap)
            return -1;
        members [n++] = member;
    }
    return p ? (int) n : -1;
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
            bool plain;
            const char *close = s_skip_string (q, end, &strict, &plain);
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
//  Self test

static void
s_expect_span (const char *text, const char *key, const char *expected)
{
    hc_str_t span;
    gw_arena_rewind ();         //  as the gateway does before a parse
    int rc = gw_json_span (text, strlen (text), key, &span);
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
gw_json_scan_test (bool verbose)
{
    if (verbose)
        printf (" * gw_json_scan: ");
    gw_arena_setup ();          //  escaped names decode into the arena
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

    //  The eight-byte scan stops at a quote or backslash wherever it is
    for (int cut = 0; cut < 20; cut++) {
        char value [64], text20 [80];
        snprintf (value, sizeof (value), "\"%.*s\\\"%.*s\"", cut,
                  "abcdefghijklmnopqrstuvwxyz", 19 - cut,
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        snprintf (text20, sizeof (text20), "{\"c\":%s}", value);
        s_expect_span (text20, "c", value);
    }

    //  ...and at a control character, which makes the value not strict
    for (int cut = 0; cut < 20; cut++) {
        char text20 [80];
        snprintf (text20, sizeof (text20), "{\"c\":\"%.*s\x01%.*s\"}", cut,
                  "abcdefghijklmnopqrstuvwxyz", 19 - cut,
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
        s_expect_span (text20, "c", NULL);
    }

    //  Members: in order, duplicates kept, escaped names decoded
    const char *text = "{\"route\":\"OFFER\", \"o\\u0066fer\":{\"sdp\":\"v\"},\"n\":1,\"n\":2}";
    gw_arena_rewind ();         //  escaped names decode into it
    gw_member_t members [4];
    assert (gw_json_members (text, strlen (text), members, 4) == 4);
    assert (hc_str_eq_cstr (members [0].key, "route"));
    assert (hc_str_eq_cstr (members [0].value, "\"OFFER\""));
    assert (hc_str_eq_cstr (members [1].key, "offer"));
    assert (hc_str_eq_cstr (members [1].value, "{\"sdp\":\"v\"}"));
    assert (hc_str_eq_cstr (members [3].value, "2") && members [3].strict);
    assert (gw_json_members (text, strlen (text), members, 3) == -1);
    //  Plain: a string with one-letter escapes at most
    text = "{\"a\":\"x\\r\\n\\\"y\",\"b\":\"\\u0041\","
           "\"c\":[\"z\"],\"d\":\"\"}";
    assert (gw_json_members (text, strlen (text), members, 4) == 4);
    assert (members [0].plain && !members [1].plain && !members [2].plain
            && members [3].plain);
    assert (gw_json_members ("{}", 2, members, 4) == 0);
    assert (gw_json_members ("[1]", 3, members, 4) == -1);

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

    gw_arena_teardown ();
    if (verbose)
        printf ("OK\n");
}
