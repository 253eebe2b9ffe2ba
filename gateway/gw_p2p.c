/*  gw_p2p.c - reads one p2p client frame into a command for rooms */
#include "gw_p2p.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

//  Members that the routes consume: never relayed as payload. "ws" and
//  "currAction" broke the original's handlers; here they are just dropped.
static const char *const s_offer_consumed [] = {
    "route", "userId", "candidates", "candidateId", "retry", "isUpdate",
    "name", "ws", "currAction", NULL};
static const char *const s_media_consumed [] = {
    "route", "userId", "ws", "currAction", NULL};

void
gw_p2p_js_number (double value, char out [32])
{
    if (isnan (value)) {
        strcpy (out, "NaN");
        return;
    }
    if (isinf (value)) {
        strcpy (out, value > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (value == 0) {
        strcpy (out, "0");      //  -0 too
        return;
    }
    //  The shortest digits that read back as the same double
    char sci [40];
    int precision;
    for (precision = 1; precision <= 17; precision++) {
        snprintf (sci, sizeof (sci), "%.*e", precision - 1, value);
        if (strtod (sci, NULL) == value)
            break;
    }
    char digits [20];
    size_t k = 0;
    const char *p = sci;
    bool negative = *p == '-';
    if (negative)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits [k++] = *p;
    digits [k] = 0;
    int n = atoi (p + 1) + 1;   //  where the decimal point goes
    //  At most 17 digits, 21 places, a sign and "e-324": fits in 32
    hc_buf_t text;
    hc_buf_init (&text, 0);
    if (negative)
        hc_buf_append_char (&text, '-');
    if ((int) k <= n && n <= 21) {
        hc_buf_append (&text, digits, k);
        for (int i = (int) k; i < n; i++)
            hc_buf_append_char (&text, '0');
    }
    else
    if (0 < n && n <= 21) {
        hc_buf_append (&text, digits, (size_t) n);
        hc_buf_append_char (&text, '.');
        hc_buf_append_cstr (&text, digits + n);
    }
    else
    if (-6 < n && n <= 0) {
        hc_buf_append_cstr (&text, "0.");
        for (int i = 0; i < -n; i++)
            hc_buf_append_char (&text, '0');
        hc_buf_append_cstr (&text, digits);
    }
    else {
        hc_buf_append_char (&text, digits [0]);
        if (k > 1) {
            hc_buf_append_char (&text, '.');
            hc_buf_append_cstr (&text, digits + 1);
        }
        hc_buf_append_cstr (&text, n - 1 >= 0 ? "e+" : "e-");
        hc_buf_append_int (&text, abs (n - 1));
    }
    size_t len = text.len < 31 ? text.len : 31;
    memcpy (out, hc_buf_cstr (&text), len);
    out [len] = 0;
    hc_buf_free (&text);
}

//  JavaScript truthiness of a parsed value
static bool
s_truthy (const cJSON *item)
{
    if (!item || cJSON_IsNull (item) || cJSON_IsFalse (item))
        return false;
    if (cJSON_IsNumber (item))
        return item->valuedouble != 0 && !isnan (item->valuedouble);
    if (cJSON_IsString (item))
        return item->valuestring [0] != 0;
    return true;
}

//  String(value) for a value used as an object key; objects and arrays,
//  which no client uses as an id, give nothing
static hc_str_t
s_key_of (const cJSON *item, char number [32])
{
    if (cJSON_IsString (item))
        return hc_str (item->valuestring);
    if (cJSON_IsNumber (item)) {
        gw_p2p_js_number (item->valuedouble, number);
        return hc_str (number);
    }
    if (cJSON_IsBool (item))
        return hc_str (cJSON_IsTrue (item) ? "true" : "false");
    if (cJSON_IsNull (item))
        return HC_STR_LIT ("null");
    return HC_STR_NULL;
}

gw_p2p_result_t *
gw_p2p_result_new (void)
{
    return (gw_p2p_result_t *) calloc (1, sizeof (gw_p2p_result_t));
}

void
gw_p2p_result_destroy (gw_p2p_result_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

//  The raw text of a member (the last one of that name), or absent
static hc_str_t
s_raw (const gw_p2p_result_t *result, size_t members_n, const char *key)
{
    for (size_t i = members_n; i > 0; i--)
        if (hc_str_eq_cstr (result->members [i - 1].key, key))
            return result->members [i - 1].value;
    return HC_STR_NULL;
}

//  OFFER's candidates: an array as is; a string parsed as JSON (an array
//  is used, another value v becomes [v], unparsable text [text]); any
//  other value x becomes [x]
static void
s_callees (gw_p2p_result_t *result, const cJSON *candidates)
{
    msg_p2p_t *cmd = &result->cmd;
    cmd->callees = result->callees;
    cmd->callees_n = 0;
    if (!candidates)
        return;
    const cJSON *list = candidates;
    cJSON *parsed = NULL;
    if (cJSON_IsString (candidates)) {
        //  Not gw_json_parse: that would rewind the arena under root
        parsed = cJSON_Parse (candidates->valuestring);
        list = parsed ? parsed : candidates;
    }
    if (cJSON_IsArray (list)) {
        const cJSON *item;
        cJSON_ArrayForEach (item, list) {
            if (cmd->callees_n == MSG_MAX_P2P_IDS)
                break;
            hc_str_t key = s_key_of (item, result->numbers [cmd->callees_n]);
            if (hc_str_present (key))
                result->callees [cmd->callees_n++] = key;
        }
    }
    else {
        hc_str_t key = s_key_of (list, result->numbers [0]);
        if (hc_str_present (key))
            result->callees [cmd->callees_n++] = key;
    }
    //  Keys must outlive the parsed copy: those of strings point into it.
    //  One too long to keep stays too long, so the frame is refused.
    if (parsed) {
        for (size_t i = 0; i < cmd->callees_n; i++) {
            hc_str_t key = result->callees [i];
            if (key.ptr == result->numbers [i] || key.len > MSG_MAX_KEY)
                continue;
            memcpy (result->ids [i], key.ptr, key.len);
            result->ids [i][key.len] = 0;
            result->callees [i] = (hc_str_t){result->ids [i], key.len};
        }
        for (size_t i = 0; i < cmd->callees_n; i++)
            if (result->callees [i].len > MSG_MAX_KEY)
                result->callees [i] = (hc_str_t){"", MSG_MAX_KEY + 1};
        cJSON_Delete (parsed);
    }
}

//  Members not consumed by the route, de-duplicated as JSON.parse does
//  (the last value, at the first one's place)
static void
s_payload (gw_p2p_result_t *result, size_t members_n,
           const char *const *consumed)
{
    msg_p2p_t *cmd = &result->cmd;
    cmd->payload = result->payload;
    cmd->payload_n = 0;
    for (size_t i = 0; i < members_n; i++) {
        const gw_member_t *m = &result->members [i];
        if (hc_str_in (m->key, consumed))
            continue;
        size_t at;
        for (at = 0; at < cmd->payload_n; at++)
            if (hc_str_eq (result->payload [at].key, m->key))
                break;
        result->payload [at] = (hc_field_t){
            .key = m->key, .type = HC_V_RAW, .str = m->value};
        if (at == cmd->payload_n)
            cmd->payload_n++;
    }
}

static bool
s_route (const char *name, msg_p2p_route_t *route)
{
    for (int r = 0; r < MSG_P2P_ROUTE_COUNT; r++)
        if (strcmp (name, msg_p2p_route_name ((msg_p2p_route_t) r)) == 0) {
            *route = (msg_p2p_route_t) r;
            return true;
        }
    return false;
}

void
gw_p2p_read (const char *text, size_t len, cJSON **root_p,
             gw_p2p_result_t *result)
{
    result->kind = GW_P2P_INVALID;
    memset (&result->cmd, 0, sizeof (result->cmd));
    if (len == 4 && memcmp (text, "PING", 4) == 0) {
        result->kind = GW_P2P_PING;
        return;
    }
    cJSON *root = *root_p = gw_json_parse (text, len);
    if (!cJSON_IsObject (root))
        return;
    const cJSON *route_item = gw_json_member (root, "route");
    if (!cJSON_IsString (route_item))
        return;
    if (strcmp (route_item->valuestring, "PING") == 0) {
        result->kind = GW_P2P_PING;
        return;
    }
    if (strcmp (route_item->valuestring, "GET_ICE_SERVERS") == 0) {
        result->kind = GW_P2P_ICE_SERVERS;      //  docs/p2p.md
        return;
    }
    msg_p2p_t *cmd = &result->cmd;
    if (!s_route (route_item->valuestring, &cmd->route))
        return;
    int n = gw_json_members (text, len, result->members, GW_P2P_MAX_MEMBERS);
    if (n < 0)
        return;
    size_t members_n = (size_t) n;
    //  Everything may be relayed or echoed: it must be JSON a browser reads
    for (size_t i = 0; i < members_n; i++)
        if (!result->members [i].strict)
            return;

    const cJSON *user = gw_json_member (root, "userId");
    cmd->user_raw = s_raw (result, members_n, "userId");
    if ((cJSON_IsString (user) || cJSON_IsNumber (user)) && s_truthy (user))
        cmd->user_key = s_key_of (user, result->numbers [MSG_MAX_P2P_IDS]);
    const cJSON *is_update = gw_json_member (root, "isUpdate");
    const cJSON *name = gw_json_member (root, "name");

    switch (cmd->route) {
        case MSG_P2P_ADD_USER:
            //  Stored as sent; defaults ("" and "mobile") are rooms' part
            cmd->name = s_raw (result, members_n, "name");
            cmd->photo = s_raw (result, members_n, "photo");
            cmd->device = s_raw (result, members_n, "device");
            break;
        case MSG_P2P_RECONNECT:
            //  name || stored.name, and so on: only truthy values count
            if (s_truthy (name))
                cmd->name = s_raw (result, members_n, "name");
            if (s_truthy (gw_json_member (root, "photo")))
                cmd->photo = s_raw (result, members_n, "photo");
            if (s_truthy (gw_json_member (root, "device")))
                cmd->device = s_raw (result, members_n, "device");
            break;
        case MSG_P2P_OFFER:
        case MSG_P2P_UPDATE_OFFER:
            //  name ?? caller's name: null counts as not given
            if (name && !cJSON_IsNull (name))
                cmd->name = s_raw (result, members_n, "name");
            cmd->is_update = s_truthy (is_update);
            if (cmd->route == MSG_P2P_OFFER)
                s_callees (result, gw_json_member (root, "candidates"));
            s_payload (result, members_n, s_offer_consumed);
            break;
        case MSG_P2P_ANSWER:
        case MSG_P2P_UPDATE_ANSWER:
            cmd->answer = s_raw (result, members_n, "answer");
            cmd->is_update = s_truthy (is_update);
            break;
        case MSG_P2P_ADD_ICE:
            cmd->ice_params = s_raw (result, members_n, "iceParams");
            break;
        case MSG_P2P_SET_REMOTE_STREAM_ID: {
            const cJSON *kind = gw_json_member (root, "kind");
            if (s_truthy (kind))
                cmd->kind = s_key_of (kind, result->numbers [MSG_MAX_P2P_IDS
                                                            + 1]);
            if (s_truthy (gw_json_member (root, "streamId")))
                cmd->stream_id = s_raw (result, members_n, "streamId");
            break;
        }
        case MSG_P2P_MEDIA_UPDATE:
            s_payload (result, members_n, s_media_consumed);
            break;
        case MSG_P2P_DECLINE:
        case MSG_P2P_SWAP_ICE:
        case MSG_P2P_ROUTE_COUNT:
            break;
    }
    //  Ids longer than any real one are malformed, not truncated
    bool too_long = cmd->user_key.len > MSG_MAX_KEY
                 || cmd->kind.len > MSG_MAX_KEY;
    for (size_t i = 0; i < cmd->callees_n; i++)
        too_long |= cmd->callees [i].len > MSG_MAX_KEY;
    if (too_long)
        return;
    result->kind = GW_P2P_COMMAND;
}

//  ---------------------------------------------------------------------
//  Self test

static gw_p2p_result_t s_result;

static msg_p2p_t *
s_read (const char *text, cJSON **root)
{
    gw_p2p_read (text, strlen (text), root, &s_result);
    return &s_result.cmd;
}

static void
s_number (double value, const char *expected)
{
    char out [32];
    gw_p2p_js_number (value, out);
    if (strcmp (out, expected) != 0) {
        fprintf (stderr, "\nString(%.17g): expected %s, got %s\n", value,
                 expected, out);
        assert (false);
    }
}

void
gw_p2p_test (bool verbose)
{
    if (verbose)
        printf (" * gw_p2p: ");
    gw_json_setup ();
    s_number (101, "101");
    s_number (-5, "-5");
    s_number (1.5, "1.5");
    s_number (0.1, "0.1");
    s_number (1e21, "1e+21");
    s_number (1e20, "100000000000000000000");
    s_number (123456789012, "123456789012");
    s_number (0.000001, "0.000001");
    s_number (1e-7, "1e-7");
    s_number (-1.25e-9, "-1.25e-9");
    s_number (2.5e25, "2.5e+25");

    cJSON *root = NULL;
    //  The envelope
    gw_p2p_read ("PING", 4, &root, &s_result);
    assert (s_result.kind == GW_P2P_PING && root == NULL);
    const char *not_ping [] = {"ping", " PING", "PING\n", "PONG"};
    for (int i = 0; i < 4; i++) {
        gw_p2p_read (not_ping [i], strlen (not_ping [i]), &root, &s_result);
        assert (s_result.kind == GW_P2P_INVALID);
        gw_json_release (&root);
    }
    const char *invalid [] = {
        "", "null", "[]", "5", "\"x\"", "{}", "{\"route\":5}",
        "{\"route\":\"NOPE\"}", "{\"route\":\"add_user\"}",
        "{\"route\":\"OFFER\",\"userId\":01}"};
    for (int i = 0; i < 10; i++) {
        s_read (invalid [i], &root);
        assert (s_result.kind == GW_P2P_INVALID);
        gw_json_release (&root);
    }
    s_read ("{\"route\":\"PING\"}", &root);
    assert (s_result.kind == GW_P2P_PING);
    gw_json_release (&root);
    s_read ("{\"route\":\"GET_ICE_SERVERS\",\"userId\":\"a\"}", &root);
    assert (s_result.kind == GW_P2P_ICE_SERVERS);
    gw_json_release (&root);

    //  ADD_USER: userId as a key and as written; values stored as sent
    msg_p2p_t *cmd = s_read ("{\"route\":\"ADD_USER\",\"userId\":101,"
                             "\"name\":\"Al\",\"photo\":null}", &root);
    assert (s_result.kind == GW_P2P_COMMAND && cmd->route == MSG_P2P_ADD_USER);
    assert (hc_str_eq_cstr (cmd->user_key, "101"));
    assert (hc_str_eq_cstr (cmd->user_raw, "101"));
    assert (hc_str_eq_cstr (cmd->name, "\"Al\""));
    assert (hc_str_eq_cstr (cmd->photo, "null"));
    assert (!hc_str_present (cmd->device));
    gw_json_release (&root);
    //  Falsy ids have no key but are still reported as written
    const char *falsy [] = {"\"\"", "0", "null", "false", "true", "{}"};
    for (int i = 0; i < 6; i++) {
        char text [80];
        snprintf (text, sizeof (text),
                  "{\"route\":\"ADD_USER\",\"userId\":%s}", falsy [i]);
        cmd = s_read (text, &root);
        assert (s_result.kind == GW_P2P_COMMAND);
        assert (!hc_str_present (cmd->user_key));
        assert (hc_str_eq_cstr (cmd->user_raw, falsy [i]));
        gw_json_release (&root);
    }

    //  RECONNECT: only truthy values override the stored ones
    cmd = s_read ("{\"route\":\"RECONNECT\",\"userId\":\"bob\",\"name\":"
                  "\"Bobby\",\"photo\":\"\",\"device\":null}", &root);
    assert (hc_str_eq_cstr (cmd->name, "\"Bobby\""));
    assert (!hc_str_present (cmd->photo) && !hc_str_present (cmd->device));
    gw_json_release (&root);

    //  OFFER: candidates in every form, payload verbatim and in order
    cmd = s_read ("{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":"
                  "[\"bob\",202],\"offer\":{\"type\":\"offer\",\"sdp\":\"v\"},"
                  "\"isVideo\":true,\"retry\":1,\"candidateId\":\"x\","
                  "\"isUpdate\":0,\"type\":\"offer\"}", &root);
    assert (cmd->route == MSG_P2P_OFFER && !cmd->is_update);
    assert (cmd->callees_n == 2 && hc_str_eq_cstr (cmd->callees [1], "202"));
    assert (cmd->payload_n == 3);
    assert (hc_str_eq_cstr (cmd->payload [0].key, "offer"));
    assert (hc_str_eq_cstr (cmd->payload [0].str,
                            "{\"type\":\"offer\",\"sdp\":\"v\"}"));
    assert (hc_str_eq_cstr (cmd->payload [1].str, "true"));
    assert (hc_str_eq_cstr (cmd->payload [2].key, "type"));  //  rooms drops
    gw_json_release (&root);
    cmd = s_read ("{\"route\":\"OFFER\",\"userId\":\"alice\",\"candidates\":"
                  "\"[\\\"carol\\\",\\\"dave\\\"]\",\"sdp\":\"S\"}", &root);
    assert (cmd->callees_n == 2 && hc_str_eq_cstr (cmd->callees [0], "carol"));
    assert (hc_str_eq_cstr (cmd->callees [1], "dave"));
    gw_json_release (&root);
    cmd = s_read ("{\"route\":\"OFFER\",\"userId\":\"a\",\"candidates\":\"b2\","
                  "\"name\":null}", &root);
    assert (cmd->callees_n == 1 && hc_str_eq_cstr (cmd->callees [0], "b2"));
    assert (!hc_str_present (cmd->name));
    gw_json_release (&root);
    cmd = s_read ("{\"route\":\"OFFER\",\"userId\":\"a\",\"candidates\":7,"
                  "\"name\":\"Z\",\"isUpdate\":true}", &root);
    assert (cmd->callees_n == 1 && hc_str_eq_cstr (cmd->callees [0], "7"));
    assert (hc_str_eq_cstr (cmd->name, "\"Z\"") && cmd->is_update);
    gw_json_release (&root);
    //  Ids from a JSON string are kept whole (a UUID is 36 bytes)
    cmd = s_read ("{\"route\":\"OFFER\",\"userId\":\"a\",\"candidates\":"
                  "\"[\\\"6f1c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6\\\"]\"}", &root);
    assert (cmd->callees_n == 1);
    assert (hc_str_eq_cstr (cmd->callees [0],
                            "6f1c2a3e-1b2c-4d5e-8f90-a1b2c3d4e5f6"));
    gw_json_release (&root);
    //  Ids longer than MSG_MAX_KEY are malformed
    char long_id [400];
    snprintf (long_id, sizeof (long_id),
              "{\"route\":\"ADD_USER\",\"userId\":\"%0300d\"}", 1);
    s_read (long_id, &root);
    assert (s_result.kind == GW_P2P_INVALID);
    gw_json_release (&root);
    cmd = s_read ("{\"route\":\"OFFER\",\"userId\":\"a\",\"candidates\":"
                  "\"\\\"solo\\\"\"}", &root);
    assert (cmd->callees_n == 1 && hc_str_eq_cstr (cmd->callees [0], "solo"));
    gw_json_release (&root);
    //  Duplicates: the last value at the first place
    cmd = s_read ("{\"route\":\"MEDIA_UPDATE\",\"userId\":\"a\",\"video\":1,"
                  "\"audio\":true,\"video\":false}", &root);
    assert (cmd->payload_n == 2);
    assert (hc_str_eq_cstr (cmd->payload [0].key, "video"));
    assert (hc_str_eq_cstr (cmd->payload [0].str, "false"));
    gw_json_release (&root);

    //  The other routes' members
    cmd = s_read ("{\"route\":\"ANSWER\",\"userId\":\"b\",\"answer\":{\"s\":1},"
                  "\"extra\":1,\"isUpdate\":\"yes\"}", &root);
    assert (hc_str_eq_cstr (cmd->answer, "{\"s\":1}") && cmd->is_update);
    assert (cmd->payload_n == 0);
    gw_json_release (&root);
    cmd = s_read ("{\"route\":\"ADD_ICE\",\"iceParams\":[{\"c\":1}]}", &root);
    assert (hc_str_eq_cstr (cmd->ice_params, "[{\"c\":1}]"));
    assert (!hc_str_present (cmd->user_raw));
    gw_json_release (&root);
    cmd = s_read ("{\"route\":\"SET_REMOTE_STREAM_ID\",\"userId\":\"a\","
                  "\"kind\":\"audio\",\"streamId\":\"s1\"}", &root);
    assert (hc_str_eq_cstr (cmd->kind, "audio"));
    assert (hc_str_eq_cstr (cmd->stream_id, "\"s1\""));
    gw_json_release (&root);
    cmd = s_read ("{\"route\":\"SET_REMOTE_STREAM_ID\",\"userId\":\"a\","
                  "\"kind\":\"\",\"streamId\":0}", &root);
    assert (!hc_str_present (cmd->kind) && !hc_str_present (cmd->stream_id));
    gw_json_release (&root);
    gw_json_teardown ();
    if (verbose)
        printf ("OK\n");
}
