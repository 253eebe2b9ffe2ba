/*  p2p_users.c - the p2p dialect's tables: users, records, pairs */
#include "p2p_users.h"
#include "../common/deadline.h"
#include "../common/idmap.h"

static const char *const s_status_names [] = {
    "idle", "calling", "ringing", "in_call", "ended"};

const char *
p2p_status_name (p2p_status_t status)
{
    return status <= P2P_ENDED ? s_status_names [status] : "?";
}

void
p2p_text_set (p2p_text_t *text, hc_str_t value)
{
    free (text->ptr);
    text->ptr = NULL;
    text->len = 0;
    if (!hc_str_present (value))
        return;
    text->ptr = (char *) malloc (value.len + 1);
    assert (text->ptr);
    memcpy (text->ptr, value.ptr, value.len);
    text->ptr [value.len] = 0;
    text->len = value.len;
}

hc_str_t
p2p_text (const p2p_text_t *text)
{
    return text->ptr ? (hc_str_t){text->ptr, text->len} : HC_STR_NULL;
}

bool
p2p_text_is (const p2p_text_t *text, hc_str_t value)
{
    return text->ptr && hc_str_eq (p2p_text (text), value);
}

bool
p2p_raw_falsy (hc_str_t raw)
{
    if (!hc_str_present (raw) || hc_str_eq_cstr (raw, "\"\"")
    ||  hc_str_eq_cstr (raw, "null") || hc_str_eq_cstr (raw, "false"))
        return true;
    //  A number is zero when it has no digit other than 0 before any exponent
    size_t i = raw.len && raw.ptr [0] == '-' ? 1 : 0;
    if (i >= raw.len || raw.ptr [i] < '0' || raw.ptr [i] > '9')
        return false;
    for (; i < raw.len && raw.ptr [i] != 'e' && raw.ptr [i] != 'E'; i++)
        if (raw.ptr [i] != '0' && raw.ptr [i] != '.')
            return false;
    return true;
}

static const char *
s_nul (p2p_users_t *self, hc_str_t key)
{
    size_t len = key.len < P2P_KEY_MAX ? key.len : P2P_KEY_MAX;
    memcpy (self->key, key.ptr, len);
    self->key [len] = 0;
    return self->key;
}

static void
s_record_free (p2p_record_t *record)
{
    p2p_text_t *texts [] = {&record->partner, &record->name, &record->photo,
                            &record->device, &record->ice_params,
                            &record->candidate_ice};
    for (size_t i = 0; i < sizeof (texts) / sizeof (texts [0]); i++)
        p2p_text_set (texts [i], HC_STR_NULL);
    for (size_t i = 0; i < record->streams_n; i++) {
        p2p_text_set (&record->streams [i].kind, HC_STR_NULL);
        p2p_text_set (&record->streams [i].id, HC_STR_NULL);
    }
    free (record);
}

void
p2p_users_init (p2p_users_t *self)
{
    memset (self, 0, sizeof (*self));
    self->users = zhashx_new ();
    zhashx_set_key_duplicator (self->users, NULL);
    zhashx_set_key_destructor (self->users, NULL);
    self->conns = hc_idmap_new ();
    self->pairs = zhashx_new ();
    zhashx_set_destructor (self->pairs, (zhashx_destructor_fn *) zstr_free);
    assert (self->users && self->conns && self->pairs);
}

void
p2p_users_clear (p2p_users_t *self)
{
    for (p2p_user_t *user = (p2p_user_t *) zhashx_first (self->users); user;
         user = (p2p_user_t *) zhashx_next (self->users)) {
        p2p_record_t *record = user->records;
        while (record) {
            p2p_record_t *next = record->next;
            s_record_free (record);
            record = next;
        }
        free (user->key);
        free (user);
    }
    zhashx_destroy (&self->users);
    zhashx_destroy (&self->conns);
    zhashx_destroy (&self->pairs);
}

//  ---------------------------------------------------------------------
//  Users and records

hc_str_t
p2p_user_key (const p2p_user_t *user)
{
    return (hc_str_t){user->key, user->key_len};
}

p2p_user_t *
p2p_user_find (p2p_users_t *self, hc_str_t key)
{
    if (!hc_str_present (key) || key.len > P2P_KEY_MAX)
        return NULL;
    return (p2p_user_t *) zhashx_lookup (self->users, s_nul (self, key));
}

p2p_user_t *
p2p_user_add (p2p_users_t *self, hc_str_t key)
{
    assert (key.len <= P2P_KEY_MAX);
    p2p_user_t *user = (p2p_user_t *) calloc (1, sizeof (p2p_user_t));
    assert (user);
    user->key = (char *) malloc (key.len + 1);
    assert (user->key);
    memcpy (user->key, key.ptr, key.len);
    user->key [key.len] = 0;
    user->key_len = key.len;
    int rc = zhashx_insert (self->users, user->key, user);
    assert (rc == 0);
    (void) rc;
    return user;
}

p2p_record_t *
p2p_user_active (const p2p_user_t *user)
{
    for (p2p_record_t *record = user->records; record; record = record->next)
        if (record->status != P2P_IDLE)
            return record;
    return NULL;
}

p2p_record_t *
p2p_record_find (p2p_users_t *self, uint64_t conn)
{
    return (p2p_record_t *) zhashx_lookup (self->conns, &conn);
}

p2p_record_t *
p2p_record_own (p2p_users_t *self, uint64_t conn, hc_str_t key)
{
    p2p_record_t *record = p2p_record_find (self, conn);
    if (record && hc_str_present (key)
    &&  hc_str_eq (p2p_user_key (record->user), key))
        return record;
    return NULL;
}

p2p_record_t *
p2p_record_add (p2p_users_t *self, p2p_user_t *user, uint64_t conn)
{
    p2p_record_t *record = (p2p_record_t *) calloc (1, sizeof (p2p_record_t));
    assert (record);
    record->user = user;
    record->conn = conn;
    p2p_text_set (&record->ice_params, HC_STR_LIT ("[]"));
    p2p_text_set (&record->candidate_ice, HC_STR_LIT ("[]"));
    p2p_record_t **tail = &user->records;
    while (*tail)
        tail = &(*tail)->next;
    *tail = record;
    user->records_n++;
    int rc = zhashx_insert (self->conns, &record->conn, record);
    assert (rc == 0);
    (void) rc;
    return record;
}

void
p2p_record_remove (p2p_users_t *self, p2p_record_t *record)
{
    p2p_user_t *user = record->user;
    if (record->conn)
        zhashx_delete (self->conns, &record->conn);
    else
        self->detached--;
    for (p2p_record_t **at = &user->records; *at; at = &(*at)->next)
        if (*at == record) {
            *at = record->next;
            break;
        }
    user->records_n--;
    s_record_free (record);
    if (user->records_n == 0) {
        zhashx_delete (self->users, user->key);
        free (user->key);
        free (user);
    }
}

void
p2p_record_detach (p2p_users_t *self, p2p_record_t *record,
                   int64_t grace_until)
{
    assert (record->conn);
    zhashx_delete (self->conns, &record->conn);
    record->conn = 0;
    record->grace_until = grace_until;
    if (self->detached++ == 0 || grace_until < self->grace_next)
        self->grace_next = grace_until;
}

void
p2p_record_move (p2p_users_t *self, p2p_record_t *record, uint64_t conn)
{
    if (record->conn)
        zhashx_delete (self->conns, &record->conn);
    else
        self->detached--;
    record->conn = conn;
    record->grace_until = 0;
    int rc = zhashx_insert (self->conns, &record->conn, record);
    assert (rc == 0);
    (void) rc;
}

zlistx_t *
p2p_records_expired (p2p_users_t *self, int64_t now)
{
    zlistx_t *expired = zlistx_new ();
    if (self->detached == 0 || now < self->grace_next)
        return expired;
    int64_t next = -1;
    for (p2p_user_t *user = (p2p_user_t *) zhashx_first (self->users); user;
         user = (p2p_user_t *) zhashx_next (self->users))
        for (p2p_record_t *r = user->records; r; r = r->next)
            if (!r->conn) {
                if (r->grace_until <= now)
                    zlistx_add_end (expired, r);
                else
                    next = hc_deadline_earliest (next, r->grace_until);
            }
    self->grace_next = next;
    return expired;
}

//  ---------------------------------------------------------------------
//  Pairs

const char *
p2p_pair_get (p2p_users_t *self, hc_str_t key)
{
    return (const char *) zhashx_lookup (self->pairs, s_nul (self, key));
}

void
p2p_pair_set (p2p_users_t *self, hc_str_t a, hc_str_t b)
{
    char first [P2P_KEY_MAX + 1];
    snprintf (first, sizeof (first), "%s", s_nul (self, a));
    char second [P2P_KEY_MAX + 1];
    snprintf (second, sizeof (second), "%s", s_nul (self, b));
    zhashx_update (self->pairs, first, strdup (second));
    zhashx_update (self->pairs, second, strdup (first));
}

void
p2p_pair_remove (p2p_users_t *self, hc_str_t key)
{
    const char *partner = p2p_pair_get (self, key);
    if (partner) {
        char other [P2P_KEY_MAX + 1];
        snprintf (other, sizeof (other), "%s", partner);
        zhashx_delete (self->pairs, self->key);
        if (zhashx_lookup (self->pairs, other))
            zhashx_delete (self->pairs, other);
    }
}
