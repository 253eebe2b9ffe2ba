/*  gw_handshake.h - sockets before their upgrade: admission and refusals
    (lws callbacks and the edge timer, gateway thread)
*/
#ifndef GW_HANDSHAKE_H_INCLUDED
#define GW_HANDSHAKE_H_INCLUDED

#include "gw_self.h"

//  FILTER_NETWORK_CONNECTION: a new socket, before lws adopts it; -1
//  refuses it (a 429 when its address is at its cap)
int
    gw_handshake_accept (gw_self_t *self, int fd);
//  WSI_CREATE: lws made the socket just accepted; it gets its ticket
void
    gw_handshake_created (gw_self_t *self, struct lws *wsi);
//  FILTER_PROTOCOL_CONNECTION: the upgrade is asked for. Sets the
//  session's peer and via; -1 refuses it (the answer is written)
int
    gw_handshake_filter (gw_self_t *self, gw_session_t *session,
                         struct lws *wsi);
//  ESTABLISHED: the handshake is done, its deadline goes
void
    gw_handshake_done (gw_self_t *self, struct lws *wsi);
//  WSI_DESTROY: the socket is gone; one refused before its upgrade is
//  recorded, and its answer lingers
void
    gw_handshake_destroyed (gw_self_t *self, struct lws *wsi);
//  The edge timer: handshake deadlines, and a wake for lws's own timers
void
    gw_handshake_tick (struct ev_loop *loop, ev_timer *timer, int revents);
//  Who the client is: the socket peer, or behind a trusted proxy the
//  address it forwarded (then via names the proxy; else it is "")
void
    gw_handshake_client_address (gw_self_t *self, struct lws *wsi,
                                 char client [HC_ADDR_TEXT],
                                 char via [HC_ADDR_TEXT]);
//  lws's warnings and errors become this gateway's records (and tell which
//  handshake's headers did not fit); NULL: lws logs nowhere
void
    gw_handshake_log_lws (gw_self_t *self);

#endif
