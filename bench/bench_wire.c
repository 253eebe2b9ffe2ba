/*  bench_wire.c - the frames homecall-bench sends and reads, per dialect */
#include "bench_wire.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARK "o=hcb "           //  the SDP line that carries the schedule
#define MARK_DIGITS 20
#define SCAN_MAX 512            //  the mark is looked for this far in

struct bench_wire_t {
    bench_dialect_t dialect;
    char tag [32];              //  prefix of every id
    char *sdp;                  //  JSON-escaped SDP text, payload bytes
    size_t sdp_size;            //  its length
    size_t mark_at;             //  offset of the schedule's digits in sdp
};

static const char *s_names [] = {"signal", "p2p", "peerjs"};

int
bench_wire_dialect (const char *name, bench_dialect_t *dialect)
{
    for (int i = 0; i < 3; i++)
        if (strcmp (name, s_names [i]) == 0) {
            *dialect = (bench_dialect_t) i;
            return 0;
        }
    return -1;
}

const char *
bench_wire_dialect_name (bench_dialect_t dialect)
{
    return s_names [dialect];
}

const char *
bench_wire_default_path (bench_dialect_t dialect)
{
    return dialect == BENCH_SIGNAL ? "/signal"
         : dialect == BENCH_P2P ? "/" : "/peerjs";
}

//  An SDP-like text as a browser's offer looks in JSON (\r\n escaped),
//  padded to exactly size bytes; it starts with the mark line
static char *
s_sdp_new (size_t size, size_t *mark_at)
{
    static const char *lines [] = {
        "s=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0 1\\r\\n"
        "a=msid-semantic: WMS hcb\\r\\n",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\\r\\n"
        "c=IN IP4 0.0.0.0\\r\\na=rtcp:9 IN IP4 0.0.0.0\\r\\n",
        "a=ice-ufrag:Hc7b\\r\\na=ice-pwd:9ZqkP3xW0bEnch2fakePwd4u\\r\\n"
        "a=ice-options:trickle\\r\\n",
        "a=fingerprint:sha-256 4F:2A:9C:11:D0:7E:3B:88:AF:60:12:9D:"
        "E4:C2:57:0B:31:6A:F8:99:0C:DE:45:7B:A2:13:6E:F0:8D:24:C9:5A\\r\\n",
        "a=setup:actpass\\r\\na=mid:0\\r\\na=sendrecv\\r\\na=rtcp-mux\\r\\n",
        "a=rtpmap:111 opus/48000/2\\r\\na=rtcp-fb:111 transport-cc\\r\\n"
        "a=fmtp:111 minptime=10;useinbandfec=1\\r\\n",
        "a=ssrc:3735928559 cname:hcbenchcname0001\\r\\n"
        "a=ssrc:3735928559 msid:hcb track0\\r\\n",
    };
    char head [96];
    int head_n = snprintf (head, sizeof (head), "v=0\\r\\n" MARK "%0*d %0*d "
                           "IN IP4 127.0.0.1\\r\\n", MARK_DIGITS, 0,
                           MARK_DIGITS, 0);
    size_t need = (size_t) head_n + 1;
    if (size < need)
        size = need;            //  smaller payloads still carry the mark
    char *sdp = (char *) malloc (size + 1);
    if (!sdp)
        return NULL;
    memcpy (sdp, head, (size_t) head_n);
    *mark_at = (size_t) (strstr (head, MARK) - head) + strlen (MARK);
    size_t at = (size_t) head_n;
    for (size_t i = 0;; i++) {
        const char *line = lines [i % (sizeof (lines) / sizeof (lines [0]))];
        size_t length = strlen (line);
        if (at + length > size)
            break;
        memcpy (sdp + at, line, length);
        at += length;
    }
    memset (sdp + at, 'x', size - at);  //  no escape is ever cut in two
    sdp [size] = 0;
    return sdp;
}

bench_wire_t *
bench_wire_new (bench_dialect_t dialect, const char *tag, size_t payload)
{
    bench_wire_t *self = (bench_wire_t *) calloc (1, sizeof (bench_wire_t));
    if (!self)
        return NULL;
    self->dialect = dialect;
    snprintf (self->tag, sizeof (self->tag), "%s", tag);
    self->sdp = s_sdp_new (payload, &self->mark_at);
    if (!self->sdp) {
        free (self);
        return NULL;
    }
    self->sdp_size = strlen (self->sdp);
    return self;
}

void
bench_wire_destroy (bench_wire_t **self_p)
{
    if (*self_p) {
        free ((*self_p)->sdp);
        free (*self_p);
        *self_p = NULL;
    }
}

void
bench_wire_path (bench_wire_t *self, const char *base, const char *key,
                 int pair, bool caller, char *path, size_t size)
{
    if (self->dialect == BENCH_PEERJS)
        snprintf (path, size, "%s?key=%s&id=%s%c%d&token=t%d", base, key,
                  self->tag, caller ? 'a' : 'b', pair, pair);
    else
        snprintf (path, size, "%s", base);
}

size_t
bench_wire_max (bench_wire_t *self)
{
    return self->sdp_size + 256 + 3 * sizeof (self->tag);
}

//  Writes value as MARK_DIGITS decimal digits, zero-padded
static void
s_digits (char *to, uint64_t value)
{
    for (int i = MARK_DIGITS - 1; i >= 0; i--) {
        to [i] = (char) ('0' + value % 10);
        value /= 10;
    }
}

//  Writes head, the SDP with due_ns and sent_ns in its mark, then tail
static size_t
s_with_sdp (bench_wire_t *self, char *out, size_t size, const char *head,
            const char *tail, uint64_t due_ns, uint64_t sent_ns)
{
    size_t head_n = strlen (head), tail_n = strlen (tail);
    if (head_n + self->sdp_size + tail_n + 1 > size)
        return 0;
    memcpy (out, head, head_n);
    char *sdp = out + head_n;
    memcpy (sdp, self->sdp, self->sdp_size);
    s_digits (sdp + self->mark_at, due_ns);
    s_digits (sdp + self->mark_at + MARK_DIGITS + 1, sent_ns);
    memcpy (sdp + self->sdp_size, tail, tail_n);
    size_t length = head_n + self->sdp_size + tail_n;
    out [length] = 0;
    return length;
}

size_t
bench_wire_render (bench_wire_t *self, bench_out_t what, int pair,
                   bool caller, bool first, uint64_t due_ns, uint64_t sent_ns,
                   char *out, size_t size)
{
    //  Ids: TAGaN calls TAGbN; in /signal both are in room TAGrN
    char me [48], peer [48], head [256];
    if (self->dialect != BENCH_SIGNAL) {
        snprintf (me, sizeof (me), "%s%c%d", self->tag, caller ? 'a' : 'b',
                  pair);
        snprintf (peer, sizeof (peer), "%s%c%d", self->tag,
                  caller ? 'b' : 'a', pair);
    }
    bool offer = what == BENCH_OUT_OFFER;
    int n = 0;
    switch (self->dialect) {
        case BENCH_SIGNAL:
            if (what == BENCH_OUT_HELLO)
                n = snprintf (out, size, "{\"type\":\"join\",\"room\":"
                              "\"%sr%d\",\"user\":\"%c\"}", self->tag, pair,
                              caller ? 'a' : 'b');
            else
            if (what == BENCH_OUT_BARRIER)
                n = snprintf (out, size, "{\"type\":\"offer\",\"room\":"
                              "\"%s-barrier\",\"sdp\":\"-\"}", self->tag);
            else
            if (what == BENCH_OUT_KEEPALIVE)
                return 0;       //  WebSocket pings keep /signal alive
            else
                return s_with_sdp (self, out, size,
                                   offer ? "{\"type\":\"offer\",\"sdp\":\""
                                         : "{\"type\":\"answer\",\"sdp\":\"",
                                   "\"}", due_ns, sent_ns);
            break;
        case BENCH_P2P:
            if (what == BENCH_OUT_HELLO)
                n = snprintf (out, size, "{\"route\":\"ADD_USER\",\"userId\":"
                              "\"%s\",\"name\":\"%s\"}", me, me);
            else
            if (what == BENCH_OUT_BARRIER)
                n = snprintf (out, size, "{\"route\":\"SWAP_ICE\"}");
            else
            if (what == BENCH_OUT_KEEPALIVE)
                n = snprintf (out, size, "PING");
            else {
                if (offer && first)
                    snprintf (head, sizeof (head), "{\"route\":\"OFFER\","
                              "\"userId\":\"%s\",\"name\":\"%s\",\"candidates"
                              "\":[\"%s\"],\"offer\":{\"type\":\"offer\","
                              "\"sdp\":\"", me, me, peer);
                else
                    snprintf (head, sizeof (head), "{\"route\":\"%s%s\","
                              "\"userId\":\"%s\",\"%s\":{\"type\":\"%s\","
                              "\"sdp\":\"", first ? "" : "UPDATE_",
                              offer ? "OFFER" : "ANSWER", me,
                              offer ? "offer" : "answer",
                              offer ? "offer" : "answer");
                return s_with_sdp (self, out, size, head, "\"}}", due_ns,
                                   sent_ns);
            }
            break;
        case BENCH_PEERJS:
            if (what == BENCH_OUT_HELLO || what == BENCH_OUT_BARRIER)
                return 0;       //  the URL registers; OPEN says so
            if (what == BENCH_OUT_KEEPALIVE)
                n = snprintf (out, size, "{\"type\":\"HEARTBEAT\"}");
            else {
                snprintf (head, sizeof (head), "{\"type\":\"%s\",\"dst\":"
                          "\"%s\",\"payload\":{\"type\":\"media\",\"sdp\":"
                          "{\"type\":\"%s\",\"sdp\":\"",
                          offer ? "OFFER" : "ANSWER", peer,
                          offer ? "offer" : "answer");
                return s_with_sdp (self, out, size, head, "\"}}}", due_ns,
                                   sent_ns);
            }
            break;
    }
    return n > 0 && (size_t) n < size ? (size_t) n : 0;
}

//  MARK_DIGITS digits at digit, or 0 if they are not all digits
static uint64_t
s_number (const char *digit)
{
    uint64_t value = 0;
    for (int i = 0; i < MARK_DIGITS; i++) {
        if (digit [i] < '0' || digit [i] > '9')
            return 0;
        value = value * 10 + (uint64_t) (digit [i] - '0');
    }
    return value;
}

//  The schedule and the send time in a frame's mark, or 0s
static void
s_stamps (const char *data, size_t size, uint64_t *due_ns, uint64_t *sent_ns)
{
    if (size > SCAN_MAX)
        size = SCAN_MAX;
    const char *mark = (const char *) memmem (data, size, MARK, strlen (MARK));
    size_t need = strlen (MARK) + 2 * MARK_DIGITS + 1;
    if (!mark || (size_t) (mark - data) + need > size)
        return;
    *due_ns = s_number (mark + strlen (MARK));
    *sent_ns = s_number (mark + strlen (MARK) + MARK_DIGITS + 1);
}

bench_in_t
bench_wire_classify (bench_wire_t *self, const char *data, size_t size,
                     bool ready, uint64_t *due_ns, uint64_t *sent_ns)
{
    *due_ns = *sent_ns = 0;
    //  Every server frame of the three begins with its type
    static const char prefix [] = "{\"type\":\"";
    size_t prefix_n = sizeof (prefix) - 1;
    if (size <= prefix_n || memcmp (data, prefix, prefix_n))
        return BENCH_IN_OTHER;
    const char *type = data + prefix_n;
    const char *end = (const char *) memchr (type, '"', size - prefix_n);
    if (!end)
        return BENCH_IN_OTHER;
    size_t type_n = (size_t) (end - type);
    #define IS(text) (type_n == strlen (text) && !memcmp (type, text, type_n))
    bench_in_t kind = BENCH_IN_OTHER;
    switch (self->dialect) {
        case BENCH_SIGNAL:
            kind = IS ("offer") ? BENCH_IN_OFFER
                 : IS ("answer") ? BENCH_IN_ANSWER
                 : IS ("error") ? BENCH_IN_ERROR : BENCH_IN_OTHER;
            break;
        case BENCH_P2P:
            kind = IS ("call") || IS ("updateOffer") ? BENCH_IN_OFFER
                 : IS ("acceptCall") || IS ("updateAnswer") ? BENCH_IN_ANSWER
                 : IS ("error") ? BENCH_IN_ERROR : BENCH_IN_OTHER;
            break;
        case BENCH_PEERJS:
            kind = IS ("OFFER") ? BENCH_IN_OFFER
                 : IS ("ANSWER") ? BENCH_IN_ANSWER
                 : IS ("OPEN") ? BENCH_IN_READY
                 : IS ("ERROR") || IS ("ID-TAKEN") ? BENCH_IN_ERROR
                 : BENCH_IN_OTHER;
            break;
    }
    #undef IS
    //  Before ready, the barrier's error is the sign that HELLO was done
    if (kind == BENCH_IN_ERROR && !ready && self->dialect != BENCH_PEERJS)
        kind = BENCH_IN_READY;
    if (kind == BENCH_IN_OFFER || kind == BENCH_IN_ANSWER)
        s_stamps (data, size, due_ns, sent_ns);
    return kind;
}

void
bench_wire_test (bool verbose)
{
    if (verbose)
        printf (" * bench_wire: ");
    bench_dialect_t dialect;
    assert (bench_wire_dialect ("p2p", &dialect) == 0 && dialect == BENCH_P2P);
    assert (bench_wire_dialect ("nope", &dialect) == -1);
    char out [4096], path [256];
    uint64_t due, sent;
    for (int d = 0; d < 3; d++) {
        bench_wire_t *wire = bench_wire_new ((bench_dialect_t) d, "t", 1500);
        assert (wire);
        assert (bench_wire_max (wire) < sizeof (out));
        size_t n = bench_wire_render (wire, BENCH_OUT_OFFER, 7, true, true,
                                      12345678901234567ull, 89ull, out,
                                      sizeof (out));
        assert (n > 1500 && n < bench_wire_max (wire) && out [n] == 0);
        assert (out [0] == '{' && out [n - 1] == '}');
        //  A relayed copy, as each server writes it, gives the schedule back
        char relayed [4096];
        const char *sdp = strstr (out, "v=0");
        assert (sdp);
        snprintf (relayed, sizeof (relayed), "%s%s",
                  d == BENCH_SIGNAL ? "{\"type\":\"offer\",\"room\":\"tr7\","
                                      "\"from\":\"a\",\"sdp\":\""
                : d == BENCH_P2P ? "{\"type\":\"call\",\"offer\":{\"type\":"
                                   "\"offer\",\"sdp\":\""
                : "{\"type\":\"OFFER\",\"src\":\"ta7\",\"dst\":\"tb7\","
                  "\"payload\":{\"type\":\"media\",\"sdp\":{\"sdp\":\"", sdp);
        assert (bench_wire_classify (wire, relayed, strlen (relayed), true,
                                     &due, &sent) == BENCH_IN_OFFER);
        assert (due == 12345678901234567ull && sent == 89);
        //  Errors: the barrier's answer before ready, errors after
        const char *error = d == BENCH_PEERJS
            ? "{\"type\":\"ERROR\",\"payload\":{}}"
            : "{\"type\":\"error\",\"message\":\"x\"}";
        assert (bench_wire_classify (wire, error, strlen (error), true, &due,
                                     &sent)
                == BENCH_IN_ERROR);
        assert (bench_wire_classify (wire, error, strlen (error), false, &due,
                                     &sent)
                == (d == BENCH_PEERJS ? BENCH_IN_ERROR : BENCH_IN_READY));
        assert (bench_wire_classify (wire, "PONG", 4, true, &due, &sent)
                == BENCH_IN_OTHER);
        bench_wire_path (wire, bench_wire_default_path ((bench_dialect_t) d),
                         "peerjs", 7, false, path, sizeof (path));
        assert (strcmp (path, d == BENCH_PEERJS
                        ? "/peerjs?key=peerjs&id=tb7&token=t7"
                        : d == BENCH_P2P ? "/" : "/signal") == 0);
        bench_wire_destroy (&wire);
    }
    //  The frames themselves, where short
    bench_wire_t *wire = bench_wire_new (BENCH_SIGNAL, "t", 10);
    size_t n = bench_wire_render (wire, BENCH_OUT_HELLO, 3, false, true, 0,
                                  0, out, sizeof (out));
    assert (n && strcmp (out, "{\"type\":\"join\",\"room\":\"tr3\","
                              "\"user\":\"b\"}") == 0);
    n = bench_wire_render (wire, BENCH_OUT_ANSWER, 3, false, true, 42, 43,
                           out, sizeof (out));
    assert (n && strstr (out, "{\"type\":\"answer\",\"sdp\":\"v=0\\r\\no=hcb "
                              "00000000000000000042 00000000000000000043 "
                              "IN") == out);
    assert (bench_wire_render (wire, BENCH_OUT_ANSWER, 3, false, true, 42, 43,
                               out, 20) == 0);      //  too small: nothing
    bench_wire_destroy (&wire);
    wire = bench_wire_new (BENCH_P2P, "t", 10);
    n = bench_wire_render (wire, BENCH_OUT_ANSWER, 3, false, false, 1, 1, out,
                           sizeof (out));
    assert (strstr (out, "{\"route\":\"UPDATE_ANSWER\",\"userId\":\"tb3\","
                         "\"answer\":{\"type\":\"answer\",\"sdp\":\"v=0")
            == out);
    n = bench_wire_render (wire, BENCH_OUT_OFFER, 3, true, true, 1, 1, out,
                           sizeof (out));
    assert (strstr (out, "{\"route\":\"OFFER\",\"userId\":\"ta3\",\"name\":"
                         "\"ta3\",\"candidates\":[\"tb3\"],\"offer\":") == out);
    bench_wire_destroy (&wire);
    bench_wire_destroy (&wire);
    if (verbose)
        printf ("OK\n");
}
