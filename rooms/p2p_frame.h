/*  p2p_frame.h - builds p2p frames with JavaScript object semantics

    The original server built frames as {type, ...payload, userId, ...}: a
    member set again keeps the place of its first setting and takes the
    new value. p2p_frame_set does exactly that, so frames come out with the
    original's key order. Values are not copied (they must outlive the
    frame) unless the frame is kept with p2p_frame_keep.
*/
#ifndef P2P_FRAME_H_INCLUDED
#define P2P_FRAME_H_INCLUDED

#include "../common/hc_types.h"

#define P2P_FRAME_MAX 96        //  members of one frame

typedef struct {
    hc_field_t fields [P2P_FRAME_MAX];
    size_t n;
} p2p_frame_t;

//  A frame that owns copies of its keys and values (a waiting-list entry)
typedef struct _p2p_kept_t p2p_kept_t;

void
    p2p_frame_init (p2p_frame_t *self, const char *type);
//  Sets a member: replaces the value of an existing key in place, or
//  appends. Members past P2P_FRAME_MAX are dropped (the gateway never
//  sends frames that large).
void
    p2p_frame_set (p2p_frame_t *self, hc_field_t field);
//  Sets every member of fields except one named "type": the frame's own
//  type always wins (the original let a payload override it)
void
    p2p_frame_merge (p2p_frame_t *self, const hc_field_t *fields, size_t n);

//  Deep copies of flat frames (STR, RAW, INT values)
p2p_kept_t *
    p2p_kept_new (const hc_field_t *fields, size_t n);
void
    p2p_kept_destroy (p2p_kept_t **self_p);
const hc_field_t *
    p2p_kept_fields (const p2p_kept_t *self, size_t *n);
//  Replaces or appends one member of a kept frame
void
    p2p_kept_set (p2p_kept_t *self, hc_field_t field);

void
    p2p_frame_test (bool verbose);

#endif
