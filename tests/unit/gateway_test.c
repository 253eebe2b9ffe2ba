/*  gateway_test.c - the gateway actor, started by its test (as zauth_test
    starts zauth) and spoken to over its pipe and its sockets

    A fake rooms binds the ROUTER the gateway links to and answers its
    HELLO; a client speaks WebSocket to the gateway over loopback, byte by
    byte as RFC 6455 has it. What the gateway sends rooms is decoded with
    the codec, what it sends the client read off the socket.
*/
#include "gateway/gateway.h"
#include "common/bus.h"
#include "common/config.h"
#include "common/msg_rooms.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ROOMS "inproc://gateway-test-rooms"

typedef struct {
    zsock_t *router;            //  the fake rooms
    msg_enc_t *enc;
    msg_dec_t *dec;
    char id [32];               //  the gateway's routing id
} rooms_t;

//  The next [verb][body] pair from the gateway, whatever message it came
//  in (the gateway may hand several over at once); NULL after 5 s
static zmsg_t *s_pending;

static char *
s_rooms_recv (rooms_t *rooms, zframe_t **body)
{
    while (!s_pending || zmsg_size (s_pending) == 0) {
        zmsg_destroy (&s_pending);
        zsock_set_rcvtimeo (rooms->router, 5000);
        s_pending = zmsg_recv (rooms->router);
        if (!s_pending)
            return NULL;
        char *id = zmsg_popstr (s_pending);
        snprintf (rooms->id, sizeof (rooms->id), "%s", id);
        zstr_free (&id);
    }
    char *verb = zmsg_popstr (s_pending);
    *body = zmsg_pop (s_pending);
    return verb;
}

//  Skips what the gateway says until verb comes; its body
static zframe_t *
s_rooms_expect (rooms_t *rooms, const char *verb)
{
    zframe_t *body = NULL;
    char *got;
    while ((got = s_rooms_recv (rooms, &body))) {
        bool match = streq (got, verb);
        zstr_free (&got);
        if (match)
            return body;
        zframe_destroy (&body);
    }
    return NULL;
}

static void
s_rooms_send (rooms_t *rooms, const char *verb)
{
    zsock_send (rooms->router, "ssb", rooms->id, verb,
                msg_enc_data (rooms->enc), msg_enc_size (rooms->enc));
}

static void
s_welcome (rooms_t *rooms)
{
    msg_welcome_t welcome = {.epoch = 1, .fresh = true};
    assert (msg_enc_welcome (rooms->enc, &welcome) == 0);
    s_rooms_send (rooms, MSG_WELCOME);
}

//  A loopback TCP connection to port
static int
s_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons ((uint16_t) port)};
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert (fd >= 0 && connect (fd, (struct sockaddr *) &addr,
                                sizeof (addr)) == 0);
    struct timeval timeout = {5, 0};
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof (timeout));
    return fd;
}

//  Reads until text holds needle (or the peer stops); true if it does
static bool
s_read_until (int fd, char *text, size_t size, const char *needle)
{
    size_t len = 0;
    text [0] = 0;
    while (len + 1 < size && !strstr (text, needle)) {
        ssize_t n = recv (fd, text + len, size - len - 1, 0);
        if (n <= 0)
            break;
        len += (size_t) n;
        text [len] = 0;
    }
    return strstr (text, needle) != NULL;
}

//  One plain HTTP request; the whole answer in text
static void
s_http_get (int port, const char *path, char *text, size_t size)
{
    int fd = s_connect (port);
    char request [128];
    int len = snprintf (request, sizeof (request), "GET %s HTTP/1.1\r\n"
                        "Host: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    assert (send (fd, request, (size_t) len, 0) == len);
    s_read_until (fd, text, size, "\n\n");
    close (fd);
}

//  A client frame: text, FIN, masked (as every client frame must be)
static void
s_ws_send (int fd, const char *text)
{
    size_t len = strlen (text);
    assert (len < 126);
    unsigned char frame [256] = {0x81, (unsigned char) (0x80 | len),
                                 1, 2, 3, 4};
    for (size_t i = 0; i < len; i++)
        frame [6 + i] = (unsigned char) text [i] ^ frame [2 + i % 4];
    assert (send (fd, frame, 6 + len, 0) == (ssize_t) (6 + len));
}

//  The client's answer to a close: the same code back
static void
s_ws_close (int fd, const char *close_payload)
{
    unsigned char frame [8] = {0x88, 0x82, 0, 0, 0, 0,
                               (unsigned char) close_payload [0],
                               (unsigned char) close_payload [1]};
    assert (send (fd, frame, 8, 0) == 8);
}

//  A server frame: opcode and payload (text up to size - 1 bytes)
static int
s_ws_recv (int fd, char *text, size_t size)
{
    unsigned char head [2];
    if (recv (fd, head, 2, MSG_WAITALL) != 2)
        return -1;
    size_t len = head [1] & 0x7f;
    if (len == 126) {
        unsigned char ext [2];
        assert (recv (fd, ext, 2, MSG_WAITALL) == 2);
        len = (size_t) ext [0] << 8 | ext [1];
    }
    assert (len < size && !(head [1] & 0x80));     //  never masked
    if (len && recv (fd, text, len, MSG_WAITALL) != (ssize_t) len)
        return -1;
    text [len] = 0;
    return head [0] & 0x0f;
}

void
gateway_test (bool verbose)
{
    if (verbose)
        printf (" * gateway: ");
    hc_config_t cfg;
    char err [256];
    char *argv [] = {"homecall", NULL};
    assert (hc_config_load (&cfg, 1, argv, "/nonexistent/.env", err,
                            sizeof (err)) == 0);
    strcpy (cfg.actors, "gateway");
    strcpy (cfg.rooms_endpoint, ROOMS);
    strcpy (cfg.events_in_endpoint, "inproc://gateway-test-events-in");
    strcpy (cfg.events_out_endpoint, "inproc://gateway-test-events");
    strcpy (cfg.ws_host, "127.0.0.1");
    cfg.observer_endpoint [0] = 0;
    cfg.ws_port = 0;
    cfg.log_level = HC_LOG_WARN;
    cfg.link_heartbeat_ms = 100;
    cfg.link_timeout_ms = 1000;

    zactor_t *bus = zactor_new (hc_bus_actor, &cfg);
    zstr_send (bus, "START");
    int rc = -1;
    zsock_recv (bus, "i", &rc);
    assert (rc == 0);
    rooms_t rooms = {zsock_new_router ("@" ROOMS), msg_enc_new (),
                     msg_dec_new (), ""};
    assert (rooms.router && rooms.enc && rooms.dec);

    //  START says HELLO until rooms answers, then listens: the port
    zactor_t *gateway = zactor_new (gateway_actor, &cfg);
    zstr_send (gateway, "START");
    zframe_t *body = s_rooms_expect (&rooms, MSG_HELLO);
    assert (body);
    msg_hello_t hello;
    assert (msg_dec_hello (rooms.dec, zframe_data (body), zframe_size (body),
                           &hello) == 0 && hello.gateway != 0);
    zframe_destroy (&body);
    s_welcome (&rooms);
    int port = -1;
    zsock_recv (gateway, "i", &port);
    assert (port > 0);

    //  Plain HTTP: rooms answers, so healthy; other paths want WebSocket
    char text [2048];
    s_http_get (port, "/healthz", text, sizeof (text));
    assert (strstr (text, "HTTP/1.1 200") && strstr (text, "\r\n\r\nok\n"));
    s_http_get (port, "/signal", text, sizeof (text));
    assert (strstr (text, "HTTP/1.1 426"));

    //  A WebSocket client: its connection opens at rooms, its join comes
    //  as a command, and what rooms sends it arrives as a JSON frame
    int fd = s_connect (port);
    const char *upgrade = "GET /signal HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
    assert (send (fd, upgrade, strlen (upgrade), 0)
            == (ssize_t) strlen (upgrade));
    assert (s_read_until (fd, text, sizeof (text), "\r\n\r\n"));
    assert (strstr (text, "101") && strstr (text, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    body = s_rooms_expect (&rooms, MSG_OPEN);
    assert (body);
    msg_open_t open;
    assert (msg_dec_open (rooms.dec, zframe_data (body), zframe_size (body),
                          &open) == 0 && open.dialect == HC_DIALECT_SIGNAL);
    uint64_t conn = open.conn;
    assert (hc_conn_gateway (conn) == hello.gateway);
    zframe_destroy (&body);

    s_ws_send (fd, "{\"type\":\"join\",\"room\":\"w1\",\"user\":\"al\"}");
    body = s_rooms_expect (&rooms, MSG_SIG);
    assert (body);
    msg_sig_t sig;
    assert (msg_dec_sig (rooms.dec, zframe_data (body), zframe_size (body),
                         &sig) == 0);
    assert (sig.conn == conn && sig.op == MSG_SIG_JOIN);
    assert (hc_str_eq_cstr (sig.room, "w1") && hc_str_eq_cstr (sig.user, "al"));
    zframe_destroy (&body);

    hc_field_t fields [] = {hc_field_str ("type", HC_STR_LIT ("joined")),
                            hc_field_str ("room", HC_STR_LIT ("w1")),
                            hc_field_raw ("members", HC_STR_LIT ("[\"al\"]"))};
    msg_out_t out = {&conn, 1, fields, 3};
    assert (msg_enc_out (rooms.enc, &out) == 0);
    s_rooms_send (&rooms, MSG_OUT);
    assert (s_ws_recv (fd, text, sizeof (text)) == 1);
    assert (streq (text, "{\"type\":\"joined\",\"room\":\"w1\","
                         "\"members\":[\"al\"]}"));

    //  Bad JSON is the gateway's to answer; rooms hears nothing of it
    s_ws_send (fd, "{not json");
    assert (s_ws_recv (fd, text, sizeof (text)) == 1);
    assert (strstr (text, "\"type\":\"error\""));

    //  KICK closes the connection with rooms' code and reason
    msg_kick_t kick = {conn, 4000, HC_STR_LIT ("kicked")};
    assert (msg_enc_kick (rooms.enc, &kick) == 0);
    s_rooms_send (&rooms, MSG_KICK);
    assert (s_ws_recv (fd, text, sizeof (text)) == 8);     //  close
    assert ((unsigned char) text [0] == 4000 >> 8
            && (unsigned char) text [1] == (4000 & 0xff)
            && streq (text + 2, "kicked"));
    s_ws_close (fd, text);
    body = s_rooms_expect (&rooms, MSG_CLOSE);
    assert (body);
    msg_close_t closed;
    assert (msg_dec_close (rooms.dec, zframe_data (body), zframe_size (body),
                           &closed) == 0 && closed.conn == conn);
    zframe_destroy (&body);
    close (fd);

    //  $TERM: the gateway says BYE to rooms before it goes
    zactor_destroy (&gateway);
    body = s_rooms_expect (&rooms, MSG_BYE);
    assert (body);
    zframe_destroy (&body);
    zmsg_destroy (&s_pending);
    msg_enc_destroy (&rooms.enc);
    msg_dec_destroy (&rooms.dec);
    zsock_destroy (&rooms.router);
    zactor_destroy (&bus);
    if (verbose)
        printf ("OK\n");
}
