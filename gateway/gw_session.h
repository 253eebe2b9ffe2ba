/*  gw_session.h - one WebSocket connection's state in the gateway

    Lives in libwebsockets' per-session memory, so it is created zeroed by
    lws and must be cleared (gw_session_clear) when the connection closes.
    Holds the reassembly of a message lws hands over in pieces (and its
    rules), the bounded queue of frames waiting for WRITEABLE, and the
    token bucket of the rate limit.
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

//  What a piece of an inbound message makes (gw_session_rx)
typedef enum {
    GW_RX_WAIT,                 //  nothing whole yet, or the message goes
    GW_RX_WHOLE,                //  a whole message is ready
    GW_RX_TOO_LARGE,            //  it would be over the maximum: 1009
    GW_RX_NO_MEMORY             //  reassembly failed: 1011
} gw_rx_t;

typedef struct {
    const char *data;           //  GW_RX_WHOLE: the message (the piece
                                //  itself, or the session's buffer)
    size_t len;                 //  its size; GW_RX_TOO_LARGE: the size
                                //  it would have had at least
    bool binary;                //  sent as binary frames
} gw_rx_message_t;

//  One of these per connection, for its whole life: an idle connection's
//  memory (docs/performance.md) is mostly this and what lws keeps, so
//  fields are ordered to leave no holes, and the close reason, needed
//  only at the end, is allocated then.
typedef struct {
    //  What the liveness scan reads of every connection, four times per
    //  PING_INTERVAL, first: in one cache line (gw_liveness.h)
    double last_seen;           //  last frame or pong from the client
    double pinged_at;           //  last ping we decided to send
    struct lws *wsi;            //  its lws handle
    uint8_t dialect;            //  hc_dialect_t
    bool timed_out;             //  dropped for silence
    bool closing;               //  close once the queue is flushed
    bool ping_due;              //  send a ping at the next WRITEABLE
    bool registered;            //  in the gateway's table
    bool rx_binary;             //  the current message is binary
    bool rx_open;               //  a message has begun and not ended
    bool rx_mid_frame;          //  lws has more of the current frame
    uint64_t id;                //  connection id (0 until established)
    double last_app_ping;       //  p2p: last PING (the dialect's heartbeat)
    char *close_reason;         //  WebSocket close reason to send (at most
                                //  123 bytes), NULL until closing (or
                                //  if there was no memory for it)
    hc_buf_t rx;                //  fragments of the current message
    gw_outbuf_t **ring;         //  queued frames, oldest at ring_head
    uint32_t ring_cap;
    uint32_t ring_head;
    uint32_t ring_len;
    unsigned flood;             //  frames dropped in a row
    size_t out_bytes;           //  payload bytes queued
    float tokens;               //  rate limit bucket (at most the burst)
    uint16_t close_code;        //  WebSocket close code to send
    uint16_t peer_close_code;   //  close code the client sent (0: none)
    double refilled_at;         //  seconds, event loop time
    double told_at;             //  last rate_limited error sent
    bool rx_dropped;            //  the current message is over the rate
    bool wrote_last;            //  the last WRITEABLE wrote something
    char peer [HC_ADDR_TEXT];   //  client address (behind a trusted proxy,
                                //  the one it forwarded), set at the filter
    char via [HC_ADDR_TEXT];    //  that proxy's address, or ""
} gw_session_t;

//  248 bytes are a 256-byte malloc chunk: a field more costs 16 bytes per
//  connection (docs/performance.md)
_Static_assert (sizeof (gw_session_t) <= 248, "gw_session_t grew");

//  Frees what the session holds; safe on a zeroed session
void
    gw_session_clear (gw_session_t *self);
//  Frees the queued frames (the client will not get them)
void
    gw_session_drop_queue (gw_session_t *self);
//  Queues a frame (taking a reference); -1 if that would exceed max_bytes
int
    gw_session_push (gw_session_t *self, gw_outbuf_t *buf, size_t max_bytes);
//  Frees the reassembly buffer and the queue's ring when they hold
//  nothing (called when a connection has been silent a while, so an idle
//  one keeps no buffers); returns the reassembly bytes freed
size_t
    gw_session_trim (gw_session_t *self);
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
//  Reassembly. lws hands a message over in pieces: a frame longer than
//  its buffer in several (remaining: bytes of the frame still to come),
//  and each fragment of a message as its own frame (final: the last).
//  A piece that begins a frame is where the frame is charged to the rate
//  limit: true when this one does.
static inline bool
gw_session_rx_starts (gw_session_t *self, size_t remaining)
{
    bool start = !self->rx_mid_frame;
    self->rx_mid_frame = remaining > 0;
    return start;
}
//  The current message goes (over the rate limit), up to its final piece
static inline void
gw_session_rx_drop (gw_session_t *self)
{
    self->rx_dropped = true;
}
//  Takes one piece; binary is the kind of its frame (a continuation's
//  is the first frame's). A whole message is no copy when it came in one
//  piece. A message over max bytes (what is still to come counted) is
//  not read further; neither is anything once the session is closing.
//  (Inline: it is on the relay path, once per piece of every message.)
static inline gw_rx_t
gw_session_rx (gw_session_t *self, const char *piece, size_t len,
               size_t remaining, bool final, bool binary, size_t max,
               gw_rx_message_t *message)
{
    bool first = !self->rx_open;
    self->rx_open = !final;
    if (self->closing || self->rx_dropped) {
        hc_buf_reset (&self->rx);
        if (final)
            self->rx_dropped = false;
        return GW_RX_WAIT;
    }
    if (first)                  //  continuation frames keep the first's kind
        self->rx_binary = binary;
    message->binary = self->rx_binary;
    if (self->rx.len + len + remaining > max) {
        message->len = self->rx.len + len + remaining;
        return GW_RX_TOO_LARGE;
    }
    if (first && final) {
        message->data = piece;
        message->len = len;
        return GW_RX_WHOLE;
    }
    hc_buf_append (&self->rx, piece, len);
    if (self->rx.failed)
        return GW_RX_NO_MEMORY;
    if (!final)
        return GW_RX_WAIT;
    message->data = self->rx.data;
    message->len = self->rx.len;
    return GW_RX_WHOLE;
}

//  After a whole message: its buffer is emptied, and freed when it grew
//  over keep_max bytes
static inline void
gw_session_rx_done (gw_session_t *self, size_t keep_max)
{
    if (self->rx.cap > keep_max)
        hc_buf_free (&self->rx);
    else
    if (self->rx.len)           //  not when it was no copy
        hc_buf_reset (&self->rx);
}

//  Bytes held for the session: queued frames and its reassembly buffer
static inline size_t
gw_session_held (const gw_session_t *self)
{
    return self->out_bytes + self->rx.cap;
}
//  Asks for a close with this code and reason once the queue is flushed
void
    gw_session_close_after_flush (gw_session_t *self, uint16_t code,
                                  const char *reason);

void
    gw_session_test (bool verbose);

#endif
