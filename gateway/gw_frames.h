/*  gw_frames.h - what a client's frames get: the policy of the gateway
    (lws callbacks, gateway thread)
*/
#ifndef GW_FRAMES_H_INCLUDED
#define GW_FRAMES_H_INCLUDED

#include "gw_self.h"

//  RECEIVE: a piece of a client message (lws hands long ones over in
//  pieces). What reassembly holds is counted in the budget. Returns the
//  callback's answer: -1 to close now.
int
    gw_frames_receive (gw_self_t *self, gw_session_t *session,
                       struct lws *wsi, const char *in, size_t len);
//  Charges one frame to the rate limit: true if it may pass; tells the
//  client, or closes a flood
bool
    gw_frames_rate (gw_self_t *self, gw_session_t *session);
//  A JSON object of the gateway's own to the session
void
    gw_frames_send_fields (gw_self_t *self, gw_session_t *session,
                           const hc_field_t *fields, size_t n);

#endif
