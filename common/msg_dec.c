/*  msg_dec.c - the decoder: checks and places a body by walking its
    kind's table

    Reads the msgpack bytes in place with a cursor (s_rd_t): no object
    tree, no allocation, so nothing a forged length asks for is ever
    allocated, and a decode costs one pass over the body's headers.
    Integers are classed as msgpack-c classes them: a signed encoding of a
    value >= 0 is a positive integer.
*/
#include "msg.h"
#include "utf8.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define KEYS_MAX 32             //  keys of one kind

struct _msg_dec_t {
    const char *error;          //  why the last decode failed
    uint64_t conns [MSG_MAX_CONNS];       //  decoded OUT recipients
    hc_field_t fields [MSG_MAX_FIELDS];   //  decoded frame members
    size_t fields_used;         //  slots of fields taken by this decode
    hc_str_t ids [MSG_MAX_P2P_IDS];       //  decoded p2p callees
};

msg_dec_t *
msg_dec_new (void)
{
    return (msg_dec_t *) calloc (1, sizeof (msg_dec_t));
}

void
msg_dec_destroy (msg_dec_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
msg_dec_error (msg_dec_t *self)
{
    return self->error ? self->error : "no error";
}

static int
s_fail (msg_dec_t *self, const char *why)
{
    self->error = why;
    return -1;
}

//  ---------------------------------------------------------------------
//  The cursor: one value's header at a time

typedef struct {
    const uint8_t *p, *end;
} s_rd_t;

typedef enum {
    S_NIL, S_BOOL, S_POS, S_NEG, S_STR, S_BIN, S_ARRAY, S_MAP,
    S_OTHER                     //  float or ext: no key takes one
} s_class_t;

//  One value as read: a scalar, a string's bytes (skipped over), or a
//  container's element count (its elements follow)
typedef struct {
    s_class_t cls;
    bool flag;                  //  S_BOOL
    uint64_t u;                 //  S_POS; S_NEG as int64_t; counts; lengths
    const char *ptr;            //  S_STR, S_BIN
} s_val_t;

static inline uint64_t
s_be (const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p [i];
    return v;
}

//  Reads the next value's header into v; false if the body ends first or
//  the byte is one msgpack never uses
static bool
s_read (s_rd_t *rd, s_val_t *v)
{
    if (rd->p >= rd->end)
        return false;
    uint8_t c = *rd->p++;
    size_t avail = (size_t) (rd->end - rd->p);
    size_t n = 0;               //  bytes of the number or length after c
    if (c <= 0x7f) {
        v->cls = S_POS;
        v->u = c;
        return true;
    }
    if (c >= 0xe0) {
        v->cls = S_NEG;
        v->u = (uint64_t) (int64_t) (int8_t) c;
        return true;
    }
    if (c <= 0x8f || (c >= 0x90 && c <= 0x9f)) {
        v->cls = c <= 0x8f ? S_MAP : S_ARRAY;
        v->u = c & 0x0f;
        //  every element takes a byte at least
        return v->u * (v->cls == S_MAP ? 2 : 1) <= avail;
    }
    if (c <= 0xbf) {
        v->cls = S_STR;
        v->u = c & 0x1f;
        goto body;
    }
    switch (c) {
        case 0xc0: v->cls = S_NIL; return true;
        case 0xc2: case 0xc3: v->cls = S_BOOL; v->flag = c == 0xc3; return true;
        case 0xc4: case 0xc5: case 0xc6:
            v->cls = S_BIN;
            n = (size_t) 1 << (c - 0xc4);
            break;
        case 0xd9: case 0xda: case 0xdb:
            v->cls = S_STR;
            n = (size_t) 1 << (c - 0xd9);
            break;
        case 0xcc: case 0xcd: case 0xce: case 0xcf:
            n = (size_t) 1 << (c - 0xcc);
            if (avail < n)
                return false;
            v->cls = S_POS;
            v->u = s_be (rd->p, n);
            rd->p += n;
            return true;
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            n = (size_t) 1 << (c - 0xd0);
            if (avail < n)
                return false;
            uint64_t raw = s_be (rd->p, n);
            rd->p += n;
            int64_t value = n == 1 ? (int8_t) raw : n == 2 ? (int16_t) raw
                          : n == 4 ? (int32_t) raw : (int64_t) raw;
            v->cls = value >= 0 ? S_POS : S_NEG;
            v->u = (uint64_t) value;
            return true;
        }
        case 0xdc: case 0xdd: case 0xde: case 0xdf:
            n = c == 0xdc || c == 0xde ? 2 : 4;
            if (avail < n)
                return false;
            v->cls = c <= 0xdd ? S_ARRAY : S_MAP;
            v->u = s_be (rd->p, n);
            rd->p += n;
            return v->u * (v->cls == S_MAP ? 2 : 1) <= avail - n;
        case 0xc1:
            return false;       //  never used
        default:
            v->cls = S_OTHER;   //  floats and exts: refused by every key
            return true;
    }
    if (avail < n)
        return false;
    v->u = s_be (rd->p, n);
    rd->p += n;
body:
    if (v->u > (uint64_t) (rd->end - rd->p))
        return false;
    //  A zero-length string keeps a pointer: "present" stays apart
    v->ptr = (const char *) rd->p;
    rd->p += v->u;
    return true;
}

//  ---------------------------------------------------------------------
//  Values

static int
s_read_value (msg_dec_t *self, s_rd_t *rd, s_val_t *v)
{
    return s_read (rd, v) ? 0 : s_fail (self, "not msgpack");
}

static int
s_decode_str (msg_dec_t *self, const s_val_t *v, hc_str_t *s)
{
    if (v->cls != S_STR)
        return s_fail (self, "expected a string");
    if (!utf8_valid (v->ptr, v->u))
        return s_fail (self, "string is not UTF-8");
    *s = (hc_str_t){v->ptr, v->u};
    return 0;
}

static int
s_decode_bin (msg_dec_t *self, const s_val_t *v, hc_str_t *s)
{
    if (v->cls != S_BIN)
        return s_fail (self, "expected raw bytes");
    if (!utf8_valid (v->ptr, v->u))
        return s_fail (self, "raw JSON is not UTF-8");
    *s = (hc_str_t){v->ptr, v->u};
    return 0;
}

//  An unsigned integer of at most max
static int
s_decode_uint (msg_dec_t *self, const s_val_t *v, uint64_t max,
               const char *why, uint64_t *value)
{
    if (v->cls != S_POS || v->u > max)
        return s_fail (self, why);
    *value = v->u;
    return 0;
}

static int
    s_decode_fields (msg_dec_t *self, s_rd_t *rd, const s_val_t *v,
                     int depth, msg_members_t members,
                     const hc_field_t **fields, size_t *n);

//  Places one value; bounds are checked after, as for the encoder
static int
s_decode_value (msg_dec_t *self, const msg_key_t *spec, s_rd_t *rd, void *m)
{
    s_val_t v;
    if (s_read_value (self, rd, &v))
        return -1;
    uint64_t u = 0;
    switch (spec->type) {
        case MSG_U64:
            return s_decode_uint (self, &v, UINT64_MAX, "expected an unsigned "
                                  "integer", MSG_AT (m, spec->offset, uint64_t));
        case MSG_U32:
            if (s_decode_uint (self, &v, UINT32_MAX, "expected a 32-bit "
                               "unsigned integer", &u))
                return -1;
            *MSG_AT (m, spec->offset, uint32_t) = (uint32_t) u;
            return 0;
        case MSG_U16:
            if (s_decode_uint (self, &v, UINT16_MAX, "expected a 16-bit "
                               "unsigned integer", &u))
                return -1;
            *MSG_AT (m, spec->offset, uint16_t) = (uint16_t) u;
            return 0;
        case MSG_ENUM:
            if (s_decode_uint (self, &v, spec->max, "enumeration out of range",
                               &u))
                return -1;
            *MSG_AT (m, spec->offset, int) = (int) u;
            return 0;
        case MSG_I64:
            if (v.cls == S_POS && v.u > INT64_MAX)
                return s_fail (self, "integer out of range");
            if (v.cls != S_POS && v.cls != S_NEG)
                return s_fail (self, "expected an integer");
            *MSG_AT (m, spec->offset, int64_t) = (int64_t) v.u;
            return 0;
        case MSG_BOOL:
        case MSG_TRUE:
            if (v.cls != S_BOOL || (spec->type == MSG_TRUE && !v.flag))
                return s_fail (self, spec->type == MSG_TRUE
                                     ? "expected true"
                                     : "expected true or false");
            *MSG_AT (m, spec->offset, bool) = v.flag;
            return 0;
        case MSG_STR:
            return s_decode_str (self, &v, MSG_AT (m, spec->offset, hc_str_t));
        case MSG_BIN:
            return s_decode_bin (self, &v, MSG_AT (m, spec->offset, hc_str_t));
        case MSG_CONNS: {
            if (v.cls != S_ARRAY)
                return s_fail (self, "expected an array of connection ids");
            if (v.u > MSG_MAX_CONNS)
                return s_fail (self, "bad number of connection ids");
            for (uint64_t i = 0; i < v.u; i++) {
                s_val_t id;
                if (s_read_value (self, rd, &id)
                ||  s_decode_uint (self, &id, UINT64_MAX, "connection id is "
                                   "not an integer", &self->conns [i]))
                    return -1;
            }
            *MSG_AT (m, spec->offset, const uint64_t *) = self->conns;
            *MSG_AT (m, spec->count_offset, size_t) = v.u;
            return 0;
        }
        case MSG_IDS: {
            if (v.cls != S_ARRAY)
                return s_fail (self, "expected an array of ids");
            if (v.u > MSG_MAX_P2P_IDS)
                return s_fail (self, "too many ids");
            for (uint64_t i = 0; i < v.u; i++) {
                s_val_t id;
                if (s_read_value (self, rd, &id)
                ||  s_decode_str (self, &id, &self->ids [i]))
                    return -1;
            }
            *MSG_AT (m, spec->offset, const hc_str_t *) = self->ids;
            *MSG_AT (m, spec->count_offset, size_t) = v.u;
            return 0;
        }
        case MSG_FIELDS:
            return s_decode_fields (self, rd, &v, 1, spec->members,
                                    MSG_AT (m, spec->offset, const hc_field_t *),
                                    MSG_AT (m, spec->count_offset, size_t));
    }
    return s_fail (self, "internal: unknown key type");
}

//  Frame members: keys are strings, values one of the hc_vtype_t kinds.
//  Each object's members take a contiguous run of self->fields.
static int
s_decode_fields (msg_dec_t *self, s_rd_t *rd, const s_val_t *v, int depth,
                 msg_members_t members, const hc_field_t **fields, size_t *n)
{
    if (v->cls != S_MAP)
        return s_fail (self, "frame is not a map");
    if (depth > MSG_MAX_DEPTH)
        return s_fail (self, "frame nested too deep");
    if (v->u > MSG_MAX_FIELDS - self->fields_used)
        return s_fail (self, "frame has too many members");
    size_t count = (size_t) v->u;
    hc_field_t *run = &self->fields [self->fields_used];
    self->fields_used += count;
    for (size_t i = 0; i < count; i++) {
        hc_field_t *f = &run [i];
        memset (f, 0, sizeof (*f));
        s_val_t key, val;
        if (s_read_value (self, rd, &key)
        ||  s_decode_str (self, &key, &f->key)
        ||  s_read_value (self, rd, &val))
            return -1;
        switch (val.cls) {
            case S_STR:
                f->type = HC_V_STR;
                if (s_decode_str (self, &val, &f->str))
                    return -1;
                break;
            case S_BIN:
                f->type = HC_V_RAW;
                if (s_decode_bin (self, &val, &f->str))
                    return -1;
                break;
            case S_POS:
                if (val.u > INT64_MAX)
                    return s_fail (self, "integer out of range");
                //  fall through
            case S_NEG:
                f->type = HC_V_INT;
                f->num = (int64_t) val.u;
                break;
            case S_BOOL:
                f->type = HC_V_BOOL;
                f->flag = val.flag;
                break;
            case S_NIL:
                f->type = HC_V_NULL;
                break;
            case S_MAP:
                f->type = HC_V_OBJ;
                if (s_decode_fields (self, rd, &val, depth + 1, members,
                                     &f->obj, &f->obj_n))
                    return -1;
                break;
            default:
                return s_fail (self, "frame member of unsupported type");
        }
        const char *why = msg_member_refused (f, members);
        if (why)
            return s_fail (self, why);
    }
    *fields = run;
    *n = count;
    return 0;
}

//  True when the wire's key (size bytes at ptr) is name
static inline bool
s_key_is (const char *name, const char *ptr, size_t size)
{
    size_t i = 0;
    while (i < size && name [i] && name [i] == ptr [i])
        i++;
    return size && i == size && name [size] == 0;
}

int
msg_decode (msg_dec_t *self, const msg_kind_t *kind, const void *data,
            size_t size, void *m)
{
    assert (kind->keys_n <= KEYS_MAX);
    memset (m, 0, kind->size);
    self->error = NULL;
    self->fields_used = 0;
    if (!data || size == 0)
        return s_fail (self, "empty body");
    s_rd_t rd = {(const uint8_t *) data, (const uint8_t *) data + size};
    s_val_t map;
    if (s_read_value (self, &rd, &map))
        return -1;
    if (map.cls != S_MAP)
        return s_fail (self, "body is not a map");
    bool seen [KEYS_MAX] = {false};
    size_t next = 0;
    for (uint64_t i = 0; i < map.u; i++) {
        s_val_t key;
        if (s_read_value (self, &rd, &key))
            return -1;
        if (key.cls != S_STR)
            return s_fail (self, "key is not a string");
        //  Our encoder writes keys in table order: look from the one after
        //  the last found, so each is found at the first try
        size_t k = next, tries = 0;
        while (tries < kind->keys_n
               && !s_key_is (kind->keys [k].key, key.ptr, key.u)) {
            k = k + 1 < kind->keys_n ? k + 1 : 0;
            tries++;
        }
        if (tries == kind->keys_n)
            return s_fail (self, "unknown key");
        next = k + 1 < kind->keys_n ? k + 1 : 0;
        if (seen [k])
            return s_fail (self, "duplicate key");
        seen [k] = true;
        const msg_key_t *spec = &kind->keys [k];
        if (s_decode_value (self, spec, &rd, m))
            return -1;
        //  Frame members were checked as they were decoded
        const char *why = MSG_BOUNDED (spec) && spec->type != MSG_FIELDS
                        ? msg_key_refused (spec, m) : NULL;
        if (why)
            return s_fail (self, why);
    }
    if (rd.p != rd.end)
        return s_fail (self, "bytes after the body");
    for (size_t k = 0; k < kind->keys_n; k++)
        if (kind->keys [k].required && !seen [k])
            return s_fail (self, "required key missing");
    const char *why = kind->check ? kind->check (m) : NULL;
    return why ? s_fail (self, why) : 0;
}
