/*  gw_session.h - one WebSocket connection's state in the gateway

    Lives in libwebsockets' per-session memory, so it is created zeroed by
    lws and must be cleared (gw_session_clear) when the connection closes.
    Holds the reassembly buffer of a fragmented message, the bounded queue
    of frames waiting for WRITEABLE, and the token bucket of the rate limit.
*/
#ifndef GW_SESSION_H_INCLUDED
#define GW_SESSION_H_INCLUDED

#include "../common/buf.h"
#include "../common/netlist.h"

#include <libwebsockets.h>

//  One outbound frame, shared by every session it goes to. data has LWS_PRE
//  bytes of head room in front of the payload, as lws_write needs.
typedef struct {
    int refs;                   //  sessions (and the sender) holding it
    size_t len;                 //  payload bytes (JSON text)
    unsigned char data [];      //  LWS_PRE + len
} gw_outbuf_t;

gw_outbuf_t *
    gw_outbuf_new (const void *payload, size_t len);
void
    gw_outbuf_release (gw_outbuf_t **self_p);
static inline unsigned char *
gw_outbuf_payload (gw_outbuf_t *self)
{
    return self->data + LWS_PRE;
}

typedef enum {
    GW_RATE_OK,                 //  under the limit
    GW_RATE_DROP,               //  over: drop the frame quietly
    GW_RATE_DROP_TELL,          //  over: drop it and tell the client (once
                                //  per second)
    GW_RATE_CLOSE               //  a flood: close the connection
} gw_rate_t;

typedef struct {
    uint64_t id;                //  connection id (0 until established)
    struct lws *wsi;            //  its lws handle
    int dialect;                //  hc_dialect_t
    bool registered;            //  in the gateway's table
    bool closing;               //  close once the queue is flushed
    uint16_t close_code;        //  WebSocket close code to send
    char close_reason [124];    //  and its reason (at most 123 bytes)
    hc_buf_t rx;                //  fragments of the current message
    bool rx_binary;             //  the current message is binary
    bool rx_open;               //  a message has begun and not ended
    bool rx_mid_frame;          //  lws has more of the current frame
    bool rx_dropped;            //  the current message is over the rate
    bool wrote_last;            //  the last WRITEABLE wrote something
    gw_outbuf_t **ring;         //  queued frames, oldest at ring_head
    size_t ring_cap;
    size_t ring_head;
    size_t ring_len;
    size_t out_bytes;           //  payload bytes queued
    double tokens;              //  rate limit bucket
    double refilled_at;         //  seconds, event loop time
    double told_at;             //  last rate_limited error sent
    double last_seen;           //  last frame or pong from the client
    double last_app_ping;       //  p2p: last PING (the dialect's heartbeat)
    double pinged_at;           //  last ping we decided to send
    bool ping_due;              //  send a ping at the next WRITEABLE
    bool timed_out;             //  dropped for silence
    unsigned flood;             //  frames dropped in a row
    char peer [HC_ADDR_TEXT];   //  client address (behind a trusted proxy,
                                //  the one it forwarded), set at the filter
    char via [HC_ADDR_TEXT];    //  that proxy's address, or ""
    uint16_t peer_close_code;   //  close code the client sent (0: none)
} gw_session_t;

//  Frees what the session holds; safe on a zeroed session
void
    gw_session_clear (gw_session_t *self);
//  Frees the queued frames (the client will not get them)
void
    gw_session_drop_queue (gw_session_t *self);
//  Queues a frame (taking a reference); -1 if that would exceed max_bytes
int
    gw_session_push (gw_session_t *self, gw_outbuf_t *buf, size_t max_bytes);
//  Frames queued
static inline size_t
gw_session_queued (const gw_session_t *self)
{
    return self->ring_len;
}
//  The oldest queued frame, or NULL; the caller releases it
gw_outbuf_t *
    gw_session_pop (gw_session_t *self);
//  Charges one inbound frame to the token bucket
gw_rate_t
    gw_session_rate (gw_session_t *self, double now, double rate,
                     double burst);
//  Asks for a close with this code and reason once the queue is flushed
void
    gw_session_close_after_flush (gw_session_t *self, uint16_t code,
                                  const char *reason);

void
    gw_session_test (bool verbose);

#endif
