/*  homecall_tap.c - watches a running server: every event on its bus, as
    one JSON line each

    homecall-tap [--endpoint EP] [--count N] [--curve-secret-key FILE
                  --curve-server-key FILE] [PREFIX ...]

    Connects a SUB socket to the observer endpoint (EP, else
    $OBSERVER_ENDPOINT, else tcp://127.0.0.1:5556), subscribes to each
    PREFIX (every topic when none is given: "conn.", "relay.", "log.warn",
    "error." ...) and prints each message as

      {"topic":"relay.forwarded","time":"...","level":"info",
       "actor":"rooms","event":"relay.forwarded","type":"offer",...}

    With --count N it exits after N events. A message that is not a topic
    and a record the codec accepts is reported on stderr and skipped.

    This is also the example to copy for an observer of one's own: a SUB
    socket, a topic filter, and msg_dec_log for the body (common/msg_log.h).
    Being slow costs the observer only: the bus drops what it cannot take.
*/
#include "common/bus.h"
#include "common/config.h"
#include "common/link.h"
#include "common/msg_log.h"
#include "common/utf8.h"
#include "notifier/log_line.h"

#include <czmq.h>

#define DEFAULT_ENDPOINT "tcp://127.0.0.1:5556"
#define STOP_CHECK_MS 200       //  how soon a signal is noticed

static void
s_usage (void)
{
    fprintf (stderr,
             "usage: homecall-tap [--endpoint EP] [--count N]\n"
             "                    [--curve-secret-key FILE "
             "--curve-server-key FILE] [PREFIX ...]\n"
             "  EP: the server's OBSERVER_ENDPOINT (default %s)\n"
             "  PREFIX: topics to print (default: all)\n",
             DEFAULT_ENDPOINT);
}

static const char *
s_env (const char *name, const char *fallback)
{
    const char *value = getenv (name);
    return value && *value ? value : fallback;
}

//  One message: [topic][record]; prints it, or says why not. Returns true
//  if it printed an event.
static bool
s_print (zmsg_t *msg, msg_dec_t *dec, hc_buf_t *line)
{
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    msg_log_t record;
    const char *why = NULL;
    if (topic && zframe_streq (topic, HC_BUS_PROBE))
        return false;           //  the notifier checking the bus
    if (zmsg_size (msg) != 2)
        why = "wrong number of parts";
    else
    if (!utf8_valid ((const char *) zframe_data (topic), zframe_size (topic)))
        why = "topic is not UTF-8";
    else
    if (msg_dec_log (dec, zframe_data (body), zframe_size (body), &record))
        why = msg_dec_error (dec);
    if (why) {
        fprintf (stderr, "homecall-tap: skipped a malformed message: %s\n",
                 why);
        return false;
    }
    hc_buf_reset (line);
    hc_buf_append_cstr (line, "{\"topic\":");
    hc_buf_append_json_str (line, (hc_str_t){(const char *) zframe_data (topic),
                                             zframe_size (topic)});
    hc_buf_append_char (line, ',');
    size_t start = line->len;
    log_line_format (line, &record, true);
    if (line->failed)
        return false;
    //  log_line_format wrote "{...}\n": drop its opening brace
    memmove (line->data + start, line->data + start + 1, line->len - start - 1);
    line->len--;
    fwrite (line->data, 1, line->len, stdout);
    fflush (stdout);
    return true;
}

int
main (int argc, char **argv)
{
    hc_config_t cfg;
    memset (&cfg, 0, sizeof (cfg));
    cfg.link_heartbeat_ms = 1000;
    cfg.link_timeout_ms = 5000;
    const char *endpoint = s_env ("OBSERVER_ENDPOINT", DEFAULT_ENDPOINT);
    snprintf (cfg.curve_secret_key, HC_CFG_TEXT, "%s",
              s_env ("CURVE_SECRET_KEY", ""));
    snprintf (cfg.curve_server_key, HC_CFG_TEXT, "%s",
              s_env ("CURVE_SERVER_KEY", ""));
    long count = -1;
    const char *prefixes [64];
    int prefixes_n = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv [i];
        const char *value = i + 1 < argc ? argv [i + 1] : NULL;
        if (streq (arg, "--help") || streq (arg, "-h")) {
            s_usage ();
            return 0;
        }
        else
        if (streq (arg, "--endpoint") && value) {
            endpoint = value;
            i++;
        }
        else
        if (streq (arg, "--count") && value) {
            count = atol (value);
            i++;
        }
        else
        if (streq (arg, "--curve-secret-key") && value) {
            snprintf (cfg.curve_secret_key, HC_CFG_TEXT, "%s", value);
            i++;
        }
        else
        if (streq (arg, "--curve-server-key") && value) {
            snprintf (cfg.curve_server_key, HC_CFG_TEXT, "%s", value);
            i++;
        }
        else
        if (arg [0] == '-' || prefixes_n == 64) {
            s_usage ();
            return 2;
        }
        else
            prefixes [prefixes_n++] = arg;
    }
    char err [256];
    if (hc_link_check (&cfg, false, true, err, sizeof (err))) {
        fprintf (stderr, "homecall-tap: %s\n", err);
        return 2;
    }
    zsys_init ();
    zsock_t *sub = zsock_new (ZMQ_SUB);
    assert (sub);
    zsock_set_rcvhwm (sub, 100000);
    if (prefixes_n == 0)
        zsock_set_subscribe (sub, "");
    for (int i = 0; i < prefixes_n; i++)
        zsock_set_subscribe (sub, prefixes [i]);
    if (hc_link_connect (sub, endpoint, &cfg)) {
        fprintf (stderr, "homecall-tap: cannot connect to %s\n", endpoint);
        zsock_destroy (&sub);
        return 2;
    }
    msg_dec_t *dec = msg_dec_new ();
    hc_buf_t line;
    hc_buf_init (&line, 0);
    long printed = 0;
    //  A signal between two receives would leave the next one blocked
    //  for good: receives time out, and the flag is looked at each time
    zsock_set_rcvtimeo (sub, STOP_CHECK_MS);
    while (!zsys_interrupted && (count < 0 || printed < count)) {
        zmsg_t *msg = zmsg_recv (sub);
        if (!msg)
            continue;           //  timed out, or interrupted
        if (s_print (msg, dec, &line))
            printed++;
        zmsg_destroy (&msg);
    }
    hc_buf_free (&line);
    msg_dec_destroy (&dec);
    zsock_destroy (&sub);
    zsys_shutdown ();
    return 0;
}
