/*  p2p_media.h - ICE, stream ids and media changes between two callers

    ADD_ICE keeps a record's ICE data; SWAP_ICE hands each side the
    other's and puts the call in_call; SET_REMOTE_STREAM_ID keeps stream
    ids by kind (sent with the call's frames, p2p_outbox_streams);
    MEDIA_UPDATE goes to the partner.
*/
#ifndef P2P_MEDIA_H_INCLUDED
#define P2P_MEDIA_H_INCLUDED

#include "p2p_state.h"

//  Routes: ADD_ICE, SWAP_ICE, SET_REMOTE_STREAM_ID, MEDIA_UPDATE
void
    p2p_media_add_ice (p2p_state_t *state, const msg_p2p_t *cmd);
void
    p2p_media_swap_ice (p2p_state_t *state, const msg_p2p_t *cmd);
void
    p2p_media_set_stream (p2p_state_t *state, const msg_p2p_t *cmd);
void
    p2p_media_update (p2p_state_t *state, const msg_p2p_t *cmd);

#endif
