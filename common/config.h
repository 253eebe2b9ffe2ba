/*  config.h - every setting of the server, from flags, environment and .env

    Precedence: command-line flag, then environment variable, then the .env
    file in the working directory, then the built-in default. Every option
    has a flag (--ws-port) and an environment name (WS_PORT); --help lists
    them all. Bad values are refused with a message naming the option.

    Durations are whole numbers with a unit: 250ms, 30s, 5m, 1h (no unit
    means seconds). Sizes: 65536, 64KiB, 1MiB (K/KB/KiB all mean 1024).
*/
#ifndef CONFIG_H_INCLUDED
#define CONFIG_H_INCLUDED

#include "msg_log.h"

#include <stdint.h>
#include <stdio.h>

#define HC_CFG_TEXT 256         //  room for text settings

typedef enum {
    HC_LOG_FORMAT_AUTO = 0,     //  text on a terminal, else JSON lines
    HC_LOG_FORMAT_TEXT,
    HC_LOG_FORMAT_JSON
} hc_log_format_t;

//  A plain value: each actor gets its own copy.
typedef struct {
    //  WebSocket listener (gateway)
    char ws_host [HC_CFG_TEXT];     //  address to bind
    int64_t ws_port;                //  port to bind; 0 picks a free one
    int64_t max_frame_size;         //  bytes; larger messages close with 1009
    int64_t max_connections;        //  concurrent WebSocket connections
    int64_t max_connections_per_ip; //  per client address (0: no cap)
    int64_t max_handshakes;         //  sockets in their handshake at once
    int64_t handshake_timeout_ms;   //  accept to a complete handshake
    int64_t max_header_size;        //  bytes of a handshake's headers
    int64_t buffer_budget;          //  bytes held for all clients (0: auto)
    char trusted_proxies [HC_CFG_TEXT];     //  whose X-Forwarded-For counts
    char metrics_allow [HC_CFG_TEXT];       //  who may read /metrics
    char tls_cert [HC_CFG_TEXT];            //  PEM chain: wss:// ("" = ws://)
    char tls_key [HC_CFG_TEXT];             //  its private key
    char allowed_origins [HC_CFG_TEXT];     //  Origins let in ("" = any)
    int64_t rate_limit;             //  frames per second per connection
    int64_t rate_burst;             //  frames a connection may send at once
    int64_t send_queue_max;         //  bytes queued to one slow client
    int64_t ping_interval_ms;       //  idle time before a WebSocket ping
    int64_t ping_timeout_ms;        //  wait for traffic after a ping
    bool demo_page;                 //  GET / serves the call page

    //  ICE servers handed to clients (gateway); docs/deploy.md
    char stun_urls [HC_CFG_TEXT];   //  comma-separated stun: URLs
    char turn_urls [HC_CFG_TEXT];   //  comma-separated turn:/turns: URLs
    char turn_secret [HC_CFG_TEXT]; //  coturn static-auth-secret; never logged
    int64_t turn_ttl_ms;            //  life of a TURN credential

    //  /signal rooms (rooms)
    int64_t room_max_members;       //  members of one room
    int64_t max_rooms;              //  rooms with members or queued frames
    int64_t queue_max_frames;       //  queued frames per room
    int64_t queue_max_bytes;        //  queued bytes per room
    int64_t queue_total_bytes;      //  queued bytes over all rooms
    int64_t queue_ttl_ms;           //  life of a queued frame

    //  p2p dialect (gateway: heartbeat; rooms: the rest)
    int64_t p2p_heartbeat_interval_ms;  //  how often PINGs are checked
    int64_t p2p_heartbeat_timeout_ms;   //  silence before a close
    int64_t p2p_waiting_ttl_ms;         //  life of a waiting-list entry
    int64_t p2p_waiting_sweep_ms;       //  how often entries are expired
    int64_t p2p_reconnect_grace_ms;     //  a dropped call waits this long
    int64_t p2p_max_users;              //  registered users
    int64_t p2p_max_devices;            //  connections of one user
    int64_t p2p_max_waiting;            //  waiting-list entries

    //  Logging (notifier)
    hc_log_level_t log_level;       //  least severe level written
    hc_log_format_t log_format;     //  text or JSON lines
    char log_file [HC_CFG_TEXT];    //  also append lines here ("" = no)

    //  Telegram alerts (notifier)
    char telegram_bot_token [HC_CFG_TEXT];  //  "" = alerts off; never logged
    char telegram_chat_ids [HC_CFG_TEXT];   //  comma-separated chat ids
    char telegram_api_url [HC_CFG_TEXT];    //  Bot API base URL
    hc_log_level_t telegram_min_level;      //  least severe alert sent
    int64_t telegram_interval_ms;   //  least time between two messages/chat
    int64_t telegram_per_minute;    //  messages per minute per chat
    int64_t telegram_merge_window_ms;   //  identical alerts merge within
    int64_t telegram_queue_max;     //  alerts waiting per chat
    int64_t telegram_timeout_ms;    //  whole request
    int64_t telegram_connect_timeout_ms;    //  TCP + TLS connect
    int64_t telegram_backoff_min_ms;    //  first retry after 5xx/network
    int64_t telegram_backoff_max_ms;    //  longest retry delay
    int64_t client_error_burst;     //  client errors per window that alert
    char telegram_subscribe_secret [HC_CFG_TEXT];   //  "/start SECRET"
    char telegram_state_file [HC_CFG_TEXT]; //  subscribed chats
    int64_t telegram_poll_timeout_ms;   //  getUpdates long polling

    //  Endpoints between actors
    char rooms_endpoint [HC_CFG_TEXT];      //  rooms ROUTER
    char events_in_endpoint [HC_CFG_TEXT];  //  bus XSUB (publishers)
    char events_out_endpoint [HC_CFG_TEXT]; //  bus XPUB (subscribers)

    //  Deployment: which actors run here, links between processes
    char actors [HC_CFG_TEXT];              //  "gateway,rooms,notifier"
    char observer_endpoint [HC_CFG_TEXT];   //  bus XPUB for observers
    int64_t link_heartbeat_ms;              //  HELLO and ZMTP ping period
    int64_t link_timeout_ms;                //  silence that ends a link
    char curve_secret_key [HC_CFG_TEXT];    //  our certificate (secret)
    char curve_server_key [HC_CFG_TEXT];    //  the bus/rooms certificate
    char curve_allowed_keys [HC_CFG_TEXT];  //  certificates we accept
    char trace [HC_CFG_TEXT];               //  gateway: JSON-lines trace
} hc_config_t;

//  Fills cfg from defaults, dotenv_path (NULL: "./.env"; a missing file is
//  fine), the environment and argv. Returns 0 when the server should run,
//  1 when --help or --version was printed, -1 on a bad value (err holds a
//  one-line message).
int
    hc_config_load (hc_config_t *cfg, int argc, char **argv,
                    const char *dotenv_path, char *err, size_t err_size);

//  Writes the option table: flag, environment name, default, meaning
void
    hc_config_print_help (FILE *out);

//  Parsers, exposed for other tools; each returns 0 or -1
int
    hc_parse_duration_ms (const char *text, int64_t *ms);
int
    hc_parse_size (const char *text, int64_t *bytes);
//  Least severe level the actors publish: the log's, or info when alerts
//  are on (start/stop and client errors are counted from info records)
hc_log_level_t
    hc_config_publish_level (const hc_config_t *cfg);

void
    hc_config_test (bool verbose);

#endif
