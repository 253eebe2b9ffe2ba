/*  p2p_outbox.h - where p2p frames go: a user's devices, one connection

    Delivery to a user follows the original's rule: its active record (the
    first that is not idle), or every connection when none is active, so
    all devices ring. A detached record (conn 0, in its reconnect grace)
    gets nothing. Error frames go to the one connection that asked, with a
    bounded echo of what it sent: its first members, none longer than the
    value bound.
*/
#ifndef P2P_OUTBOX_H_INCLUDED
#define P2P_OUTBOX_H_INCLUDED

#include "p2p_cfg.h"
#include "p2p_users.h"
#include "rooms_sink.h"

#define P2P_OUTBOX_CONTEXT_MAX 16       //  members an error's context echoes
#define P2P_OUTBOX_VALUE_MAX 1024       //  bytes of one echoed value

typedef struct _p2p_outbox_t p2p_outbox_t;

//  Frames leave through sink; a user has at most cfg->max_devices
//  connections
p2p_outbox_t *
    p2p_outbox_new (const p2p_calls_cfg_t *cfg, const rooms_sink_t *sink);
void
    p2p_outbox_destroy (p2p_outbox_t **self_p);

//  {"type":"error","message":M,"handler":H,"context":{...}} to conn; the
//  context echoes at most a bounded part of the members given
void
    p2p_outbox_error (p2p_outbox_t *self, uint64_t conn, const char *message,
                      const char *handler, const hc_field_t *context,
                      size_t context_n);
//  The same, to the command's connection, echoing its payload
void
    p2p_outbox_error_echo (p2p_outbox_t *self, const msg_p2p_t *cmd,
                           const char *message, const char *handler);

//  To the user's active record, or to every connection when none is active
void
    p2p_outbox_user (p2p_outbox_t *self, const p2p_user_t *user,
                     const p2p_frame_t *frame);
void
    p2p_outbox_conn (p2p_outbox_t *self, uint64_t conn,
                     const p2p_frame_t *frame);
//  {"type":"cancel"} to every idle connection of the user
void
    p2p_outbox_cancel (p2p_outbox_t *self, const p2p_user_t *user);
//  {"type":"remoteStreamsId","streamIds":{kind: id, ...}} of from, to to
void
    p2p_outbox_streams (p2p_outbox_t *self, const p2p_user_t *to,
                        const p2p_record_t *from);

//  Self test (tests/unit/p2p_outbox_test.c)
void
    p2p_outbox_test (bool verbose);

#endif
