/*  bench_ws.c - homecall-bench's WebSocket client framing (RFC 6455) */
#include "bench_ws.h"

#include <openssl/evp.h>

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HEAD_MAX 4096           //  the longest upgrade answer we read
#define GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

uint64_t
bench_ws_random (uint64_t *rng)
{
    uint64_t x = *rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void
bench_ws_key (uint64_t *rng, char key [BENCH_WS_KEY_SIZE])
{
    uint64_t bytes [2] = {bench_ws_random (rng), bench_ws_random (rng)};
    EVP_EncodeBlock ((unsigned char *) key, (const unsigned char *) bytes,
                     sizeof (bytes));
}

size_t
bench_ws_request (char *out, size_t size, const char *host, int port,
                  const char *path, const char *key)
{
    int n = snprintf (out, size, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                      "Origin: http://%s:%d\r\n\r\n", path, host, port, key,
                      host, port);
    return n > 0 && (size_t) n < size ? (size_t) n : 0;
}

void
bench_ws_accept (const char *key, char accept [29])
{
    char text [BENCH_WS_KEY_SIZE + sizeof (GUID)];
    snprintf (text, sizeof (text), "%s%s", key, GUID);
    unsigned char digest [EVP_MAX_MD_SIZE];
    unsigned int digest_n = 0;
    EVP_Digest (text, strlen (text), digest, &digest_n, EVP_sha1 (), NULL);
    EVP_EncodeBlock ((unsigned char *) accept, digest, (int) digest_n);
}

int
bench_ws_response (const char *data, size_t size, const char *key,
                   size_t *head_n)
{
    const char *end = (const char *) memmem (data, size, "\r\n\r\n", 4);
    if (!end)
        return size > HEAD_MAX ? -1 : 0;
    *head_n = (size_t) (end - data) + 4;
    static const char status [] = "HTTP/1.1 101";
    if (*head_n < sizeof (status) || memcmp (data, status, sizeof (status) - 1))
        return -1;
    char accept [29];
    bench_ws_accept (key, accept);
    static const char name [] = "sec-websocket-accept:";
    size_t name_n = sizeof (name) - 1;
    for (const char *line = data; line < end;) {
        const char *eol = (const char *) memmem (line, (size_t) (end - line) + 2,
                                                 "\r\n", 2);
        if ((size_t) (eol - line) > name_n
        &&  strncasecmp (line, name, name_n) == 0) {
            const char *value = line + name_n;
            while (value < eol && (*value == ' ' || *value == '\t'))
                value++;
            size_t value_n = (size_t) (eol - value);
            while (value_n && (value [value_n - 1] == ' '
                            || value [value_n - 1] == '\t'))
                value_n--;
            return value_n == strlen (accept)
                && memcmp (value, accept, value_n) == 0 ? 1 : -1;
        }
        line = eol + 2;
    }
    return -1;
}

size_t
bench_ws_frame (uint8_t *out, bench_ws_opcode_t opcode, const void *payload,
                size_t size, uint32_t mask)
{
    size_t n = 0;
    out [n++] = (uint8_t) (0x80 | opcode);
    if (size < 126)
        out [n++] = (uint8_t) (0x80 | size);
    else
    if (size < 65536) {
        out [n++] = 0x80 | 126;
        out [n++] = (uint8_t) (size >> 8);
        out [n++] = (uint8_t) size;
    }
    else {
        out [n++] = 0x80 | 127;
        for (int shift = 56; shift >= 0; shift -= 8)
            out [n++] = (uint8_t) ((uint64_t) size >> shift);
    }
    uint8_t key [4];
    memcpy (key, &mask, 4);
    memcpy (out + n, key, 4);
    n += 4;
    //  Eight bytes a step: key[0..3] twice, in the order they go out
    uint64_t word;
    memcpy (&word, key, 4);
    memcpy ((uint8_t *) &word + 4, key, 4);
    const uint8_t *in = (const uint8_t *) payload;
    uint8_t *to = out + n;
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t value;
        memcpy (&value, in + i, 8);
        value ^= word;
        memcpy (to + i, &value, 8);
    }
    for (; i < size; i++)
        to [i] = in [i] ^ key [i & 3];
    return n + size;
}

//  The header is whole once its length fields are: true then
static bool
s_header (bench_ws_rx_t *rx, int *error)
{
    if (rx->head_n < 2)
        return false;
    uint8_t length7 = rx->head [1] & 0x7f;
    size_t need = length7 == 126 ? 4 : length7 == 127 ? 10 : 2;
    if (rx->head [1] & 0x80) {
        *error = -1;            //  a server never masks
        return false;
    }
    if (rx->head_n < need)
        return false;
    uint64_t length = length7;
    if (length7 >= 126) {
        length = 0;
        for (size_t i = 2; i < need; i++)
            length = length << 8 | rx->head [i];
    }
    rx->opcode = rx->head [0] & 0x0f;
    rx->fin = (rx->head [0] & 0x80) != 0;
    rx->left = length;
    rx->head_n = 0;
    rx->in_frame = true;
    if (rx->opcode >= 8) {
        if (length > sizeof (rx->control) || !rx->fin)
            *error = -1;
        rx->control_n = 0;
    }
    else
    if (rx->opcode != 0) {      //  0 continues the message in progress
        rx->message = rx->opcode;
        rx->prefix_n = 0;
    }
    return *error == 0;
}

int
bench_ws_read (bench_ws_rx_t *rx, const uint8_t *data, size_t size,
               bench_ws_fn *fn, void *arg)
{
    size_t at = 0;
    while (at < size || rx->in_frame) {
        if (!rx->in_frame) {
            int error = 0;
            rx->head [rx->head_n++] = data [at++];
            if (!s_header (rx, &error)) {
                if (error)
                    return error;
                continue;
            }
        }
        size_t take = (size_t) rx->left < size - at ? (size_t) rx->left
                                                     : size - at;
        if (rx->opcode >= 8) {
            memcpy (rx->control + rx->control_n, data + at, take);
            rx->control_n += take;
        }
        else {
            size_t room = BENCH_WS_PREFIX - rx->prefix_n;
            memcpy (rx->prefix + rx->prefix_n, data + at,
                    take < room ? take : room);
            rx->prefix_n += take < room ? take : room;
        }
        at += take;
        rx->left -= take;
        if (rx->left)
            break;              //  the rest of the frame comes later
        rx->in_frame = false;
        int rc = 0;
        if (rx->opcode >= 8)
            rc = fn (arg, (bench_ws_opcode_t) rx->opcode, rx->control,
                     rx->control_n);
        else
        if (rx->fin)
            rc = fn (arg, (bench_ws_opcode_t) rx->message, rx->prefix,
                     rx->prefix_n);
        if (rc)
            return rc;
    }
    return 0;
}

//  Self test: what the reader delivered
typedef struct {
    int calls;
    int opcodes [8];
    size_t sizes [8];
    uint8_t first [8];
} s_seen_t;

static int
s_seen (void *arg, bench_ws_opcode_t opcode, const uint8_t *data,
        size_t size)
{
    s_seen_t *seen = (s_seen_t *) arg;
    assert (seen->calls < 8);
    seen->opcodes [seen->calls] = opcode;
    seen->sizes [seen->calls] = size;
    seen->first [seen->calls] = size ? data [0] : 0;
    seen->calls++;
    return 0;
}

//  A server frame (unmasked) into out; returns its length
static size_t
s_server_frame (uint8_t *out, int first_byte, const uint8_t *payload,
                size_t size)
{
    size_t n = 0;
    out [n++] = (uint8_t) first_byte;
    if (size < 126)
        out [n++] = (uint8_t) size;
    else {
        out [n++] = 126;
        out [n++] = (uint8_t) (size >> 8);
        out [n++] = (uint8_t) size;
    }
    memcpy (out + n, payload, size);
    return n + size;
}

void
bench_ws_test (bool verbose)
{
    if (verbose)
        printf (" * bench_ws: ");
    //  RFC 6455 section 1.3's example
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char accept [29];
    bench_ws_accept (key, accept);
    assert (strcmp (accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
    char answer [256];
    snprintf (answer, sizeof (answer), "HTTP/1.1 101 Switching Protocols\r\n"
              "Upgrade: websocket\r\nsec-WEBSOCKET-accept:  %s \r\n\r\n{", accept);
    size_t head_n = 0;
    assert (bench_ws_response (answer, 20, key, &head_n) == 0);
    assert (bench_ws_response (answer, strlen (answer), key, &head_n) == 1);
    assert (answer [head_n] == '{');
    assert (bench_ws_response (answer, strlen (answer), "AAAAAAAAAAAAAAAAAAAAAA==",
                               &head_n) == -1);
    const char *refused = "HTTP/1.1 429 Too Many Requests\r\n\r\n";
    assert (bench_ws_response (refused, strlen (refused), key, &head_n) == -1);
    char request [512];
    assert (bench_ws_request (request, sizeof (request), "127.0.0.1", 80,
                              "/signal", key));
    assert (strstr (request, "GET /signal HTTP/1.1\r\n") == request);
    assert (strstr (request, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    uint64_t rng = 42;
    char fresh [BENCH_WS_KEY_SIZE];
    bench_ws_key (&rng, fresh);
    assert (strlen (fresh) == 24 && fresh [22] == '=' && fresh [23] == '=');

    //  Masked frames unmask to the payload, at each length encoding
    static uint8_t payload [70000], frame [70000 + BENCH_WS_HEAD_MAX];
    for (size_t i = 0; i < sizeof (payload); i++)
        payload [i] = (uint8_t) (i * 31);
    size_t sizes [] = {0, 5, 125, 126, 1501, 65535, 65536, 70000};
    size_t heads [] = {6, 6, 6, 8, 8, 8, 14, 14};
    for (size_t s = 0; s < sizeof (sizes) / sizeof (sizes [0]); s++) {
        size_t n = bench_ws_frame (frame, BENCH_WS_TEXT, payload, sizes [s],
                                   0x04030201u);
        assert (n == heads [s] + sizes [s]);
        assert (frame [0] == 0x81 && (frame [1] & 0x80));
        const uint8_t *mask = frame + heads [s] - 4;
        for (size_t i = 0; i < sizes [s]; i++)
            assert ((frame [heads [s] + i] ^ mask [i & 3]) == payload [i]);
    }

    //  The reader: a fragmented message with a ping between its fragments,
    //  a long message cut to the prefix, a close; whole and byte by byte
    uint8_t stream [4096];
    size_t n = s_server_frame (stream, 0x01, payload, 100);            //  text
    n += s_server_frame (stream + n, 0x89, payload + 1, 3);             //  ping
    n += s_server_frame (stream + n, 0x80, payload + 100, 50);          //  fin
    n += s_server_frame (stream + n, 0x81, payload + 7, 2000);
    n += s_server_frame (stream + n, 0x8a, payload, 0);                 //  pong
    n += s_server_frame (stream + n, 0x88, payload, 2);                 //  close
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        bench_ws_rx_t rx;
        memset (&rx, 0, sizeof (rx));
        s_seen_t seen;
        memset (&seen, 0, sizeof (seen));
        if (bytewise)
            for (size_t i = 0; i < n; i++)
                assert (bench_ws_read (&rx, stream + i, 1, s_seen, &seen) == 0);
        else
            assert (bench_ws_read (&rx, stream, n, s_seen, &seen) == 0);
        assert (seen.calls == 5);
        assert (seen.opcodes [0] == BENCH_WS_PING && seen.sizes [0] == 3
                && seen.first [0] == payload [1]);
        assert (seen.opcodes [1] == BENCH_WS_TEXT && seen.sizes [1] == 150
                && seen.first [1] == payload [0]);
        assert (seen.opcodes [2] == BENCH_WS_TEXT
                && seen.sizes [2] == BENCH_WS_PREFIX
                && seen.first [2] == payload [7]);
        assert (seen.opcodes [3] == BENCH_WS_PONG && seen.sizes [3] == 0);
        assert (seen.opcodes [4] == BENCH_WS_CLOSE && seen.sizes [4] == 2);
    }
    //  A masked server frame, an oversized control frame: errors
    bench_ws_rx_t rx;
    memset (&rx, 0, sizeof (rx));
    s_seen_t seen;
    memset (&seen, 0, sizeof (seen));
    uint8_t masked [] = {0x81, 0x81, 1, 2, 3, 4, 'x'};
    assert (bench_ws_read (&rx, masked, sizeof (masked), s_seen, &seen) == -1);
    memset (&rx, 0, sizeof (rx));
    n = s_server_frame (stream, 0x89, payload, 126);
    assert (bench_ws_read (&rx, stream, n, s_seen, &seen) == -1);
    assert (seen.calls == 0);
    if (verbose)
        printf ("OK\n");
}
