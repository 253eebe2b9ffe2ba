/*  gw_callback.h - the lws callback: what each event of a socket does */
#ifndef GW_CALLBACK_H_INCLUDED
#define GW_CALLBACK_H_INCLUDED

#include "gw_self.h"

//  The one protocol, for lws_context_creation_info.protocols; the
//  context's user is the gw_self_t
extern const struct lws_protocols gw_callback_protocols [];

#endif
