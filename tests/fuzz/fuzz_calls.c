/*  fuzz_calls.c - both state machines driven by a script of client frames

    The input is read as a script: each step picks a connection, a dialect
    and a frame from a small vocabulary of ids and routes (or raw bytes), a
    close, or a jump in time. Small bounds make every limit reachable.
    Besides not crashing or leaking: every frame the server would send must
    be valid JSON.
*/
#include "gateway/gw_json.h"
#include "gateway/gw_p2p.h"
#include "gateway/gw_signal.h"
#include "rooms/p2p_calls.h"
#include "rooms/sig_rooms.h"

#include <assert.h>
#include <stdio.h>

static hc_buf_t s_json;
static gw_p2p_result_t s_p2p;

static void
s_deliver (void *ctx, const uint64_t *conns, size_t conns_n,
           const hc_field_t *fields, size_t fields_n)
{
    (void) ctx;
    assert (conns_n > 0);
    for (size_t i = 0; i < conns_n; i++)     //  only connections that exist
        assert ((conns [i] >= 1 && conns [i] <= 6)
                || (conns [i] >= 101 && conns [i] <= 106));
    hc_buf_reset (&s_json);
    gw_json_render (&s_json, fields, fields_n);
    cJSON *parsed = cJSON_ParseWithLength (s_json.data, s_json.len);
    assert (cJSON_IsObject (parsed));
    cJSON_Delete (parsed);
}

static void
s_kick (void *ctx, uint64_t conn, uint16_t code, const char *reason)
{
    (void) ctx;
    assert (conn && code >= 1000 && strlen (reason) < 124);
}

static const char *const s_ids [] = {"\"a\"", "\"b\"", "\"c\"", "1", "\"1\"",
                                     "2", "\"\"", "null"};
static const char *const s_p2p_frames [] = {
    "{\"route\":\"ADD_USER\",\"userId\":%s,\"name\":\"N\"}",
    "{\"route\":\"ADD_USER\",\"userId\":%s,\"device\":\"ios\",\"photo\":\"p\"}",
    "{\"route\":\"RECONNECT\",\"userId\":%s,\"name\":\"R\"}",
    "{\"route\":\"OFFER\",\"userId\":%s,\"candidates\":[%s],\"sdp\":\"S\"}",
    "{\"route\":\"OFFER\",\"userId\":%s,\"candidates\":\"[%s,\\\"c\\\"]\"}",
    "{\"route\":\"OFFER\",\"userId\":%s,\"candidates\":%s,\"isUpdate\":1}",
    "{\"route\":\"ANSWER\",\"userId\":%s,\"answer\":{\"s\":%s}}",
    "{\"route\":\"UPDATE_ANSWER\",\"userId\":%s,\"answer\":1}",
    "{\"route\":\"DECLINE\",\"userId\":%s}",
    "{\"route\":\"ADD_ICE\",\"iceParams\":[%s]}",
    "{\"route\":\"SWAP_ICE\",\"userId\":%s}",
    ("{\"route\":\"SET_REMOTE_STREAM_ID\",\"userId\":%s,\"kind\":%s,"
     "\"streamId\":\"s\"}"),
    "{\"route\":\"UPDATE_OFFER\",\"userId\":%s,\"sdp\":\"u\",\"type\":%s}",
    "{\"route\":\"MEDIA_UPDATE\",\"userId\":%s,\"video\":%s}",
};
static const char *const s_rooms [] = {"\"r1\"", "\"r2\"", "\"r3\"", "5"};
static const char *const s_signal_frames [] = {
    "{\"type\":\"join\",\"room\":%s,\"user\":%s}",
    "{\"type\":\"leave\",\"room\":%s,\"user\":%s}",
    "{\"type\":\"leave\"}",
    "{\"type\":\"offer\",\"room\":%s,\"sdp\":\"v=0\",\"to\":%s}",
    "{\"type\":\"answer\",\"room\":%s,\"sdp\":\"a\"}",
    "{\"type\":\"candidate\",\"room\":%s,\"candidate\":{\"c\":%s}}",
    "{\"type\":\"candidate\",\"candidate\":%s}",
};

#define COUNT(a) (sizeof (a) / sizeof ((a) [0]))

int
    LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    gw_json_setup ();
    rooms_sink_t sink = {NULL, s_deliver, s_kick, NULL};
    sig_rooms_cfg_t sig_cfg = {3, 4, 3, 200, 400, 1000};
    sig_rooms_t *sig = sig_rooms_new (&sig_cfg, &sink);
    p2p_calls_cfg_t p2p_cfg = {500, 100, 300, 4, 3, 3};
    p2p_calls_t *p2p = p2p_calls_new (&p2p_cfg, &sink);
    p2p_now_t now = {1000, 1795303252150};
    char frame [512];
    size_t at = 0;
    while (at + 4 <= size) {
        uint8_t op = data [at], conn = (uint8_t) (data [at + 1] % 6 + 1);
        uint8_t a = data [at + 2], b = data [at + 3];
        at += 4;
        cJSON *root = NULL;
        switch (op % 6) {
            case 0:
            case 1:
                snprintf (frame, sizeof (frame),
                          s_p2p_frames [a % COUNT (s_p2p_frames)],
                          s_ids [b % COUNT (s_ids)],
                          s_ids [(b >> 4) % COUNT (s_ids)]);
                gw_p2p_read (frame, strlen (frame), &root, &s_p2p);
                if (s_p2p.kind == GW_P2P_COMMAND) {
                    s_p2p.cmd.conn = conn;
                    p2p_calls_command (p2p, &s_p2p.cmd, now);
                }
                break;
            case 2: {
                snprintf (frame, sizeof (frame),
                          s_signal_frames [a % COUNT (s_signal_frames)],
                          s_rooms [b % COUNT (s_rooms)],
                          s_ids [(b >> 4) % COUNT (s_ids)]);
                gw_sig_result_t result;
                gw_signal_read (frame, strlen (frame), &root, &result);
                if (result.kind == GW_SIG_COMMAND) {
                    result.cmd.conn = (uint64_t) conn + 100;
                    sig_rooms_command (sig, &result.cmd, now.mono_ms);
                }
                break;
            }
            case 3:
                p2p_calls_close (p2p, conn, now);
                sig_rooms_close (sig, (uint64_t) conn + 100, now.mono_ms);
                break;
            case 4:
                now.mono_ms += a * 10;
                now.wall_ms += a * 10;
                p2p_calls_tick (p2p, now);
                sig_rooms_expire (sig, now.mono_ms);
                break;
            case 5: {
                //  Raw bytes as a p2p frame
                size_t len = a % 64;
                if (at + len > size)
                    len = size - at;
                gw_p2p_read ((const char *) data + at, len, &root, &s_p2p);
                if (s_p2p.kind == GW_P2P_COMMAND) {
                    s_p2p.cmd.conn = conn;
                    p2p_calls_command (p2p, &s_p2p.cmd, now);
                }
                at += len;
                break;
            }
        }
        gw_json_release (&root);
        int64_t deadline = p2p_calls_next_deadline (p2p);
        assert (deadline == -1 || deadline > 0);
    }
    p2p_calls_destroy (&p2p);
    sig_rooms_destroy (&sig);
    return 0;
}
