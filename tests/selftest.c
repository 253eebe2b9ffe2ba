/*  selftest.c - runs the self test of one class, or of all of them

    selftest [--verbose] [--test NAME]...
*/
#include "app/replay_trace.h"
#include "bench/bench_lat.h"
#include "bench/bench_net.h"
#include "bench/bench_proc.h"
#include "bench/bench_report.h"
#include "bench/bench_sched.h"
#include "bench/bench_wire.h"
#include "bench/bench_ws.h"
#include "common/buf.h"
#include "common/bus.h"
#include "common/config.h"
#include "common/dotenv.h"
#include "common/endpoints.h"
#include "common/events.h"
#include "common/idmap.h"
#include "common/link.h"
#include "common/link_monitor.h"
#include "common/log.h"
#include "common/msg.h"
#include "common/msg_log.h"
#include "common/msg_rooms.h"
#include "common/netlist.h"
#include "common/origins.h"
#include "common/batch.h"
#include "common/deadline.h"
#include "common/sock.h"
#include "common/tally.h"
#include "common/utf8.h"
#include "gateway/gateway.h"
#include "gateway/gw_admission.h"
#include "gateway/gw_budget.h"
#include "gateway/gw_client.h"
#include "gateway/gw_demo.h"
#include "gateway/gw_http.h"
#include "gateway/gw_ice.h"
#include "gateway/gw_arena.h"
#include "gateway/gw_json.h"
#include "gateway/gw_linger.h"
#include "gateway/gw_liveness.h"
#include "gateway/gw_link.h"
#include "gateway/gw_metrics.h"
#include "gateway/gw_p2p.h"
#include "gateway/gw_refusals.h"
#include "gateway/gw_session.h"
#include "gateway/gw_signal.h"
#include "gateway/gw_tls.h"
#include "gateway/gw_trace.h"
#include "notifier/alert.h"
#include "notifier/alert_queue.h"
#include "notifier/alerts.h"
#include "notifier/log_line.h"
#include "notifier/notifier.h"
#include "notifier/subscribers.h"
#include "notifier/telegram.h"
#include "notifier/telegram_settings.h"
#include "rooms/gateways.h"
#include "rooms/p2p_calls.h"
#include "rooms/p2p_frame.h"
#include "rooms/p2p_outbox.h"
#include "rooms/p2p_waiting.h"
#include "rooms/rooms.h"
#include "rooms/sig_rooms.h"

#include <czmq.h>

typedef struct {
    const char *name;
    void (*test) (bool verbose);
} test_item_t;

static const test_item_t s_tests [] = {
    {"buf", hc_buf_test},
    {"tally", hc_tally_test},
    {"utf8", utf8_test},
    {"idmap", hc_idmap_test},
    {"msg", msg_test},
    {"msg_rooms", msg_rooms_test},
    {"msg_log", msg_log_test},
    {"sock", hc_sock_test},
    {"batch", hc_batch_test},
    {"deadline", hc_deadline_test},
    {"config", hc_config_test},
    {"config_options", hc_config_options_test},
    {"config_value", hc_config_value_test},
    {"dotenv", hc_dotenv_test},
    {"netlist", hc_netlist_test},
    {"origins", hc_origins_test},
    {"log", hc_log_test},
    {"bus", hc_bus_test},
    {"gateway", gateway_test},
    {"gw_admission", gw_admission_test},
    {"gw_budget", gw_budget_test},
    {"gw_client", gw_client_test},
    {"gw_demo", gw_demo_test},
    {"gw_http", gw_http_test},
    {"gw_ice", gw_ice_test},
    {"gw_linger", gw_linger_test},
    {"gw_liveness", gw_liveness_test},
    {"gw_metrics", gw_metrics_test},
    {"gw_arena", gw_arena_test},
    {"gw_json", gw_json_test},
    {"gw_json_scan", gw_json_scan_test},
    {"gw_p2p", gw_p2p_test},
    {"gw_refusals", gw_refusals_test},
    {"gw_session", gw_session_test},
    {"gw_signal", gw_signal_test},
    {"gw_tls", gw_tls_test},
    {"sig_rooms", sig_rooms_test},
    {"log_line", log_line_test},
    {"p2p_frame", p2p_frame_test},
    {"p2p_waiting", p2p_waiting_test},
    {"p2p_outbox", p2p_outbox_test},
    {"p2p_calls", p2p_calls_test},
    {"rooms", rooms_test},
    {"alert", alert_test},
    {"alert_queue", alert_queue_test},
    {"alerts", alerts_test},
    {"notifier", notifier_test},
    {"subscribers", subscribers_test},
    {"telegram", telegram_test},
    {"telegram_settings", telegram_settings_test},
    {"endpoints", hc_endpoints_test},
    {"link", hc_link_test},
    {"link_monitor", hc_link_monitor_test},
    {"events", hc_events_test},
    {"gateways", gateways_test},
    {"gw_link", gw_link_test},
    {"gw_trace", gw_trace_test},
    {"replay_trace", rt_trace_test},
    {"bench_lat", bench_lat_test},
    {"bench_net", bench_net_test},
    {"bench_proc", bench_proc_test},
    {"bench_report", bench_report_test},
    {"bench_sched", bench_sched_test},
    {"bench_wire", bench_wire_test},
    {"bench_ws", bench_ws_test},
};

#define TESTS_N (sizeof (s_tests) / sizeof (s_tests [0]))

int
main (int argc, char **argv)
{
    bool verbose = false;
    const char *only [64];
    size_t only_n = 0;
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "--verbose") || streq (argv [i], "-v"))
            verbose = true;
        else
        if (streq (argv [i], "--test") && i + 1 < argc && only_n < 64)
            only [only_n++] = argv [++i];
        else
        if (streq (argv [i], "--list")) {
            for (size_t t = 0; t < TESTS_N; t++)
                printf ("%s\n", s_tests [t].name);
            return 0;
        }
        else {
            fprintf (stderr, "usage: selftest [--verbose] [--list] "
                             "[--test NAME]...\n");
            return 2;
        }
    }
    size_t ran = 0;
    for (size_t t = 0; t < TESTS_N; t++) {
        bool wanted = only_n == 0;
        for (size_t o = 0; o < only_n; o++)
            if (streq (only [o], s_tests [t].name))
                wanted = true;
        if (wanted) {
            s_tests [t].test (verbose);
            ran++;
        }
    }
    if (ran == 0 || (only_n && ran != only_n)) {
        fprintf (stderr, "selftest: unknown test name\n");
        return 2;
    }
    //  CZMQ reports dangling sockets at exit; shut down now so it does
    zsys_shutdown ();
    printf ("selftest: %zu passed\n", ran);
    return 0;
}
