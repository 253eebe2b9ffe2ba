/*  bench_ws.h - homecall-bench's WebSocket client framing (RFC 6455)

    The handshake request and the check of its answer, masked client
    frames, and a reader of server frames that keeps the first
    BENCH_WS_PREFIX bytes of each message (all the bench needs to tell
    what a frame is and when it was due). No I/O here: bench_net does it.
    Word-at-a-time masking and a reader that skips what it does not keep:
    libwebsockets' client masks and parses byte by byte, which cost the
    bench more than the relay it measured (docs/performance.md).
*/
#ifndef BENCH_WS_H_INCLUDED
#define BENCH_WS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_WS_PREFIX 512     //  bytes of each message kept
#define BENCH_WS_HEAD_MAX 14    //  the longest client frame header
#define BENCH_WS_KEY_SIZE 25    //  a Sec-WebSocket-Key and its NUL

typedef enum {
    BENCH_WS_TEXT = 1,
    BENCH_WS_BINARY = 2,
    BENCH_WS_CLOSE = 8,
    BENCH_WS_PING = 9,
    BENCH_WS_PONG = 10
} bench_ws_opcode_t;

//  One connection's reading state: the frame in progress, the message's
//  first bytes, a control frame's payload (control frames may come
//  between the fragments of a message)
typedef struct {
    uint8_t head [BENCH_WS_HEAD_MAX];
    size_t head_n;              //  header bytes of the current frame so far
    uint8_t opcode;             //  the current frame's
    bool fin;                   //  the current frame ends its message
    uint64_t left;              //  payload bytes of the frame still to come
    bool in_frame;              //  the header is whole, payload follows
    uint8_t message;            //  the opcode of the message in progress
    size_t prefix_n;
    uint8_t prefix [BENCH_WS_PREFIX];
    size_t control_n;
    uint8_t control [125];
} bench_ws_rx_t;

//  Called for each whole message (its first BENCH_WS_PREFIX bytes) and
//  each control frame; returns 0 to go on, non-zero to stop reading
typedef int (bench_ws_fn) (void *arg, bench_ws_opcode_t opcode,
                           const uint8_t *data, size_t size);

//  A fresh key from 16 random bytes, base64 (24 characters)
void
    bench_ws_key (uint64_t *rng, char key [BENCH_WS_KEY_SIZE]);
//  The upgrade request; returns its length, 0 if it does not fit
size_t
    bench_ws_request (char *out, size_t size, const char *host, int port,
                      const char *path, const char *key);
//  The Sec-WebSocket-Accept a server owes key: base64 (SHA-1 (key GUID))
void
    bench_ws_accept (const char *key, char accept [29]);
//  Checks the server's answer to the request made with key: 1 when it is
//  a whole 101 with the right Sec-WebSocket-Accept (*head_n: its length,
//  the bytes after it are frames), 0 when more bytes are needed, -1 when
//  the upgrade was refused
int
    bench_ws_response (const char *data, size_t size, const char *key,
                       size_t *head_n);
//  Writes a masked frame of payload into out, which holds at least
//  size + BENCH_WS_HEAD_MAX bytes; returns the frame's length
size_t
    bench_ws_frame (uint8_t *out, bench_ws_opcode_t opcode,
                    const void *payload, size_t size, uint32_t mask);
//  Reads bytes from the server; returns 0, or -1 on a protocol error (a
//  masked or oversized frame), or what fn returned when it stopped
int
    bench_ws_read (bench_ws_rx_t *rx, const uint8_t *data, size_t size,
                   bench_ws_fn *fn, void *arg);
//  xorshift64*: frame masks and keys (seed it non-zero)
uint64_t
    bench_ws_random (uint64_t *rng);
void
    bench_ws_test (bool verbose);

#endif
