/*  msg.c - the codec engine's rules: what a message kind allows

    The encoder (msg_enc.c) and the decoder (msg_dec.c) both ask these, so
    a bound is written once and holds both ways.
*/
#include "msg.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

//  MSG_ENUM values are read and written as int
_Static_assert (sizeof (hc_dialect_t) == sizeof (int), "enums are ints");

//  Frame members (nested ones included) within the bounds and of the kinds
//  the key allows; why names the first thing wrong
static const char *
s_members_refused (const hc_field_t *fields, size_t n, msg_members_t members,
                   int depth, size_t *total)
{
    if (depth > MSG_MAX_DEPTH)
        return "frame nested too deep";
    *total += n;
    if (*total > MSG_MAX_FIELDS)
        return "frame has too many members";
    for (size_t i = 0; i < n; i++) {
        const char *why = msg_member_refused (&fields [i], members);
        if (!why && fields [i].type == HC_V_OBJ)
            why = s_members_refused (fields [i].obj, fields [i].obj_n,
                                     members, depth + 1, total);
        if (why)
            return why;
    }
    return NULL;
}

const char *
msg_key_refused (const msg_key_t *spec, const void *m)
{
    switch (spec->type) {
        case MSG_ENUM:
            return (uint64_t) *MSG_AT_CONST (m, spec->offset, int) > spec->max
                 ? "enumeration out of range" : NULL;
        case MSG_STR:
            return spec->max
                && MSG_AT_CONST (m, spec->offset, hc_str_t)->len > spec->max
                 ? "string too long" : NULL;
        case MSG_BIN:
            return spec->nonempty
                && MSG_AT_CONST (m, spec->offset, hc_str_t)->len == 0
                 ? "empty raw JSON value" : NULL;
        case MSG_CONNS: {
            size_t n = *MSG_AT_CONST (m, spec->count_offset, size_t);
            return n == 0 || n > MSG_MAX_CONNS
                 ? "bad number of connection ids" : NULL;
        }
        case MSG_IDS: {
            size_t n = *MSG_AT_CONST (m, spec->count_offset, size_t);
            if (n > MSG_MAX_P2P_IDS)
                return "too many ids";
            const hc_str_t *ids = *MSG_AT_CONST (m, spec->offset,
                                             const hc_str_t *);
            for (size_t i = 0; i < n; i++)
                if (ids [i].len > MSG_MAX_KEY)
                    return "id too long";
            return NULL;
        }
        case MSG_FIELDS: {
            size_t total = 0;
            return s_members_refused (
                *MSG_AT_CONST (m, spec->offset, const hc_field_t *),
                *MSG_AT_CONST (m, spec->count_offset, size_t), spec->members, 1,
                &total);
        }
        default:
            return NULL;
    }
}

//  ---------------------------------------------------------------------
//  Self test: a kind with a key of every type goes round; malformed
//  bodies are refused with a reason (the real kinds: msg_rooms, msg_log)

typedef struct {
    uint64_t u64;
    uint32_t u32;
    uint16_t u16;
    int level;
    int64_t i64;
    bool flag;
    bool yes;
    hc_str_t text;
    hc_str_t raw;
    const uint64_t *conns;
    size_t conns_n;
    const hc_str_t *ids;
    size_t ids_n;
    const hc_field_t *fields;
    size_t fields_n;
} s_every_t;

#define EVERY(k, vtype, req, member, ...)                                  \
    {.key = (k), .type = (vtype), .required = (req),                       \
     .offset = offsetof (s_every_t, member), __VA_ARGS__}

static const msg_key_t s_every_keys [] = {
    EVERY ("a", MSG_U64, true, u64),
    EVERY ("b", MSG_U32, true, u32),
    EVERY ("c", MSG_U16, true, u16),
    EVERY ("d", MSG_ENUM, true, level, .max = 3),
    EVERY ("e", MSG_I64, true, i64),
    EVERY ("f", MSG_BOOL, true, flag),
    EVERY ("g", MSG_TRUE, false, yes),
    EVERY ("h", MSG_STR, false, text, .max = 8),
    EVERY ("i", MSG_BIN, false, raw, .nonempty = true),
    EVERY ("j", MSG_CONNS, true, conns,
           .count_offset = offsetof (s_every_t, conns_n)),
    EVERY ("k", MSG_IDS, false, ids,
           .count_offset = offsetof (s_every_t, ids_n)),
    EVERY ("l", MSG_FIELDS, false, fields,
           .count_offset = offsetof (s_every_t, fields_n)),
};

static const msg_kind_t s_every = {"every", s_every_keys,
                                   MSG_KEYS_N (s_every_keys),
                                   sizeof (s_every_t), NULL};

static bool
s_fields_equal (const hc_field_t *a, size_t an, const hc_field_t *b,
                size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++) {
        if (!hc_str_eq (a [i].key, b [i].key) || a [i].type != b [i].type)
            return false;
        bool same = a [i].type == HC_V_OBJ
                  ? s_fields_equal (a [i].obj, a [i].obj_n, b [i].obj,
                                    b [i].obj_n)
                  : hc_str_eq (a [i].str, b [i].str) && a [i].num == b [i].num
                    && a [i].flag == b [i].flag;
        if (!same)
            return false;
    }
    return true;
}

void
msg_test (bool verbose)
{
    if (verbose)
        printf (" * msg: ");
    msg_enc_t *enc = msg_enc_new ();
    msg_dec_t *dec = msg_dec_new ();
    assert (enc && dec);

    //  Every key type, every frame value kind, nested
    hc_field_t inner [] = {hc_field_raw ("audio", HC_STR_LIT ("\"sA\"")),
                           hc_field_int ("n", -5)};
    hc_field_t fields [] = {
        hc_field_str ("type", HC_STR_LIT ("call")),
        hc_field_raw ("offer", HC_STR_LIT ("{\"sdp\":\"x\"}")),
        hc_field_int ("addedAt", 1795303252150),
        hc_field_bool ("isVideo", true),
        {.key = HC_STR_LIT ("photo"), .type = HC_V_NULL},
        hc_field_obj ("streamIds", inner, 2),
    };
    uint64_t conns [] = {1, 2, UINT64_MAX};
    hc_str_t ids [] = {HC_STR_LIT ("carol"), HC_STR_LIT ("")};
    s_every_t every = {UINT64_MAX, UINT32_MAX, UINT16_MAX, 3, INT64_MIN,
                       false, true, HC_STR_LIT ("12345678"),
                       HC_STR_LIT ("[1]"), conns, 3, ids, 2, fields, 6};
    assert (msg_encode (enc, &s_every, &every) == 0);
    s_every_t got;
    assert (msg_decode (dec, &s_every, msg_enc_data (enc),
                        msg_enc_size (enc), &got) == 0);
    assert (got.u64 == UINT64_MAX && got.u32 == UINT32_MAX
            && got.u16 == UINT16_MAX && got.level == 3
            && got.i64 == INT64_MIN && !got.flag && got.yes);
    assert (hc_str_eq (got.text, every.text) && hc_str_eq (got.raw, every.raw));
    assert (got.conns_n == 3 && got.conns [2] == UINT64_MAX);
    assert (got.ids_n == 2 && hc_str_eq (got.ids [0], ids [0])
            && hc_str_present (got.ids [1]));
    assert (s_fields_equal (got.fields, got.fields_n, fields, 6));
    //  Optional keys that are absent stay absent
    s_every_t least = {1, 2, 3, 0, -1, true, false, HC_STR_NULL, HC_STR_NULL,
                       conns, 1, NULL, 0, NULL, 0};
    assert (msg_encode (enc, &s_every, &least) == 0);
    assert (msg_decode (dec, &s_every, msg_enc_data (enc),
                        msg_enc_size (enc), &got) == 0);
    assert (!got.yes && !hc_str_present (got.text)
            && !hc_str_present (got.raw) && !got.ids && got.fields_n == 0);
    //  Bounds hold on the way out as on the way in
    s_every_t bad = every;
    bad.text = HC_STR_LIT ("123456789");
    assert (msg_encode (enc, &s_every, &bad) == -1);
    bad = every;
    bad.level = 4;
    assert (msg_encode (enc, &s_every, &bad) == -1);
    bad = every;
    bad.raw = HC_STR_LIT ("");
    assert (msg_encode (enc, &s_every, &bad) == -1);
    bad = every;
    bad.conns_n = 0;
    assert (msg_encode (enc, &s_every, &bad) == -1);
    hc_field_t deep [MSG_MAX_DEPTH + 1];
    for (int i = 0; i <= MSG_MAX_DEPTH; i++)
        deep [i] = i == MSG_MAX_DEPTH ? hc_field_int ("n", 1)
                                      : hc_field_obj ("o", &deep [i + 1], 1);
    bad = every;
    bad.fields = deep;
    bad.fields_n = 1;
    assert (msg_encode (enc, &s_every, &bad) == -1);
    bad.fields_n = 0;
    bad.fields = NULL;
    assert (msg_encode (enc, &s_every, &bad) == 0);

    //  Malformed bodies are refused with a reason, never trusted
    s_every_t m;
    assert (msg_decode (dec, &s_every, "", 0, &m) == -1);
    assert (msg_decode (dec, &s_every, "\xc1", 1, &m) == -1);  //  never used
    assert (msg_decode (dec, &s_every, "\x81\xa1" "a", 3, &m) == -1);
    assert (msg_encode (enc, &s_every, &every) == 0);
    char extra [512];
    assert (msg_enc_size (enc) < sizeof (extra));
    memcpy (extra, msg_enc_data (enc), msg_enc_size (enc));
    extra [msg_enc_size (enc)] = 0x00;
    assert (msg_decode (dec, &s_every, extra, msg_enc_size (enc) + 1, &m)
            == -1);
    assert (strcmp (msg_dec_error (dec), "bytes after the body") == 0);
    //  A container that claims more elements than there are bytes
    assert (msg_decode (dec, &s_every, "\xdd\xdd\xdd\xdd\xdd\x81\x21", 7, &m)
            == -1);
    assert (msg_decode (dec, &s_every, "\x81\xa1" "a\xdc\xff\xff", 6, &m)
            == -1);
    //  Maps written byte by byte: a number that is a string, an unknown
    //  key, a key twice, an array, text that is not UTF-8, an enum too big
    struct {
        const char *body;
        size_t size;
        const char *why;
    } bad_bodies [] = {
        {"\x81\xa1" "a\xa1" "7", 5, "expected an unsigned integer"},
        {"\x81\xa2" "zz\xc0", 5, "unknown key"},
        {"\x82\xa1" "a\x07\xa1" "a\x08", 7, "duplicate key"},
        {"\x91\x07", 2, "body is not a map"},
        {"\x81\xa1" "h\xa2\xff\xfe", 6, "string is not UTF-8"},
        {"\x81\xa1" "d\x09", 4, "enumeration out of range"},
    };
    for (size_t i = 0; i < sizeof (bad_bodies) / sizeof (bad_bodies [0]);
         i++) {
        assert (msg_decode (dec, &s_every, bad_bodies [i].body,
                            bad_bodies [i].size, &m) == -1);
        assert (strcmp (msg_dec_error (dec), bad_bodies [i].why) == 0);
    }

    msg_enc_destroy (&enc);
    msg_dec_destroy (&dec);
    assert (enc == NULL && dec == NULL);
    msg_enc_destroy (&enc);         //  idempotent
    if (verbose)
        printf ("OK\n");
}
