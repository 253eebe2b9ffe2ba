/*  hc_types.h - small value types shared by every actor

    A string slice, the dialect of a connection, connection ids and the
    "frame" description that rooms hands to the gateway: an ordered list of
    JSON members whose values are either plain data or raw JSON text that
    the gateway splices back unchanged.
*/
#ifndef HC_TYPES_H_INCLUDED
#define HC_TYPES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  A byte slice that does not own its bytes. ptr == NULL means "absent",
//  which is different from an empty string (ptr != NULL, len == 0).
typedef struct {
    const char *ptr;
    size_t len;
} hc_str_t;

#define HC_STR_NULL ((hc_str_t){NULL, 0})
#define HC_STR_LIT(s) ((hc_str_t){(s), sizeof (s) - 1})

static inline hc_str_t
hc_str (const char *cstr)
{
    return (hc_str_t){cstr, cstr ? strlen (cstr) : 0};
}

static inline bool
hc_str_present (hc_str_t s)
{
    return s.ptr != NULL;
}

static inline bool
hc_str_eq (hc_str_t a, hc_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp (a.ptr, b.ptr, a.len) == 0);
}

static inline bool
hc_str_eq_cstr (hc_str_t a, const char *b)
{
    return hc_str_eq (a, hc_str (b));
}

static inline bool
hc_str_starts (hc_str_t s, const char *prefix)
{
    size_t n = strlen (prefix);
    return s.len >= n && memcmp (s.ptr, prefix, n) == 0;
}

//  Is s one of the strings of a NULL-terminated list?
static inline bool
hc_str_in (hc_str_t s, const char *const *list)
{
    for (; *list; list++)
        if (hc_str_eq_cstr (s, *list))
            return true;
    return false;
}

//  The next entry of a comma-separated list at *p, with the spaces around
//  it taken off (empty entries are skipped); false when none is left
static inline bool
hc_list_next (const char **p, hc_str_t *entry)
{
    while (**p == ',' || **p == ' ' || **p == '\t')
        (*p)++;
    if (!**p)
        return false;
    size_t len = strcspn (*p, ",");
    entry->ptr = *p;
    *p += len;
    while (len && (entry->ptr [len - 1] == ' ' || entry->ptr [len - 1] == '\t'))
        len--;
    entry->len = len;
    return true;
}

typedef enum {
    HC_DIALECT_SIGNAL = 0,      //  /signal: rooms keyed by a code word
    HC_DIALECT_P2P = 1          //  any other path: 1:1 calls between user ids
} hc_dialect_t;

//  "signal" or "p2p", for logs and traces
static inline const char *
hc_dialect_name (hc_dialect_t dialect)
{
    return dialect == HC_DIALECT_SIGNAL ? "signal" : "p2p";
}

//  A connection id is unique across gateways: the high 32 bits are the
//  gateway's instance number (random, non-zero, per process start), the low
//  32 bits a counter. Rooms derives the gateway's routing id from it.
static inline uint32_t
hc_conn_gateway (uint64_t conn)
{
    return (uint32_t) (conn >> 32);
}

//  How ids appear in logs, events and traces: 16 and 8 hex digits
static inline void
hc_conn_hex (uint64_t conn, char hex [17])
{
    snprintf (hex, 17, "%016" PRIx64, conn);
}

static inline void
hc_gateway_hex (uint32_t gateway, char hex [9])
{
    snprintf (hex, 9, "%08" PRIx32, gateway);
}

//  How a frame member's value is written as JSON by the gateway.
typedef enum {
    HC_V_STR,       //  text, written as a JSON string (escaped)
    HC_V_RAW,       //  JSON text received from a client, spliced as is
    HC_V_INT,       //  integer
    HC_V_BOOL,      //  true / false
    HC_V_NULL,      //  null
    HC_V_OBJ        //  nested object: obj[0..obj_n)
} hc_vtype_t;

typedef struct hc_field_s hc_field_t;
struct hc_field_s {
    hc_str_t key;               //  member name (plain text, escaped on output)
    hc_vtype_t type;            //  which of the value members is valid
    hc_str_t str;               //  HC_V_STR and HC_V_RAW
    int64_t num;                //  HC_V_INT
    bool flag;                  //  HC_V_BOOL
    const hc_field_t *obj;      //  HC_V_OBJ: members, in order
    size_t obj_n;               //  HC_V_OBJ: number of members
};

//  Fields built on the stack: the key and the value's type, then the value
//  members that type uses. The value is the variadic part, so that the
//  commas of a compound literal such as (hc_str_t){p, n} pass through.
#define HC_FIELD(key_, vtype, ...) \
    ((hc_field_t){.key = hc_str (key_), .type = (vtype), __VA_ARGS__})
#define hc_field_str(key, ...) HC_FIELD (key, HC_V_STR, .str = (__VA_ARGS__))
#define hc_field_raw(key, ...) HC_FIELD (key, HC_V_RAW, .str = (__VA_ARGS__))
#define hc_field_int(key, ...) HC_FIELD (key, HC_V_INT, .num = (__VA_ARGS__))
#define hc_field_bool(key, ...) HC_FIELD (key, HC_V_BOOL, .flag = (__VA_ARGS__))
#define hc_field_obj(key, members, n) \
    HC_FIELD (key, HC_V_OBJ, .obj = (members), .obj_n = (n))

#endif
