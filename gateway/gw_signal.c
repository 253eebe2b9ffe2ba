/*  gw_signal.c - reads one /signal client frame into a command for rooms */
#include "gw_signal.h"
#include "../common/sig_errors.h"

#include <assert.h>
#include <stdio.h>

//  Outcome of reading one optional or required text field
typedef enum { FIELD_ABSENT, FIELD_OK, FIELD_BAD } field_rc_t;

//  A string field, trimmed. An empty value counts as absent when the field
//  is optional (the original fell back to the membership then).
static field_rc_t
s_text (const cJSON *root, const char *key, hc_str_t *value)
{
    const cJSON *item = gw_json_member (root, key);
    *value = HC_STR_NULL;
    if (!item)
        return FIELD_ABSENT;
    if (!cJSON_IsString (item))
        return FIELD_BAD;
    hc_str_t trimmed = gw_json_trim (hc_str (item->valuestring));
    if (trimmed.len == 0)
        return FIELD_ABSENT;
    if (trimmed.len > SIG_NAME_MAX)
        return FIELD_BAD;
    *value = trimmed;
    return FIELD_OK;
}

static void
s_invalid (gw_sig_result_t *result, const char *code)
{
    result->kind = GW_SIG_INVALID;
    result->code = code;
}

void
gw_signal_read (const char *text, size_t len, cJSON **root_p,
                gw_sig_result_t *result)
{
    memset (result, 0, sizeof (*result));
    //  The payload is only relayed: cJSON need not copy kilobytes of SDP
    static const char *const payload_keys [] = {"sdp", "candidate"};
    gw_span_t spans [2];
    cJSON *root = *root_p = gw_json_parse_skipping (text, len, payload_keys,
                                                    spans, 2);
    if (!cJSON_IsObject (root)) {
        s_invalid (result, SIG_E_INVALID_JSON);
        return;
    }
    const cJSON *type_item = gw_json_member (root, "type");
    hc_str_t type = HC_STR_NULL;
    if (cJSON_IsString (type_item))
        type = gw_json_trim (hc_str (type_item->valuestring));
    if (type.len == 0) {
        s_invalid (result, SIG_E_MISSING_TYPE);
        return;
    }
    msg_sig_t *cmd = &result->cmd;
    if (hc_str_eq_cstr (type, "error")) {
        const cJSON *message = gw_json_member (root, "message");
        if (!cJSON_IsString (message)) {
            s_invalid (result, SIG_E_INVALID_FIELD);
            return;
        }
        result->kind = GW_SIG_CLIENT_ERROR;
        result->client_message = hc_str (message->valuestring);
        return;
    }
    if (hc_str_eq_cstr (type, "ice-servers")) {
        result->kind = GW_SIG_ICE_SERVERS;     //  no fields (docs/signal.md)
        return;
    }
    if (hc_str_eq_cstr (type, "join")) {
        cmd->op = MSG_SIG_JOIN;
        if (s_text (root, "room", &cmd->room) != FIELD_OK
        ||  s_text (root, "user", &cmd->user) != FIELD_OK) {
            s_invalid (result, SIG_E_INVALID_FIELD);
            return;
        }
    }
    else
    if (hc_str_eq_cstr (type, "leave")) {
        cmd->op = MSG_SIG_LEAVE;
        if (s_text (root, "room", &cmd->room) == FIELD_BAD
        ||  s_text (root, "user", &cmd->user) == FIELD_BAD) {
            s_invalid (result, SIG_E_INVALID_FIELD);
            return;
        }
    }
    else {
        size_t payload_k = 0;       //  in payload_keys
        if (hc_str_eq_cstr (type, "offer"))
            cmd->op = MSG_SIG_OFFER;
        else
        if (hc_str_eq_cstr (type, "answer"))
            cmd->op = MSG_SIG_ANSWER;
        else
        if (hc_str_eq_cstr (type, "candidate")) {
            cmd->op = MSG_SIG_CANDIDATE;
            payload_k = 1;
        }
        else {
            s_invalid (result, SIG_E_UNKNOWN_TYPE);
            return;
        }
        //  sdp is a string; a candidate an object or a string
        const char *payload_key = payload_keys [payload_k];
        const gw_span_t *span = &spans [payload_k];
        const cJSON *payload = gw_json_member (root, payload_key);
        bool payload_ok = cmd->op == MSG_SIG_CANDIDATE
                        ? cJSON_IsObject (payload) || cJSON_IsString (payload)
                        : cJSON_IsString (payload);
        hc_str_t from;
        if (!payload_ok
        ||  s_text (root, "room", &cmd->room) == FIELD_BAD
        ||  s_text (root, "from", &from) == FIELD_BAD
        ||  s_text (root, "to", &cmd->to) == FIELD_BAD
        ||  !span->found || !span->strict) {
            s_invalid (result, SIG_E_INVALID_FIELD);
            return;
        }
        cmd->payload = span->value;
    }
    result->kind = GW_SIG_COMMAND;
}

//  ---------------------------------------------------------------------
//  Self test: every rule of docs/signal.md that the gateway owns

static gw_sig_result_t
s_read (const char *text)
{
    cJSON *root = NULL;
    gw_sig_result_t result;
    gw_signal_read (text, strlen (text), &root, &result);
    //  The slices are only used for comparisons before release below, so
    //  copy what the tests look at into static storage
    static char room [512], user [512], to [512], payload [4096], msg [512];
    hc_str_t *slots [] = {&result.cmd.room, &result.cmd.user, &result.cmd.to,
                          &result.cmd.payload, &result.client_message};
    char *stores [] = {room, user, to, payload, msg};
    for (int i = 0; i < 5; i++)
        if (hc_str_present (*slots [i])) {
            memcpy (stores [i], slots [i]->ptr, slots [i]->len);
            slots [i]->ptr = stores [i];
        }
    gw_json_release (&root);
    return result;
}

static void
s_expect_invalid (const char *text, const char *code)
{
    gw_sig_result_t r = s_read (text);
    if (r.kind != GW_SIG_INVALID || strcmp (r.code, code) != 0) {
        fprintf (stderr, "\nexpected %s for %s\n", code, text);
        assert (false);
    }
}

void
gw_signal_test (bool verbose)
{
    if (verbose)
        printf (" * gw_signal: ");
    gw_json_setup ();

    //  Malformed: not JSON, not an object, null, no string type, unknown
    s_expect_invalid ("not json", SIG_E_INVALID_JSON);
    s_expect_invalid ("", SIG_E_INVALID_JSON);
    s_expect_invalid ("null", SIG_E_INVALID_JSON);
    s_expect_invalid ("[]", SIG_E_INVALID_JSON);
    s_expect_invalid ("[{\"type\":\"join\"}]", SIG_E_INVALID_JSON);
    s_expect_invalid ("5", SIG_E_INVALID_JSON);
    s_expect_invalid ("\"join\"", SIG_E_INVALID_JSON);
    s_expect_invalid ("true", SIG_E_INVALID_JSON);
    s_expect_invalid ("{\"type\":\"join\"} trailing", SIG_E_INVALID_JSON);
    s_expect_invalid ("{}", SIG_E_MISSING_TYPE);
    s_expect_invalid ("{\"type\":5}", SIG_E_MISSING_TYPE);
    s_expect_invalid ("{\"type\":null}", SIG_E_MISSING_TYPE);
    s_expect_invalid ("{\"type\":\"  \"}", SIG_E_MISSING_TYPE);
    s_expect_invalid ("{\"type\":\"bogus\"}", SIG_E_UNKNOWN_TYPE);
    s_expect_invalid ("{\"type\":\"JOIN\",\"room\":\"r\",\"user\":\"u\"}",
                      SIG_E_UNKNOWN_TYPE);

    //  join: both names required, trimmed, strings, bounded
    gw_sig_result_t r = s_read (
        "{\"type\":\" join \",\"room\":\"  r1 \",\"user\":\"al\",\"from\":\"al\"}");
    assert (r.kind == GW_SIG_COMMAND && r.cmd.op == MSG_SIG_JOIN);
    assert (hc_str_eq_cstr (r.cmd.room, "r1"));
    assert (hc_str_eq_cstr (r.cmd.user, "al"));
    s_expect_invalid ("{\"type\":\"join\",\"room\":\"r\"}", SIG_E_INVALID_FIELD);
    s_expect_invalid ("{\"type\":\"join\",\"room\":\"r\",\"user\":\" \"}",
                      SIG_E_INVALID_FIELD);
    s_expect_invalid ("{\"type\":\"join\",\"room\":5,\"user\":\"u\"}",
                      SIG_E_INVALID_FIELD);
    s_expect_invalid ("{\"type\":\"join\",\"room\":null,\"user\":\"u\"}",
                      SIG_E_INVALID_FIELD);
    char long_room [400];
    snprintf (long_room, sizeof (long_room),
              "{\"type\":\"join\",\"room\":\"%0300d\",\"user\":\"u\"}", 7);
    s_expect_invalid (long_room, SIG_E_INVALID_FIELD);

    //  leave: names optional, strings when given
    r = s_read ("{\"type\":\"leave\"}");
    assert (r.kind == GW_SIG_COMMAND && r.cmd.op == MSG_SIG_LEAVE);
    assert (!hc_str_present (r.cmd.room) && !hc_str_present (r.cmd.user));
    r = s_read ("{\"type\":\"leave\",\"room\":\"w1\",\"user\":\"bob\"}");
    assert (hc_str_eq_cstr (r.cmd.room, "w1"));
    s_expect_invalid ("{\"type\":\"leave\",\"room\":[]}", SIG_E_INVALID_FIELD);

    //  offer: the sdp's original text, to trimmed, extras ignored
    r = s_read ("{\"type\":\"offer\",\"room\":\"w1\",\"from\":\"alice\","
                "\"sdp\":\"v=0\\r\\no=- 4451\",\"to\":\" x \",\"extra\":1}");
    assert (r.kind == GW_SIG_COMMAND && r.cmd.op == MSG_SIG_OFFER);
    assert (hc_str_eq_cstr (r.cmd.payload, "\"v=0\\r\\no=- 4451\""));
    assert (hc_str_eq_cstr (r.cmd.to, "x"));
    assert (hc_str_eq_cstr (r.cmd.room, "w1"));
    r = s_read ("{\"type\":\"answer\",\"sdp\":\"x\"}");
    assert (r.kind == GW_SIG_COMMAND && !hc_str_present (r.cmd.room));
    s_expect_invalid ("{\"type\":\"offer\",\"room\":\"w1\"}", SIG_E_INVALID_FIELD);
    s_expect_invalid ("{\"type\":\"offer\",\"sdp\":{\"a\":1}}",
                      SIG_E_INVALID_FIELD);
    s_expect_invalid ("{\"type\":\"offer\",\"sdp\":\"x\",\"from\":7}",
                      SIG_E_INVALID_FIELD);
    s_expect_invalid ("{\"type\":\"offer\",\"sdp\":\"x\",\"to\":false}",
                      SIG_E_INVALID_FIELD);
    s_expect_invalid ("{\"type\":\"answer\",\"sdp\":null}", SIG_E_INVALID_FIELD);

    //  A real-sized SDP (skipped by cJSON) comes out as written
    char frame [2048], sdp [1600];
    memset (sdp, 'x', sizeof (sdp));
    memcpy (sdp, "v=0\\r\\n", 7);
    sdp [sizeof (sdp) - 1] = 0;
    snprintf (frame, sizeof (frame),
              "{\"type\":\"offer\",\"room\":\"w1\",\"sdp\":\"%s\"}", sdp);
    r = s_read (frame);
    assert (r.kind == GW_SIG_COMMAND && r.cmd.payload.len == strlen (sdp) + 2);
    assert (memcmp (r.cmd.payload.ptr + 1, sdp, strlen (sdp)) == 0);
    snprintf (frame, sizeof (frame),
              "{\"type\":\"offer\",\"room\":\"w1\",\"sdp\":\"\\x%s\"}", sdp);
    s_expect_invalid (frame, SIG_E_INVALID_JSON);

    //  candidate: an object or a string, relayed as written
    r = s_read ("{\"type\":\"candidate\",\"room\":\"w1\",\"candidate\":"
                "{\"candidate\":\"candidate:1 1 udp\",\"sdpMid\":\"0\","
                "\"sdpMLineIndex\":0}}");
    assert (r.kind == GW_SIG_COMMAND && r.cmd.op == MSG_SIG_CANDIDATE);
    assert (hc_str_eq_cstr (r.cmd.payload,
                            "{\"candidate\":\"candidate:1 1 udp\",\"sdpMid\":"
                            "\"0\",\"sdpMLineIndex\":0}"));
    r = s_read ("{\"type\":\"candidate\",\"candidate\":\"candidate:2\"}");
    assert (r.kind == GW_SIG_COMMAND);
    s_expect_invalid ("{\"type\":\"candidate\",\"candidate\":5}",
                      SIG_E_INVALID_FIELD);
    s_expect_invalid ("{\"type\":\"candidate\",\"candidate\":{\"i\":01}}",
                      SIG_E_INVALID_FIELD);

    //  ICE servers are asked of the gateway; extra fields are ignored
    r = s_read ("{\"type\":\"ice-servers\"}");
    assert (r.kind == GW_SIG_ICE_SERVERS);
    r = s_read ("{\"type\":\"ice-servers\",\"room\":5}");
    assert (r.kind == GW_SIG_ICE_SERVERS);
    s_expect_invalid ("{\"type\":\"ICE-servers\"}", SIG_E_UNKNOWN_TYPE);

    //  A client's error report is recognised, never relayed
    r = s_read ("{\"type\":\"error\",\"message\":\"camera failed\"}");
    assert (r.kind == GW_SIG_CLIENT_ERROR);
    assert (hc_str_eq_cstr (r.client_message, "camera failed"));
    s_expect_invalid ("{\"type\":\"error\"}", SIG_E_INVALID_FIELD);
    gw_json_teardown ();
    if (verbose)
        printf ("OK\n");
}
