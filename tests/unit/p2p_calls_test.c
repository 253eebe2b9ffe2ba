/*  p2p_calls_test.c - the p2p call state machine, route by route

    Client frames are written as the apps write them and read by the
    gateway's own reader (gw_p2p_read); frames out are compared as the exact
    JSON text a client would receive. The exchanges of the reference's
    section 9 appear as captured, except where docs/p2p.md fixes a bug
    (each such place says which).
*/
#include "rooms/p2p_calls.h"
#include "gateway/gw_p2p.h"
#include "test_sink.h"

static p2p_calls_t *s_calls;
static test_sink_t *s_sink;
static p2p_now_t s_now;
static gw_p2p_result_t s_read;

//  Connections, by name
enum { A = 1, B, C, D, B1, B2, B3, D1, D2, X, C1 };

static void
s_in (uint64_t conn, const char *frame)
{
    cJSON *root = NULL;
    gw_p2p_read (frame, strlen (frame), &root, &s_read);
    assert (s_read.kind == GW_P2P_COMMAND);
    s_read.cmd.conn = conn;
    p2p_calls_command (s_calls, &s_read.cmd, s_now);
    gw_json_release (&root);
}

#define s_out(conn, json) test_sink_expect (s_sink, (conn), (json))
#define s_none() test_sink_expect_nothing (s_sink)

static void
s_setup (bool verbose)
{
    gw_json_setup ();
    s_sink = test_sink_new (verbose);
    p2p_calls_cfg_t cfg = {60000, 10000, 30000, 1000, 8, 1000};
    s_calls = p2p_calls_new (&cfg, &s_sink->sink);
    s_now = (p2p_now_t){1000000, 1795303252150};
}

static void
s_teardown (void)
{
    s_none ();
    p2p_calls_destroy (&s_calls);
    test_sink_destroy (&s_sink);
    gw_json_teardown ();
}

static void
s_advance (int64_t ms)
{
    s_now.mono_ms += ms;
    s_now.wall_ms += ms;
    p2p_calls_tick (s_calls, s_now);
}

//  Reference example 1: registration, call, answer, ICE swap, media,
//  renegotiation, hangup and its acknowledgement
static void
s_test_full_call (bool verbose)
{
    s_setup (verbose);
    s_in (A, "{\"route\":\"ADD_USER\",\"userId\":\"alice\",\"name\":\"Alice\","
             "\"photo\":\"a.png\",\"device\":\"web\"}");
    s_in (B, "{\"route\":\"ADD_USER\",\"userId\":\"bob\",\"name\":\"Bob\","
             "\"device\":\"ios\"}");
    s_in (A, "{\"route\":\"SET_REMOTE_STREAM_ID\",\"userId\":\"alice\","
             "\"kind\":\"audio\",\"streamId\":\"sA-audio\"}");
    s_in (B, "{\"route\":\"SET_REMOTE_STREAM_ID\",\"userId\":\"bob\","
             "\"kind\":\"video\",\"streamId\":\"sB-video\"}");
    s_none ();
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":"
             "[\"bob\"],\"offer\":{\"type\":\"offer\",\"sdp\":\"v=0 A\"},"
             "\"isVideo\":true}");
    s_out (B, "{\"type\":\"call\",\"offer\":{\"type\":\"offer\",\"sdp\":"
              "\"v=0 A\"},\"isVideo\":true,\"userId\":\"alice\",\"name\":"
              "\"Alice\",\"photo\":\"a.png\",\"candidates\":\"alice\","
              "\"device\":\"web\"}");
    s_out (B, "{\"type\":\"remoteStreamsId\",\"streamIds\":{\"audio\":"
              "\"sA-audio\"}}");
    s_none ();
    assert (p2p_calls_waiting_count (s_calls) == 0);    //  B8: reached
    s_in (B, "{\"route\":\"ANSWER\",\"userId\":\"bob\",\"answer\":{\"type\":"
             "\"answer\",\"sdp\":\"v=0 B\"},\"extra\":1}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{\"video\":"
              "\"sB-video\"}}");
    s_out (A, "{\"type\":\"acceptCall\",\"answer\":{\"type\":\"answer\","
              "\"sdp\":\"v=0 B\"},\"device\":\"ios\"}");
    s_out (B, "{\"type\":\"connect\"}");
    s_out (A, "{\"type\":\"connect\"}");
    s_in (A, "{\"route\":\"ADD_ICE\",\"userId\":\"alice\",\"iceParams\":"
             "[{\"candidate\":\"cA1\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}]}");
    s_in (B, "{\"route\":\"ADD_ICE\",\"userId\":\"bob\",\"iceParams\":"
             "[{\"candidate\":\"cB1\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}]}");
    s_none ();
    s_in (A, "{\"route\":\"SWAP_ICE\",\"userId\":\"alice\"}");
    s_out (A, "{\"type\":\"swapIce\",\"iceCandidates\":[{\"candidate\":"
              "\"cB1\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}]}");
    s_out (B, "{\"type\":\"swapIce\",\"iceCandidates\":[{\"candidate\":"
              "\"cA1\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}]}");
    s_in (B, "{\"route\":\"SWAP_ICE\",\"userId\":\"bob\"}");
    s_out (B, "{\"type\":\"swapIce\",\"iceCandidates\":[{\"candidate\":"
              "\"cA1\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}]}");
    s_out (A, "{\"type\":\"swapIce\",\"iceCandidates\":[{\"candidate\":"
              "\"cB1\",\"sdpMid\":\"0\",\"sdpMLineIndex\":0}]}");
    assert (test_sink_logged (s_sink, "call.status", "user=bob", "to=in_call",
                              NULL) == 1);
    s_in (A, "{\"route\":\"MEDIA_UPDATE\",\"userId\":\"alice\",\"video\":"
             "false,\"audio\":true}");
    s_out (B, "{\"type\":\"updateMedia\",\"video\":false,\"audio\":true}");
    s_in (A, "{\"route\":\"UPDATE_OFFER\",\"userId\":\"alice\",\"offer\":"
             "{\"type\":\"offer\",\"sdp\":\"v=0 A2\"}}");
    s_out (B, "{\"type\":\"updateOffer\",\"offer\":{\"type\":\"offer\","
              "\"sdp\":\"v=0 A2\"}}");
    s_out (B, "{\"type\":\"remoteStreamsId\",\"streamIds\":{\"audio\":"
              "\"sA-audio\"}}");
    s_in (B, "{\"route\":\"UPDATE_ANSWER\",\"userId\":\"bob\",\"answer\":"
             "{\"type\":\"answer\",\"sdp\":\"v=0 B2\"}}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{\"video\":"
              "\"sB-video\"}}");
    s_out (A, "{\"type\":\"updateAnswer\",\"answer\":{\"type\":\"answer\","
              "\"sdp\":\"v=0 B2\"}}");
    s_out (B, "{\"type\":\"updateIce\"}");
    s_out (A, "{\"type\":\"updateIce\"}");
    //  Alice hangs up; Bob acknowledges
    s_in (A, "{\"route\":\"DECLINE\",\"userId\":\"alice\"}");
    s_out (B, "{\"type\":\"decline\",\"name\":\"Alice\"}");
    s_out (A, "{\"type\":\"cancel\"}");
    s_in (B, "{\"route\":\"DECLINE\",\"userId\":\"bob\"}");
    s_out (A, "{\"type\":\"cancel\"}");
    s_none ();
    //  B9: the call is over on both sides, no stale partner is left
    s_in (A, "{\"route\":\"MEDIA_UPDATE\",\"userId\":\"alice\",\"video\":1}");
    s_out (A, "{\"type\":\"error\",\"message\":\"Candidate not found\","
              "\"handler\":\"handleUpdateMedia\",\"context\":{\"video\":1}}");
    s_in (B, "{\"route\":\"RECONNECT\",\"userId\":\"bob\"}");
    s_out (B, "{\"type\":\"reconnectError\",\"error\":\"No active session "
              "found for user bob\",\"suggestion\":\"Try ADD_USER instead\"}");
    //  And a new call can start
    s_in (B, "{\"route\":\"OFFER\",\"userId\":\"bob\",\"candidates\":\"alice\","
             "\"sdp\":\"again\"}");
    s_out (A, "{\"type\":\"call\",\"sdp\":\"again\",\"userId\":\"bob\","
              "\"name\":\"Bob\",\"photo\":\"\",\"candidates\":\"bob\","
              "\"device\":\"ios\"}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{\"video\":"
              "\"sB-video\"}}");
    s_teardown ();
}

//  Reference examples 2 and 3: the callee rejects; the caller cancels
static void
s_test_reject_and_cancel (bool verbose)
{
    s_setup (verbose);
    s_in (A, "{\"route\":\"ADD_USER\",\"userId\":\"a2\",\"name\":\"A2\"}");
    s_in (B, "{\"route\":\"ADD_USER\",\"userId\":\"b2\",\"name\":\"B2\"}");
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"a2\",\"candidates\":\"b2\","
             "\"sdp\":\"S\"}");
    s_out (B, "{\"type\":\"call\",\"sdp\":\"S\",\"userId\":\"a2\",\"name\":"
              "\"A2\",\"photo\":\"\",\"candidates\":\"a2\",\"device\":"
              "\"mobile\"}");
    s_out (B, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_in (B, "{\"route\":\"DECLINE\",\"userId\":\"b2\"}");
    s_out (A, "{\"type\":\"decline\",\"name\":\"B2\"}");
    s_out (B, "{\"type\":\"cancel\"}");
    s_in (A, "{\"route\":\"DECLINE\",\"userId\":\"a2\"}");
    s_out (B, "{\"type\":\"cancel\"}");
    s_none ();

    //  Example 3: the caller cancels before an answer
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"a2\",\"candidates\":\"b2\","
             "\"sdp\":\"S2\"}");
    s_out (B, "{\"type\":\"call\",\"sdp\":\"S2\",\"userId\":\"a2\",\"name\":"
              "\"A2\",\"photo\":\"\",\"candidates\":\"a2\",\"device\":"
              "\"mobile\"}");
    s_out (B, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_in (A, "{\"route\":\"DECLINE\",\"userId\":\"a2\"}");
    s_out (B, "{\"type\":\"cancel\"}");
    s_out (B, "{\"type\":\"decline\",\"name\":\"A2\"}");
    s_out (A, "{\"type\":\"cancel\"}");
    //  B9: the ringing side's link went with the call, so a stray DECLINE
    //  from it no longer reaches the caller (the original sent A cancel and
    //  decline here)
    s_in (B, "{\"route\":\"DECLINE\",\"userId\":\"b2\"}");
    s_out (B, "{\"type\":\"cancel\"}");
    s_teardown ();
}

//  Reference example 4 with B8: the waiting list, then busy
static void
s_test_waiting_list (bool verbose)
{
    s_setup (verbose);
    s_in (A, "{\"route\":\"ADD_USER\",\"userId\":\"alice\",\"name\":\"Alice\"}");
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":"
             "\"[\\\"carol\\\",\\\"dave\\\"]\",\"offer\":{\"type\":\"offer\","
             "\"sdp\":\"X\"}}");
    s_out (A, "{\"type\":\"error\",\"message\":\"Target user carol not found "
              "or not available\",\"handler\":\"OFFER\",\"context\":{\"offer\":"
              "{\"type\":\"offer\",\"sdp\":\"X\"}}}");
    assert (p2p_calls_waiting_count (s_calls) == 2);
    s_advance (5000);
    s_in (C, "{\"route\":\"ADD_USER\",\"userId\":\"carol\",\"name\":\"Carol\"}");
    //  addedAt: when the offer was made; no photo, Alice has none (B15)
    s_out (C, "{\"type\":\"call\",\"offer\":{\"type\":\"offer\",\"sdp\":\"X\"},"
              "\"userId\":\"alice\",\"name\":\"Alice\",\"candidates\":"
              "\"alice\",\"device\":\"mobile\",\"addedAt\":1795303252150}");
    s_in (C, "{\"route\":\"ANSWER\",\"userId\":\"carol\",\"answer\":{\"type\":"
             "\"answer\",\"sdp\":\"Y\"}}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_out (A, "{\"type\":\"acceptCall\",\"answer\":{\"type\":\"answer\","
              "\"sdp\":\"Y\"},\"device\":\"mobile\"}");
    s_out (C, "{\"type\":\"connect\"}");
    s_out (A, "{\"type\":\"connect\"}");
    //  B8: dave's entry went with the answer; the original rang him here
    assert (p2p_calls_waiting_count (s_calls) == 0);
    s_in (D, "{\"route\":\"ADD_USER\",\"userId\":\"dave\",\"name\":\"Dave\"}");
    s_none ();
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":"
             "\"dave\",\"offer\":{\"type\":\"offer\",\"sdp\":\"Z\"}}");
    s_out (A, "{\"type\":\"busy\"}");
    s_teardown ();
}

//  B1: an unanswered waiting entry expires and the caller hears decline;
//  a cancelled one becomes "cancel" for the callee, then expires quietly
static void
s_test_waiting_expiry (bool verbose)
{
    s_setup (verbose);
    s_in (A, "{\"route\":\"ADD_USER\",\"userId\":\"alice\"}");
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":"
             "\"carol\",\"sdp\":\"o\"}");
    s_out (A, "{\"type\":\"error\",\"message\":\"Target user carol not found "
              "or not available\",\"handler\":\"OFFER\",\"context\":{\"sdp\":"
              "\"o\"}}");
    assert (p2p_calls_next_deadline (s_calls) == s_now.mono_ms + 10000);
    s_advance (59000);
    s_none ();
    s_advance (10000);          //  the sweep after 60 s
    s_out (A, "{\"type\":\"decline\"}");
    assert (p2p_calls_waiting_count (s_calls) == 0);
    assert (p2p_calls_next_deadline (s_calls) == -1);
    s_in (A, "{\"route\":\"DECLINE\",\"userId\":\"alice\"}");    //  ack
    s_out (A, "{\"type\":\"cancel\"}");
    s_in (C, "{\"route\":\"ADD_USER\",\"userId\":\"carol\"}");
    s_none ();                  //  too late: no call

    //  Cancelled before carol comes: she is told cancel
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":"
             "\"dan\",\"sdp\":\"o\"}");
    test_sink_expect (s_sink, A,
                      "{\"type\":\"error\",\"message\":\"Target user dan not "
                      "found or not available\",\"handler\":\"OFFER\","
                      "\"context\":{\"sdp\":\"o\"}}");
    s_in (A, "{\"route\":\"DECLINE\",\"userId\":\"alice\"}");
    s_out (A, "{\"type\":\"cancel\"}");
    s_in (D, "{\"route\":\"ADD_USER\",\"userId\":\"dan\"}");
    s_out (D, "{\"type\":\"cancel\"}");
    s_teardown ();
}

//  Reference example 5: several devices ring, one answers, then RECONNECT
//  while the old connection is still open (B11: the session moves and the
//  old connection is closed; B12: the device is kept)
static void
s_test_multi_device_reconnect (bool verbose)
{
    s_setup (verbose);
    s_in (A, "{\"route\":\"ADD_USER\",\"userId\":\"alice\",\"name\":\"Alice\","
             "\"device\":\"web\"}");
    s_in (B1, "{\"route\":\"ADD_USER\",\"userId\":\"bob\",\"name\":\"Bob\","
              "\"device\":\"ios\"}");
    s_in (B2, "{\"route\":\"ADD_USER\",\"userId\":\"bob\",\"name\":\"Bob\","
              "\"device\":\"web\"}");
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":\"bob\","
             "\"sdp\":\"o1\"}");
    const char *call = "{\"type\":\"call\",\"sdp\":\"o1\",\"userId\":\"alice\","
                       "\"name\":\"Alice\",\"photo\":\"\",\"candidates\":"
                       "\"alice\",\"device\":\"web\"}";
    s_out (B1, call);
    s_out (B2, call);
    s_out (B1, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_out (B2, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_in (B1, "{\"route\":\"ANSWER\",\"userId\":\"bob\",\"answer\":{\"sdp\":"
              "\"a1\"}}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_out (A, "{\"type\":\"acceptCall\",\"answer\":{\"sdp\":\"a1\"},"
              "\"device\":\"ios\"}");
    s_out (B2, "{\"type\":\"cancel\"}");
    s_out (B1, "{\"type\":\"connect\"}");
    s_out (A, "{\"type\":\"connect\"}");
    s_in (A, "{\"route\":\"ADD_ICE\",\"userId\":\"alice\",\"iceParams\":[1]}");
    s_in (B1, "{\"route\":\"ADD_ICE\",\"userId\":\"bob\",\"iceParams\":[2]}");
    s_in (B1, "{\"route\":\"SWAP_ICE\",\"userId\":\"bob\"}");
    s_out (B1, "{\"type\":\"swapIce\",\"iceCandidates\":[1]}");
    s_out (A, "{\"type\":\"swapIce\",\"iceCandidates\":[2]}");
    s_in (B3, "{\"route\":\"RECONNECT\",\"userId\":\"bob\",\"name\":\"Bobby\"}");
    test_sink_expect_kick (s_sink, B1, 1000,
                           "Session moved to another connection");
    s_out (B3, "{\"type\":\"reconnectSuccess\",\"status\":\"in_call\","
               "\"candidate\":\"alice\",\"message\":\"Session restored "
               "successfully\"}");
    s_out (A, "{\"type\":\"peerReconnected\",\"userId\":\"bob\",\"name\":"
              "\"Bobby\",\"status\":\"in_call\"}");
    s_in (A, "{\"route\":\"MEDIA_UPDATE\",\"userId\":\"alice\",\"video\":true}");
    s_out (B3, "{\"type\":\"updateMedia\",\"video\":true}");   //  not B1
    p2p_calls_close (s_calls, B1, s_now);                      //  kicked
    s_in (A, "{\"route\":\"UPDATE_OFFER\",\"userId\":\"alice\",\"sdp\":\"o2\"}");
    s_out (B3, "{\"type\":\"updateOffer\",\"sdp\":\"o2\"}");   //  pair kept
    s_out (B3, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    //  The device stayed "ios" (B12): it shows when bob hangs up and calls
    s_in (B3, "{\"route\":\"DECLINE\",\"userId\":\"bob\"}");
    s_out (A, "{\"type\":\"decline\",\"name\":\"Bobby\"}");
    s_out (B3, "{\"type\":\"cancel\"}");
    s_out (B2, "{\"type\":\"cancel\"}");
    s_in (A, "{\"route\":\"DECLINE\",\"userId\":\"alice\"}");
    s_out (B3, "{\"type\":\"cancel\"}");
    s_out (B2, "{\"type\":\"cancel\"}");
    s_in (B3, "{\"route\":\"OFFER\",\"userId\":\"bob\",\"candidates\":"
              "\"alice\",\"sdp\":\"o3\"}");
    s_out (A, "{\"type\":\"call\",\"sdp\":\"o3\",\"userId\":\"bob\",\"name\":"
              "\"Bobby\",\"photo\":\"\",\"candidates\":\"bob\",\"device\":"
              "\"ios\"}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_teardown ();
}

//  B10: a dropped call waits for RECONNECT; past the grace the partner
//  hears decline
static void
s_test_grace (bool verbose)
{
    s_setup (verbose);
    s_in (A, "{\"route\":\"ADD_USER\",\"userId\":\"alice\",\"name\":\"Alice\"}");
    s_in (B, "{\"route\":\"ADD_USER\",\"userId\":\"bob\",\"name\":\"Bob\"}");
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":\"bob\","
             "\"sdp\":\"o\"}");
    test_sink_expect (s_sink, B,
                      "{\"type\":\"call\",\"sdp\":\"o\",\"userId\":\"alice\","
                      "\"name\":\"Alice\",\"photo\":\"\",\"candidates\":"
                      "\"alice\",\"device\":\"mobile\"}");
    s_out (B, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_in (B, "{\"route\":\"ANSWER\",\"userId\":\"bob\",\"answer\":\"a\"}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_out (A, "{\"type\":\"acceptCall\",\"answer\":\"a\",\"device\":"
              "\"mobile\"}");
    s_out (B, "{\"type\":\"connect\"}");
    s_out (A, "{\"type\":\"connect\"}");
    //  Bob's network drops: Alice hears nothing, and cannot be called
    p2p_calls_close (s_calls, B, s_now);
    s_none ();
    assert (p2p_calls_next_deadline (s_calls) == s_now.mono_ms + 30000);
    s_in (C, "{\"route\":\"ADD_USER\",\"userId\":\"carl\"}");
    s_in (C, "{\"route\":\"OFFER\",\"userId\":\"carl\",\"candidates\":\"bob\","
             "\"sdp\":\"x\"}");
    s_out (C, "{\"type\":\"busy\"}");
    s_in (A, "{\"route\":\"MEDIA_UPDATE\",\"userId\":\"alice\",\"audio\":1}");
    s_none ();                  //  dropped: bob has no connection right now
    s_advance (20000);
    s_in (B2, "{\"route\":\"RECONNECT\",\"userId\":\"bob\"}");
    s_out (B2, "{\"type\":\"reconnectSuccess\",\"status\":\"ringing\","
               "\"candidate\":\"alice\",\"message\":\"Session restored "
               "successfully\"}");
    s_out (A, "{\"type\":\"peerReconnected\",\"userId\":\"bob\",\"name\":"
              "\"Bob\",\"status\":\"ringing\"}");
    assert (p2p_calls_next_deadline (s_calls) == -1);
    s_in (B2, "{\"route\":\"UPDATE_ANSWER\",\"userId\":\"bob\",\"answer\":"
              "\"a2\"}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_out (A, "{\"type\":\"updateAnswer\",\"answer\":\"a2\"}");
    s_out (B2, "{\"type\":\"updateIce\"}");
    s_out (A, "{\"type\":\"updateIce\"}");

    //  Alice drops too and does not come back in time
    p2p_calls_close (s_calls, A, s_now);
    s_advance (29999);
    s_none ();
    s_advance (1);
    s_out (B2, "{\"type\":\"decline\",\"name\":\"Alice\"}");
    s_in (B2, "{\"route\":\"DECLINE\",\"userId\":\"bob\"}");    //  ack
    s_out (B2, "{\"type\":\"cancel\"}");
    s_in (X, "{\"route\":\"RECONNECT\",\"userId\":\"alice\"}");
    s_out (X, "{\"type\":\"reconnectError\",\"error\":\"No existing session "
              "found for user alice\",\"suggestion\":\"Try ADD_USER instead\"}");
    assert (test_sink_logged (s_sink, "p2p.grace_expired", "user=alice", NULL)
            == 1);
    s_teardown ();
}

//  Reference example 6: RECONNECT failures, and one that takes another
//  device's ringing session
static void
s_test_reconnect_failures (bool verbose)
{
    s_setup (verbose);
    s_in (X, "{\"route\":\"RECONNECT\"}");
    s_out (X, "{\"type\":\"reconnectError\",\"error\":\"<b>userId</b> is "
              "required\",\"suggestion\":\"Try ADD_USER instead\"}");
    s_in (X, "{\"route\":\"RECONNECT\",\"userId\":\"ghost\"}");
    s_out (X, "{\"type\":\"reconnectError\",\"error\":\"No existing session "
              "found for user ghost\",\"suggestion\":\"Try ADD_USER instead\"}");
    s_in (X, "{\"route\":\"ADD_USER\",\"userId\":\"alice\",\"name\":\"Alice\"}");
    s_in (X, "{\"route\":\"RECONNECT\",\"userId\":\"alice\"}");
    s_out (X, "{\"type\":\"reconnectError\",\"error\":\"No active session "
              "found for user alice\",\"suggestion\":\"Try ADD_USER instead\"}");
    //  Dan's D1 rings for Carl's call; D2 reconnects as dan and takes the
    //  ringing session over (B11: D1 is closed)
    s_in (D1, "{\"route\":\"ADD_USER\",\"userId\":\"dan\",\"name\":\"Dan\"}");
    s_in (C1, "{\"route\":\"ADD_USER\",\"userId\":\"carl\",\"name\":\"Carl\"}");
    s_in (C1, "{\"route\":\"OFFER\",\"userId\":\"carl\",\"candidates\":\"dan\","
              "\"sdp\":\"x\"}");
    s_out (D1, "{\"type\":\"call\",\"sdp\":\"x\",\"userId\":\"carl\",\"name\":"
               "\"Carl\",\"photo\":\"\",\"candidates\":\"carl\",\"device\":"
               "\"mobile\"}");
    s_out (D1, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_in (D2, "{\"route\":\"RECONNECT\",\"userId\":\"dan\"}");
    test_sink_expect_kick (s_sink, D1, 1000,
                           "Session moved to another connection");
    s_out (D2, "{\"type\":\"reconnectSuccess\",\"status\":\"idle\","
               "\"candidate\":\"carl\",\"message\":\"Session restored "
               "successfully\"}");
    s_out (C1, "{\"type\":\"peerReconnected\",\"userId\":\"dan\",\"name\":"
               "\"Dan\",\"status\":\"idle\"}");
    //  B8: nothing waits for dan, so ADD_USER rings nobody again
    s_in (D2, "{\"route\":\"ADD_USER\",\"userId\":\"dan\",\"name\":\"Dan2\"}");
    s_teardown ();
}

//  Error frames of every route, sent to the requester (B2, B3)
static void
s_test_errors (bool verbose)
{
    s_setup (verbose);
    s_in (X, "{\"route\":\"ADD_USER\",\"name\":\"NoId\"}");
    s_out (X, "{\"type\":\"error\",\"message\":\"<b>userId</b> is required\","
              "\"handler\":\"ADD_USER\",\"context\":{\"name\":\"NoId\"}}");
    s_in (X, "{\"route\":\"ADD_USER\",\"userId\":\"\",\"name\":\"E\"}");
    s_out (X, "{\"type\":\"error\",\"message\":\"<b>userId</b> is required\","
              "\"handler\":\"ADD_USER\",\"context\":{\"userId\":\"\","
              "\"name\":\"E\"}}");
    s_in (X, "{\"route\":\"OFFER\",\"userId\":\"nobody\"}");
    s_out (X, "{\"type\":\"error\",\"message\":\"Cannot read properties of "
              "undefined (reading 'get')\",\"handler\":\"OFFER\",\"context\":"
              "{}}");
    s_in (X, "{\"route\":\"OFFER\"}");
    s_out (X, "{\"type\":\"error\",\"message\":\"userId is required\","
              "\"handler\":\"OFFER\",\"context\":{}}");
    s_in (X, "{\"route\":\"ADD_ICE\",\"iceParams\":[1]}");
    s_out (X, "{\"type\":\"error\",\"message\":\"ws.userId is missing\","
              "\"handler\":\"ADD_ICE\",\"context\":{\"iceParams\":[1]}}");
    s_in (X, "{\"route\":\"MEDIA_UPDATE\",\"video\":true}");
    s_out (X, "{\"type\":\"error\",\"message\":\"userId is required\","
              "\"handler\":\"handleUpdateMedia\",\"context\":{\"video\":true}}");
    s_in (X, "{\"route\":\"DECLINE\",\"userId\":\"nobody\"}");
    s_out (X, "{\"type\":\"error\",\"message\":\"Peer2 user not found\","
              "\"handler\":\"DECLINE\",\"context\":{}}");
    s_in (X, "{\"route\":\"ANSWER\",\"userId\":\"nobody\",\"answer\":1}");
    s_out (X, "{\"type\":\"error\",\"message\":\"User not found\","
              "\"handler\":\"ANSWER\",\"context\":{\"answer\":1}}");
    s_in (X, "{\"route\":\"SWAP_ICE\",\"userId\":\"nobody\"}");
    s_out (X, "{\"type\":\"error\",\"message\":\"First user was not found\","
              "\"handler\":\"SWAP_ICE\",\"context\":{\"id\":\"nobody\"}}");
    s_in (X, "{\"route\":\"SET_REMOTE_STREAM_ID\",\"userId\":\"x\"}");
    s_out (X, "{\"type\":\"error\",\"message\":\"kind is required\","
              "\"handler\":\"SET_REMOTE_STREAM_ID\",\"context\":{}}");
    //  A registered user alone
    s_in (A, "{\"route\":\"ADD_USER\",\"userId\":\"alice\",\"name\":\"Al\"}");
    s_in (A, "{\"route\":\"ANSWER\",\"userId\":\"alice\",\"answer\":1}");
    s_out (A, "{\"type\":\"error\",\"message\":\"candidateId not found\","
              "\"handler\":\"ANSWER\",\"context\":{\"answer\":1}}");
    s_in (A, "{\"route\":\"SWAP_ICE\",\"userId\":\"alice\"}");
    s_out (A, "{\"type\":\"error\",\"message\":\"<b>userId</b> of the second "
              "user not found\",\"handler\":\"SWAP_ICE\",\"context\":{\"id\":"
              "\"alice\"}}");
    s_in (A, "{\"route\":\"UPDATE_OFFER\",\"userId\":\"alice\",\"sdp\":\"u\"}");
    s_out (A, "{\"type\":\"error\",\"message\":\"Peer2 not found\","
              "\"handler\":\"OFFER\",\"context\":{\"sdp\":\"u\"}}");
    s_in (B, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":\"x\"}");
    s_out (B, "{\"type\":\"error\",\"message\":\"User not found\","
              "\"handler\":\"OFFER\",\"context\":{}}");
    //  A user cannot call itself
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":"
             "[\"alice\"],\"sdp\":\"me\"}");
    s_out (A, "{\"type\":\"error\",\"message\":\"You cannot call yourself\","
              "\"handler\":\"OFFER\",\"context\":{\"sdp\":\"me\"}}");
    //  The context never echoes a large value
    char frame [3000] = "{\"route\":\"OFFER\",\"userId\":\"alice\","
                        "\"candidates\":\"zed\",\"small\":1,\"sdp\":\"";
    size_t len = strlen (frame);
    memset (frame + len, 'v', 2000);
    strcpy (frame + len + 2000, "\"}");
    s_in (A, frame);
    s_out (A, "{\"type\":\"error\",\"message\":\"Target user zed not found "
              "or not available\",\"handler\":\"OFFER\",\"context\":"
              "{\"small\":1}}");
    s_teardown ();
}

//  B6 busy, B16 re-registration, numeric ids, type always wins (B4)
static void
s_test_fixes (bool verbose)
{
    s_setup (verbose);
    s_in (A, "{\"route\":\"ADD_USER\",\"userId\":101,\"name\":\"A\"}");
    s_in (B, "{\"route\":\"ADD_USER\",\"userId\":\"202\",\"name\":\"B\"}");
    s_in (C, "{\"route\":\"ADD_USER\",\"userId\":\"carl\"}");
    //  101 and "101" are one user; ids come back in the caller's JSON type
    s_in (A, "{\"route\":\"OFFER\",\"userId\":\"101\",\"candidates\":[202],"
             "\"sdp\":\"n\",\"type\":\"offer\"}");
    s_out (B, "{\"type\":\"call\",\"sdp\":\"n\",\"userId\":\"101\",\"name\":"
              "\"A\",\"photo\":\"\",\"candidates\":\"101\",\"device\":"
              "\"mobile\"}");
    s_out (B, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_in (B, "{\"route\":\"ANSWER\",\"userId\":202,\"answer\":1}");
    s_out (A, "{\"type\":\"remoteStreamsId\",\"streamIds\":{}}");
    s_out (A, "{\"type\":\"acceptCall\",\"answer\":1,\"device\":\"mobile\"}");
    s_out (B, "{\"type\":\"connect\"}");
    s_out (A, "{\"type\":\"connect\"}");
    //  B6: carl calls 202, who is in a call with 101: busy, nothing changes
    s_in (C, "{\"route\":\"OFFER\",\"userId\":\"carl\",\"candidates\":\"202\","
             "\"sdp\":\"c\"}");
    s_out (C, "{\"type\":\"busy\"}");
    s_in (A, "{\"route\":\"MEDIA_UPDATE\",\"userId\":101,\"mic\":0}");
    s_out (B, "{\"type\":\"updateMedia\",\"mic\":0}");  //  still 101's call
    s_in (C, "{\"route\":\"SWAP_ICE\",\"userId\":\"carl\"}");
    s_out (C, "{\"type\":\"error\",\"message\":\"<b>userId</b> of the second "
              "user not found\",\"handler\":\"SWAP_ICE\",\"context\":{\"id\":"
              "\"carl\"}}");            //  carl's failed offer linked nobody
    //  B16: carl's connection registers as dora; carl is gone
    s_in (C, "{\"route\":\"ADD_USER\",\"userId\":\"dora\"}");
    s_in (X, "{\"route\":\"RECONNECT\",\"userId\":\"carl\"}");
    s_out (X, "{\"type\":\"reconnectError\",\"error\":\"No existing session "
              "found for user carl\",\"suggestion\":\"Try ADD_USER instead\"}");
    assert (p2p_calls_user_count (s_calls) == 3);
    //  A connection that closes outside a call leaves no trace
    p2p_calls_close (s_calls, C, s_now);
    assert (p2p_calls_user_count (s_calls) == 2);
    assert (p2p_calls_next_deadline (s_calls) == -1);
    s_teardown ();
}

void
p2p_calls_test (bool verbose)
{
    if (verbose)
        printf (" * p2p_calls: ");
    s_test_full_call (verbose);
    s_test_reject_and_cancel (verbose);
    s_test_waiting_list (verbose);
    s_test_waiting_expiry (verbose);
    s_test_multi_device_reconnect (verbose);
    s_test_grace (verbose);
    s_test_reconnect_failures (verbose);
    s_test_errors (verbose);
    s_test_fixes (verbose);
    if (verbose)
        printf ("OK\n");
}
