/*  gw_out.h - frames to clients: written at once, or queued for WRITEABLE
    (gateway thread)
*/
#ifndef GW_OUT_H_INCLUDED
#define GW_OUT_H_INCLUDED

#include "gw_self.h"

//  gw_out_writeable: nothing of ours was written, so lws wrote a pong
#define GW_OUT_PONG 1

//  Writes buf to the session, or queues it (taking a reference); a
//  session that lets too much pile up is cut
void
    gw_out_enqueue (gw_self_t *self, gw_session_t *session,
                    gw_outbuf_t *buf);
//  WRITEABLE: a due ping, the oldest queued frame, or the close once the
//  queue is empty. -1 when lws is to close the connection; GW_OUT_PONG
//  when lws wrote a pong of its own (lws answers pings without telling
//  us: the caller charges it to the rate limit as a frame); else 0.
int
    gw_out_writeable (gw_self_t *self, gw_session_t *session,
                      struct lws *wsi);
//  A WebSocket ping, now when nothing waits to go out, else next
void
    gw_out_ping (gw_self_t *self, gw_session_t *session);
//  Drops a connection without a close handshake (the peer is dead or not
//  reading)
void
    gw_out_kill (gw_self_t *self, gw_session_t *session);
//  Cuts the connections holding most until the gateway is under
//  BUFFER_BUDGET again
void
    gw_out_cut_largest (gw_self_t *self);

#endif
