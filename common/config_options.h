/*  config_options.h - every setting: the struct the actors read, and the
    table that describes each of its fields once

    A row of the table names an option by its environment name (WS_PORT);
    its flag is that name in lower case with dashes (--ws-port). The row
    also holds the type, the default as a user would write it, the bounds
    and the help line. config.c fills an hc_config_t by walking the table.
*/
#ifndef CONFIG_OPTIONS_H_INCLUDED
#define CONFIG_OPTIONS_H_INCLUDED

#include "config_value.h"
#include "msg_log.h"

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

typedef enum {
    HC_OPT_INT,         //  plain integer
    HC_OPT_DURATION,    //  stored in milliseconds
    HC_OPT_SIZE,        //  stored in bytes
    HC_OPT_TEXT,        //  char [HC_CFG_TEXT]
    HC_OPT_LEVEL,       //  hc_log_level_t
    HC_OPT_FORMAT,      //  hc_log_format_t
    HC_OPT_BOOL         //  bool: on/off, true/false, yes/no, 1/0
} hc_opt_type_t;

typedef struct {
    const char *env;            //  environment / .env name
    hc_opt_type_t type;
    const char *def;            //  default, written as a user would
    int64_t min, max;           //  bounds of numbers, in the stored unit
    size_t offset;              //  where in hc_config_t
    const char *help;
} hc_option_t;

//  The table, in --help order
extern const hc_option_t hc_options [];
extern const size_t hc_options_n;

//  The option of an environment name, or NULL
const hc_option_t *
    hc_options_find_env (const char *name);
//  The option an older name stands for (TG_API_KEY), or NULL
const hc_option_t *
    hc_options_find_alias (const char *name);
//  The option of a flag: len bytes at name, without the leading dashes
const hc_option_t *
    hc_options_find_flag (const char *name, size_t len);
//  Writes the option's flag without the dashes ("ws-port")
void
    hc_options_flag (const hc_option_t *opt, char *flag, size_t size);
//  The environment's value for opt: its own name, else an alias's; NULL
//  when neither is set
const char *
    hc_options_getenv (const hc_option_t *opt);
//  Parses text into the option's field of cfg. On a bad value returns -1
//  and err says what was wrong, naming the option and source ("command
//  line", ".env line 3").
int
    hc_options_apply (hc_config_t *cfg, const hc_option_t *opt,
                      const char *text, const char *source, char *err,
                      size_t err_size);

void
    hc_config_options_test (bool verbose);

#endif
