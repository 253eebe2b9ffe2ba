/*  sig_errors.h - error codes and texts of the /signal dialect

    Every error frame is {"type":"error","message":TEXT,"code":CODE}. The
    text of malformed input is exactly "Invalid message" (the seed's
    contract); the code says what was wrong and is stable.
*/
#ifndef SIG_ERRORS_H_INCLUDED
#define SIG_ERRORS_H_INCLUDED

#define SIG_INVALID_MESSAGE "Invalid message"

//  Malformed input (message SIG_INVALID_MESSAGE), answered by the gateway
#define SIG_E_INVALID_JSON "invalid_json"       //  not JSON, or not an object
#define SIG_E_MISSING_TYPE "missing_type"       //  no string "type"
#define SIG_E_UNKNOWN_TYPE "unknown_type"       //  a type we do not serve
#define SIG_E_INVALID_FIELD "invalid_field"     //  a field missing or wrong

//  Refusals, each with its own text
#define SIG_E_NOT_JOINED "not_joined"
#define SIG_T_NOT_JOINED "Join a room before sending signaling messages."
#define SIG_T_OTHER_ROOM "This connection has not joined that room."
#define SIG_E_REPLACED "replaced"
#define SIG_T_REPLACED "Another connection joined this room under your name."
#define SIG_E_ROOM_FULL "room_full"
#define SIG_T_ROOM_FULL "The room is full."
#define SIG_E_TOO_MANY_ROOMS "too_many_rooms"
#define SIG_T_TOO_MANY_ROOMS "The server cannot open more rooms right now."
#define SIG_E_RATE_LIMITED "rate_limited"
#define SIG_T_RATE_LIMITED "Too many messages; this one was dropped."
#define SIG_E_SERVER_BUSY "server_busy"
#define SIG_T_SERVER_BUSY "The server is overloaded; this message was dropped."

//  Longest room or user name, in bytes
#define SIG_NAME_MAX 256

#endif
