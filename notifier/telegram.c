/*  telegram.c - the Telegram Bot API over libcurl's multi interface

    curl's socket interface tells us, per socket, whether to wait for
    reading or writing (s_socket_cb) and when its next timer runs out
    (s_timer_cb); we keep that in a small table that becomes zmq_pollitem_t
    entries. This scales with descriptors above FD_SETSIZE, which the
    server may well have with thousands of clients connected.
*/
#include "telegram.h"
#include "alerts.h"         //  ALERTS_CHATS_MAX: a request per chat

#include <assert.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <czmq.h>

#define WATCH_MAX 256           //  sockets curl may ask us to watch
#define REQUESTS_MAX (ALERTS_CHATS_MAX + 1) //  one per chat + getUpdates
#define SEND_REPLY_MAX (64 * 1024)          //  a sendMessage reply is small
#define UPDATES_REPLY_MAX (1024 * 1024)     //  50 updates, generously
#define WHY_MAX 200             //  bytes of a reason we log
#define RETRY_AFTER_DEFAULT_MS 5000         //  a 429 that does not say
#define RETRY_AFTER_MAX_MS 3600000

typedef struct {
    telegram_t *owner;          //  for the write callback's cap
    telegram_kind_t kind;       //  what it asks
    int64_t chat;               //  TELEGRAM_SEND: the chat
    CURL *easy;                 //  the transfer
    struct curl_slist *headers; //  request headers
    hc_buf_t body;              //  request body; curl does not copy it
    hc_buf_t reply;             //  response body, capped
    size_t reply_max;           //  the cap
    bool too_big;               //  the reply went over the cap
    char error [CURL_ERROR_SIZE];   //  curl's own explanation
} request_t;

typedef struct {
    curl_socket_t fd;           //  a socket of curl's
    int what;                   //  CURL_POLL_IN / _OUT / _INOUT
} watch_t;

struct _telegram_t {
    telegram_cfg_t cfg;         //  settings; strings copied below
    char *api_url;              //  base URL, no trailing slash
    char *token;                //  never logged
    CURLM *multi;               //  drives every transfer
    watch_t watch [WATCH_MAX];  //  sockets curl wants watched
    size_t watch_n;
    int64_t timer_at;           //  curl's timer (mono ms), or -1
    request_t *requests [REQUESTS_MAX];     //  in flight
    size_t requests_n;
    telegram_done_fn *done;     //  finished requests go here
    void *done_ctx;
    cJSON *parsed;              //  last reply, alive during the callback
    telegram_update_t updates [TELEGRAM_UPDATES_MAX];   //  from parsed
    hc_buf_t why;               //  reason of the last result
};

//  ---------------------------------------------------------------------
//  curl's callbacks (notifier thread, from inside curl_multi_socket_action)

static int
s_socket_cb (CURL *easy, curl_socket_t fd, int what, void *userp,
             void *socketp)
{
    (void) easy;
    (void) socketp;
    telegram_t *self = (telegram_t *) userp;
    size_t i = 0;
    while (i < self->watch_n && self->watch [i].fd != fd)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < self->watch_n)
            self->watch [i] = self->watch [--self->watch_n];
        return 0;
    }
    if (i == self->watch_n) {
        if (self->watch_n == WATCH_MAX)
            return -1;          //  curl fails that transfer
        self->watch_n++;
    }
    self->watch [i].fd = fd;
    self->watch [i].what = what;
    return 0;
}

static int
s_timer_cb (CURLM *multi, long timeout_ms, void *userp)
{
    (void) multi;
    telegram_t *self = (telegram_t *) userp;
    self->timer_at = timeout_ms < 0 ? -1 : zclock_mono () + timeout_ms;
    return 0;
}

static size_t
s_write_cb (char *data, size_t size, size_t nmemb, void *userp)
{
    request_t *request = (request_t *) userp;
    size_t n = size * nmemb;
    if (request->reply.len + n > request->reply_max) {
        request->too_big = true;
        return 0;               //  curl aborts with CURLE_WRITE_ERROR
    }
    hc_buf_append (&request->reply, data, n);
    return request->reply.failed ? 0 : n;
}

//  ---------------------------------------------------------------------
//  Requests

static void
s_request_destroy (telegram_t *self, request_t **request_p)
{
    request_t *request = *request_p;
    if (request->easy) {
        curl_multi_remove_handle (self->multi, request->easy);
        curl_easy_cleanup (request->easy);
    }
    curl_slist_free_all (request->headers);
    hc_buf_free (&request->body);
    hc_buf_free (&request->reply);
    free (request);
    *request_p = NULL;
}

static void
s_forget (telegram_t *self, size_t index)
{
    s_request_destroy (self, &self->requests [index]);
    self->requests [index] = self->requests [--self->requests_n];
}

//  Starts a request for method; body NULL means GET
static int
s_start (telegram_t *self, telegram_kind_t kind, int64_t chat,
         const char *method, const hc_buf_t *body, int64_t timeout_ms)
{
    if (self->requests_n == REQUESTS_MAX)
        return -1;
    request_t *request = (request_t *) calloc (1, sizeof (request_t));
    if (!request)
        return -1;
    request->owner = self;
    request->kind = kind;
    request->chat = chat;
    request->reply_max = kind == TELEGRAM_SEND ? SEND_REPLY_MAX
                                               : UPDATES_REPLY_MAX;
    hc_buf_init (&request->body, 0);
    hc_buf_init (&request->reply, 0);
    request->easy = curl_easy_init ();
    hc_buf_t url;
    hc_buf_init (&url, 0);
    hc_buf_append_cstr (&url, self->api_url);
    hc_buf_append_cstr (&url, "/bot");
    hc_buf_append_cstr (&url, self->token);
    hc_buf_append_char (&url, '/');
    hc_buf_append_cstr (&url, method);
    request->headers = curl_slist_append (NULL, "Content-Type: "
                                                "application/json");
    //  No "Expect: 100-continue": it would stall a larger body for a second
    struct curl_slist *more = request->headers
        ? curl_slist_append (request->headers, "Expect:") : NULL;
    if (body)
        hc_buf_append (&request->body, body->data, body->len);
    CURL *easy = request->easy;
    if (!easy || url.failed || !more || request->body.failed) {
        hc_buf_free (&url);
        s_request_destroy (self, &request);
        return -1;
    }
    request->headers = more;
    curl_easy_setopt (easy, CURLOPT_URL, hc_buf_cstr (&url));
    memset (url.data, 0, url.len);      //  curl keeps its own copy
    hc_buf_free (&url);
    curl_easy_setopt (easy, CURLOPT_PRIVATE, request);
    curl_easy_setopt (easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (easy, CURLOPT_CONNECTTIMEOUT_MS,
                      (long) self->cfg.connect_timeout_ms);
    curl_easy_setopt (easy, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
    curl_easy_setopt (easy, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt (easy, CURLOPT_WRITEDATA, request);
    curl_easy_setopt (easy, CURLOPT_ERRORBUFFER, request->error);
    curl_easy_setopt (easy, CURLOPT_USERAGENT, "homecall/" HOMECALL_VERSION);
    curl_easy_setopt (easy, CURLOPT_HTTPHEADER, request->headers);
    if (body) {
        curl_easy_setopt (easy, CURLOPT_POSTFIELDS, request->body.data);
        curl_easy_setopt (easy, CURLOPT_POSTFIELDSIZE,
                          (long) request->body.len);
    }
    if (curl_multi_add_handle (self->multi, easy) != CURLM_OK) {
        s_request_destroy (self, &request);
        return -1;
    }
    self->requests [self->requests_n++] = request;
    return 0;
}

//  ---------------------------------------------------------------------
//  Replies

static void
s_why (telegram_t *self, const char *prefix, const char *text)
{
    hc_buf_reset (&self->why);
    hc_buf_append_cstr (&self->why, prefix);
    hc_buf_append_cstr (&self->why, text);
    hc_buf_redact (&self->why, self->token);
    if (self->why.len > WHY_MAX)
        self->why.len = WHY_MAX;    //  the log line escapes a cut character
}

static int64_t
s_number (const cJSON *object, const char *key, int64_t fallback)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (object, key);
    if (!cJSON_IsNumber (item) || item->valuedouble > 9007199254740992.0
    ||  item->valuedouble < -9007199254740992.0)
        return fallback;
    return (int64_t) item->valuedouble;
}

//  getUpdates' result: the messages, and the offset that confirms them
static void
s_read_updates (telegram_t *self, const cJSON *array,
                telegram_result_t *result)
{
    const cJSON *update;
    cJSON_ArrayForEach (update, array) {
        int64_t id = s_number (update, "update_id", -1);
        if (id >= result->next_offset)
            result->next_offset = id + 1;
        const cJSON *message = cJSON_GetObjectItemCaseSensitive (update,
                                                                 "message");
        const cJSON *chat = cJSON_GetObjectItemCaseSensitive (message, "chat");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive (message, "text");
        int64_t chat_id = s_number (chat, "id", 0);
        if (chat_id == 0 || !cJSON_IsString (text)
        ||  result->updates_n == TELEGRAM_UPDATES_MAX)
            continue;
        telegram_update_t *out = &self->updates [result->updates_n++];
        out->chat = chat_id;
        out->text = hc_str (text->valuestring);
    }
}

void
telegram_classify (telegram_t *self, telegram_kind_t kind, bool curl_ok,
                   long status, const char *body, size_t size,
                   telegram_result_t *result)
{
    cJSON_Delete (self->parsed);
    self->parsed = NULL;
    result->kind = kind;
    result->status = status;
    result->retry_after_ms = 0;
    result->updates = self->updates;
    result->updates_n = 0;
    result->why = "";
    if (!curl_ok) {
        result->outcome = ALERT_RETRY;
        return;                 //  the caller says why
    }
    cJSON *root = cJSON_ParseWithLength (body, size);
    self->parsed = root;
    const cJSON *description = cJSON_GetObjectItemCaseSensitive (
        root, "description");
    char prefix [32];
    snprintf (prefix, sizeof (prefix), "HTTP %ld: ", status);
    s_why (self, prefix, cJSON_IsString (description)
                         ? description->valuestring
                         : root ? "no description" : "reply is not JSON");
    result->why = hc_buf_cstr (&self->why);
    const cJSON *results = cJSON_GetObjectItemCaseSensitive (root, "result");
    if (status == 200 && cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (
                                           root, "ok"))
    &&  (kind == TELEGRAM_SEND || cJSON_IsArray (results))) {
        result->outcome = ALERT_SENT;
        result->why = "";
        if (kind == TELEGRAM_UPDATES)
            s_read_updates (self, results, result);
    }
    else
    if (status == 429) {
        const cJSON *parameters = cJSON_GetObjectItemCaseSensitive (
            root, "parameters");
        int64_t seconds = s_number (parameters, "retry_after", -1);
        result->outcome = ALERT_RETRY_AFTER;
        result->retry_after_ms = seconds < 1 ? RETRY_AFTER_DEFAULT_MS
                               : seconds > RETRY_AFTER_MAX_MS / 1000
                               ? RETRY_AFTER_MAX_MS : seconds * 1000;
    }
    else
    //  A server error, or a 200 we cannot read: the API is having trouble
    if (status >= 500 || status == 200)
        result->outcome = ALERT_RETRY;
    else
        result->outcome = ALERT_FAILED;
}

//  One finished transfer: classify it, report it, forget it
static void
s_finished (telegram_t *self, CURL *easy, CURLcode code)
{
    request_t *request = NULL;
    curl_easy_getinfo (easy, CURLINFO_PRIVATE, (char **) &request);
    size_t index = 0;
    while (index < self->requests_n && self->requests [index] != request)
        index++;
    assert (index < self->requests_n);
    long status = 0;
    curl_easy_getinfo (easy, CURLINFO_RESPONSE_CODE, &status);
    telegram_result_t result;
    memset (&result, 0, sizeof (result));
    telegram_classify (self, request->kind, code == CURLE_OK, status,
                       request->reply.data ? request->reply.data : "",
                       request->reply.len, &result);
    result.chat = request->chat;
    if (code != CURLE_OK) {
        s_why (self, "", request->too_big ? "reply too large"
                         : request->error [0] ? request->error
                         : curl_easy_strerror (code));
        result.why = hc_buf_cstr (&self->why);
    }
    //  Forget it first: the callback may start the next request
    s_forget (self, index);
    self->done (self->done_ctx, &result);
    cJSON_Delete (self->parsed);
    self->parsed = NULL;
}

//  ---------------------------------------------------------------------
//  Public API

telegram_t *
telegram_new (const telegram_cfg_t *cfg, telegram_done_fn *done, void *ctx)
{
    //  Thread-safe since curl 7.84; matched by the cleanup in destroy
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return NULL;
    telegram_t *self = (telegram_t *) calloc (1, sizeof (telegram_t));
    if (!self) {
        curl_global_cleanup ();
        return NULL;
    }
    self->cfg = *cfg;
    self->api_url = strdup (cfg->api_url);
    self->token = strdup (cfg->token);
    self->multi = curl_multi_init ();
    self->timer_at = -1;
    self->done = done;
    self->done_ctx = ctx;
    hc_buf_init (&self->why, 0);
    if (!self->api_url || !self->token || !self->multi) {
        telegram_destroy (&self);
        return NULL;
    }
    size_t len = strlen (self->api_url);
    while (len && self->api_url [len - 1] == '/')
        self->api_url [--len] = 0;
    self->cfg.api_url = self->api_url;
    self->cfg.token = self->token;
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETFUNCTION, s_socket_cb);
    curl_multi_setopt (self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERFUNCTION, s_timer_cb);
    curl_multi_setopt (self->multi, CURLMOPT_TIMERDATA, self);
    return self;
}

void
telegram_destroy (telegram_t **self_p)
{
    assert (self_p);
    telegram_t *self = *self_p;
    if (!self)
        return;
    while (self->requests_n)
        s_forget (self, self->requests_n - 1);
    if (self->multi)
        curl_multi_cleanup (self->multi);
    cJSON_Delete (self->parsed);
    hc_buf_free (&self->why);
    if (self->token)
        memset (self->token, 0, strlen (self->token));
    free (self->token);
    free (self->api_url);
    free (self);
    curl_global_cleanup ();
    *self_p = NULL;
}

int
telegram_send (telegram_t *self, int64_t chat, hc_str_t html)
{
    hc_buf_t body;
    hc_buf_init (&body, 0);
    hc_buf_append_cstr (&body, "{\"chat_id\":");
    hc_buf_append_int (&body, chat);
    hc_buf_append_cstr (&body, ",\"text\":");
    hc_buf_append_json_str (&body, html);
    hc_buf_append_cstr (&body, ",\"parse_mode\":\"HTML\","
                               "\"disable_web_page_preview\":true}");
    int rc = body.failed ? -1
           : s_start (self, TELEGRAM_SEND, chat, "sendMessage", &body,
                      self->cfg.timeout_ms);
    hc_buf_free (&body);
    return rc;
}

int
telegram_get_updates (telegram_t *self, int64_t offset)
{
    char method [160];
    snprintf (method, sizeof (method),
              "getUpdates?offset=%lld&limit=%d&timeout=%lld"
              "&allowed_updates=%%5B%%22message%%22%%5D",
              (long long) offset, TELEGRAM_UPDATES_MAX,
              (long long) (self->cfg.poll_timeout_ms / 1000));
    return s_start (self, TELEGRAM_UPDATES, 0, method, NULL,
                    self->cfg.poll_timeout_ms + self->cfg.timeout_ms);
}

void
telegram_cancel_updates (telegram_t *self)
{
    for (size_t i = 0; i < self->requests_n; i++)
        if (self->requests [i]->kind == TELEGRAM_UPDATES) {
            s_forget (self, i);
            return;
        }
}

size_t
telegram_active (telegram_t *self)
{
    return self->requests_n;
}

size_t
telegram_pollitems (telegram_t *self, zmq_pollitem_t *items, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->watch_n && n < max; i++, n++) {
        int what = self->watch [i].what;
        items [n].socket = NULL;
        items [n].fd = self->watch [i].fd;
        items [n].events = (short) ((what & CURL_POLL_IN ? ZMQ_POLLIN : 0)
                                  | (what & CURL_POLL_OUT ? ZMQ_POLLOUT : 0));
        items [n].revents = 0;
    }
    return n;
}

long
telegram_timeout (telegram_t *self)
{
    if (self->timer_at < 0)
        return -1;
    int64_t wait = self->timer_at - zclock_mono ();
    return wait < 0 ? 0 : (long) wait;
}

void
telegram_process (telegram_t *self, const zmq_pollitem_t *items,
                  size_t items_n)
{
    int running = 0;
    //  Socket actions may change the watch table: items is our own copy
    for (size_t i = 0; i < items_n; i++) {
        if (!items [i].revents)
            continue;
        int flags = (items [i].revents & ZMQ_POLLIN ? CURL_CSELECT_IN : 0)
                  | (items [i].revents & ZMQ_POLLOUT ? CURL_CSELECT_OUT : 0)
                  | (items [i].revents & ZMQ_POLLERR ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action (self->multi, items [i].fd, flags, &running);
    }
    if (self->timer_at >= 0 && zclock_mono () >= self->timer_at) {
        self->timer_at = -1;
        curl_multi_socket_action (self->multi, CURL_SOCKET_TIMEOUT, 0,
                                  &running);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read (self->multi, &left)))
        if (msg->msg == CURLMSG_DONE)
            s_finished (self, msg->easy_handle, msg->data.result);
}

//  ---------------------------------------------------------------------
//  Self test: reading replies, good and bad. Real
//  transfers are tested against a fake Bot API by the integration tests.

static void
s_keep (void *ctx, const telegram_result_t *result)
{
    telegram_result_t *last = (telegram_result_t *) ctx;
    *last = *result;
    last->why = NULL;           //  only valid during the callback
}

static telegram_result_t
s_classify (telegram_t *tg, telegram_kind_t kind, long status,
            const char *body)
{
    telegram_result_t result;
    memset (&result, 0, sizeof (result));
    telegram_classify (tg, kind, true, status, body, strlen (body), &result);
    return result;
}

void
telegram_test (bool verbose)
{
    if (verbose)
        printf (" * telegram: ");
    telegram_cfg_t cfg = {"http://127.0.0.1:9/", "123:SECRET", 1000, 1000,
                          1000};
    telegram_result_t last;
    memset (&last, 0, sizeof (last));
    telegram_t *tg = telegram_new (&cfg, s_keep, &last);
    assert (tg);
    telegram_result_t r = s_classify (tg, TELEGRAM_SEND, 200,
                                      "{\"ok\":true,\"result\":{}}");
    assert (r.outcome == ALERT_SENT && streq (r.why, ""));
    r = s_classify (tg, TELEGRAM_SEND, 429,
                    "{\"ok\":false,\"error_code\":429,\"description\":"
                    "\"Too Many Requests: retry after 7\",\"parameters\":"
                    "{\"retry_after\":7}}");
    assert (r.outcome == ALERT_RETRY_AFTER && r.retry_after_ms == 7000);
    assert (strstr (r.why, "HTTP 429: Too Many Requests"));
    r = s_classify (tg, TELEGRAM_SEND, 429, "<html>busy</html>");
    assert (r.outcome == ALERT_RETRY_AFTER && r.retry_after_ms == 5000);
    r = s_classify (tg, TELEGRAM_SEND, 429, "{\"parameters\":"
                                            "{\"retry_after\":1e300}}");
    assert (r.outcome == ALERT_RETRY_AFTER && r.retry_after_ms == 5000);
    r = s_classify (tg, TELEGRAM_SEND, 502, "Bad Gateway");
    assert (r.outcome == ALERT_RETRY && streq (r.why, "HTTP 502: reply is "
                                                      "not JSON"));
    r = s_classify (tg, TELEGRAM_SEND, 200, "garbage{");
    assert (r.outcome == ALERT_RETRY);
    r = s_classify (tg, TELEGRAM_SEND, 200, "{\"ok\":false}");
    assert (r.outcome == ALERT_RETRY);
    //  A refusal for good; a description echoing the token is redacted
    r = s_classify (tg, TELEGRAM_SEND, 400,
                    "{\"ok\":false,\"description\":\"Bad Request: chat not "
                    "found for bot123:SECRET\"}");
    assert (r.outcome == ALERT_FAILED);
    assert (strstr (r.why, "bot<redacted>") && !strstr (r.why, "SECRET"));
    r = s_classify (tg, TELEGRAM_SEND, 401, "");
    assert (r.outcome == ALERT_FAILED);

    //  getUpdates: messages with text, the offset after the last update
    r = s_classify (tg, TELEGRAM_UPDATES, 200,
                    "{\"ok\":true,\"result\":["
                    "{\"update_id\":10,\"message\":{\"chat\":{\"id\":77},"
                    "\"text\":\"/start x\"}},"
                    "{\"update_id\":12,\"edited_message\":{}},"
                    "{\"update_id\":11,\"message\":{\"chat\":{\"id\":-5},"
                    "\"sticker\":{}}},"
                    "{\"update_id\":\"13\",\"message\":{\"chat\":"
                    "{\"id\":\"8\"},\"text\":\"hi\"}}]}");
    assert (r.outcome == ALERT_SENT && r.updates_n == 1);
    assert (r.updates [0].chat == 77);
    assert (hc_str_eq_cstr (r.updates [0].text, "/start x"));
    assert (r.next_offset == 13);
    r = s_classify (tg, TELEGRAM_UPDATES, 200, "{\"ok\":true,\"result\":5}");
    assert (r.outcome == ALERT_RETRY);
    r = s_classify (tg, TELEGRAM_UPDATES, 409, "{\"ok\":false,\"description\""
                                               ":\"Conflict\"}");
    assert (r.outcome == ALERT_FAILED);

    //  Nothing in flight: no sockets, no timer, and nothing happens
    zmq_pollitem_t items [4];
    assert (telegram_pollitems (tg, items, 4) == 0);
    assert (telegram_active (tg) == 0);
    telegram_process (tg, items, 0);
    //  A request that cannot connect ends as a retry, through the loop
    assert (telegram_send (tg, 1, HC_STR_LIT ("x")) == 0);
    assert (telegram_active (tg) == 1);
    int64_t until = zclock_mono () + 5000;
    while (telegram_active (tg) && zclock_mono () < until) {
        size_t n = telegram_pollitems (tg, items, 4);
        long timeout = telegram_timeout (tg);
        zmq_poll (items, (int) n, timeout < 0 || timeout > 100 ? 100
                                                               : timeout);
        telegram_process (tg, items, n);
    }
    assert (telegram_active (tg) == 0);
    assert (last.kind == TELEGRAM_SEND && last.chat == 1);
    assert (last.outcome == ALERT_RETRY && last.status == 0);
    telegram_destroy (&tg);
    telegram_destroy (&tg);
    if (verbose)
        printf ("OK\n");
}
