/*  p2p_frame.c - builds p2p frames with JavaScript object semantics */
#include "p2p_frame.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>

struct _p2p_kept_t {
    hc_field_t *fields;         //  keys and text values point into own
    size_t n;
    char **own;                 //  one allocation per member
};

void
p2p_frame_init (p2p_frame_t *self, const char *type)
{
    self->n = 0;
    p2p_frame_set (self, hc_field_str ("type", hc_str (type)));
}

void
p2p_frame_set (p2p_frame_t *self, hc_field_t field)
{
    for (size_t i = 0; i < self->n; i++)
        if (hc_str_eq (self->fields [i].key, field.key)) {
            self->fields [i] = field;
            return;
        }
    if (self->n < P2P_FRAME_MAX)
        self->fields [self->n++] = field;
}

void
p2p_frame_merge (p2p_frame_t *self, const hc_field_t *fields, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!hc_str_eq_cstr (fields [i].key, "type"))
            p2p_frame_set (self, fields [i]);
}

//  One allocation holds a member's key and text value
static char *
s_keep_member (hc_field_t *dst, const hc_field_t *src)
{
    assert (src->type != HC_V_OBJ);
    char *block = (char *) malloc (src->key.len + src->str.len + 2);
    assert (block);
    memcpy (block, src->key.ptr, src->key.len);
    block [src->key.len] = 0;
    char *text = block + src->key.len + 1;
    if (src->str.len)
        memcpy (text, src->str.ptr, src->str.len);
    text [src->str.len] = 0;
    *dst = *src;
    dst->key = (hc_str_t){block, src->key.len};
    if (src->type == HC_V_STR || src->type == HC_V_RAW)
        dst->str = (hc_str_t){text, src->str.len};
    return block;
}

p2p_kept_t *
p2p_kept_new (const hc_field_t *fields, size_t n)
{
    p2p_kept_t *self = (p2p_kept_t *) calloc (1, sizeof (p2p_kept_t));
    assert (self);
    self->fields = (hc_field_t *) calloc (P2P_FRAME_MAX, sizeof (hc_field_t));
    self->own = (char **) calloc (P2P_FRAME_MAX, sizeof (char *));
    assert (self->fields && self->own);
    for (size_t i = 0; i < n && i < P2P_FRAME_MAX; i++)
        p2p_kept_set (self, fields [i]);
    return self;
}

void
p2p_kept_destroy (p2p_kept_t **self_p)
{
    p2p_kept_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n; i++)
        free (self->own [i]);
    free (self->own);
    free (self->fields);
    free (self);
    *self_p = NULL;
}

const hc_field_t *
p2p_kept_fields (const p2p_kept_t *self, size_t *n)
{
    *n = self->n;
    return self->fields;
}

void
p2p_kept_set (p2p_kept_t *self, hc_field_t field)
{
    size_t at;
    for (at = 0; at < self->n; at++)
        if (hc_str_eq (self->fields [at].key, field.key))
            break;
    if (at == P2P_FRAME_MAX)
        return;
    char *old = at < self->n ? self->own [at] : NULL;
    self->own [at] = s_keep_member (&self->fields [at], &field);
    free (old);
    if (at == self->n)
        self->n++;
}

void
p2p_frame_test (bool verbose)
{
    if (verbose)
        printf (" * p2p_frame: ");
    p2p_frame_t frame;
    p2p_frame_init (&frame, "call");
    hc_field_t payload [] = {
        hc_field_raw ("type", HC_STR_LIT ("\"offer\"")),   //  must not win
        hc_field_raw ("photo", HC_STR_LIT ("\"p.png\"")),
        hc_field_raw ("sdp", HC_STR_LIT ("\"S\"")),
    };
    p2p_frame_merge (&frame, payload, 3);
    p2p_frame_set (&frame, hc_field_raw ("userId", HC_STR_LIT ("\"a\"")));
    p2p_frame_set (&frame, hc_field_raw ("photo", HC_STR_LIT ("\"\"")));
    assert (frame.n == 4);
    assert (hc_str_eq_cstr (frame.fields [0].str, "call"));
    //  photo keeps the payload's place and takes the later value
    assert (hc_str_eq_cstr (frame.fields [1].key, "photo"));
    assert (hc_str_eq_cstr (frame.fields [1].str, "\"\""));
    assert (hc_str_eq_cstr (frame.fields [3].key, "userId"));
    assert (hc_str_eq_cstr (frame.fields [2].key, "sdp"));

    //  Kept frames own their bytes
    char key [] = "offer";
    char value [] = "{\"sdp\":\"x\"}";
    hc_field_t field = hc_field_raw (key, hc_str (value));
    p2p_kept_t *kept = p2p_kept_new (&field, 1);
    key [0] = 'X';
    value [1] = 'X';
    p2p_kept_set (kept, hc_field_int ("addedAt", 42));
    p2p_kept_set (kept, hc_field_int ("addedAt", 43));
    size_t n;
    const hc_field_t *fields = p2p_kept_fields (kept, &n);
    assert (n == 2);
    assert (hc_str_eq_cstr (fields [0].key, "offer"));
    assert (hc_str_eq_cstr (fields [0].str, "{\"sdp\":\"x\"}"));
    assert (fields [1].type == HC_V_INT && fields [1].num == 43);
    p2p_kept_destroy (&kept);
    assert (kept == NULL);
    if (verbose)
        printf ("OK\n");
}
