/*  log_line.h - one log record as one line of text or JSON

    Text:  2026-11-21T23:45:20.123Z INFO  rooms relay.forwarded room=w1 size=5
    JSON:  {"time":"2026-11-21T23:45:20.123Z","level":"info","actor":"rooms",
            "event":"relay.forwarded","room":"w1","size":5}

    Values that could break a line (spaces, quotes, control characters,
    bytes that are not UTF-8) are quoted and escaped, so a client cannot
    forge log lines through a room or user name.
*/
#ifndef LOG_LINE_H_INCLUDED
#define LOG_LINE_H_INCLUDED

#include "../common/buf.h"
#include "../common/msg_log.h"

//  Appends the line, ending in '\n'
void
    log_line_format (hc_buf_t *out, const msg_log_t *record, bool json);

void
    log_line_test (bool verbose);

#endif
