/*  gw_signal.h - reads one /signal client frame into a command for rooms

    Validation follows docs/signal.md. A frame is either a command
    for rooms, a client's own error report (logged, never answered), or
    malformed: then code names what was wrong and the client gets
    {"type":"error","message":"Invalid message","code":code}.
*/
#ifndef GW_SIGNAL_H_INCLUDED
#define GW_SIGNAL_H_INCLUDED

#include "gw_json.h"
#include "../common/msg_rooms.h"

typedef enum {
    GW_SIG_COMMAND,             //  cmd is ready for rooms (conn not set)
    GW_SIG_CLIENT_ERROR,        //  the client reported an error
    GW_SIG_ICE_SERVERS,         //  the gateway answers with ICE servers
    GW_SIG_INVALID              //  malformed; code says why
} gw_sig_kind_t;

typedef struct {
    gw_sig_kind_t kind;
    msg_sig_t cmd;              //  GW_SIG_COMMAND
    hc_str_t client_message;    //  GW_SIG_CLIENT_ERROR
    const char *code;           //  GW_SIG_INVALID: a SIG_E_* code
} gw_sig_result_t;

//  Reads text. Slices in result point into text and into *root_p, which
//  the caller releases (gw_json_release) once it has used them.
void
    gw_signal_read (const char *text, size_t len, cJSON **root_p,
                    gw_sig_result_t *result);

void
    gw_signal_test (bool verbose);

#endif
