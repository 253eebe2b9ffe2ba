/*  p2p_waiting.c - the p2p waiting list: calls that wait for a callee */
#include "p2p_waiting.h"

struct _p2p_waiting_t {
    zhashx_t *entries;          //  callee key -> p2p_wait_t (ours to free)
    int64_t ttl_ms;             //  life of an entry
    int64_t sweep_ms;           //  how often expired entries are looked for
    size_t max;                 //  entries at most
    int64_t next_sweep;         //  when the list is swept next; 0: never
    char key [P2P_KEY_MAX + 1]; //  scratch: a NUL-terminated key
};

static void
s_entry_destroy (p2p_wait_t **entry_p)
{
    p2p_wait_t *entry = *entry_p;
    if (entry) {
        p2p_text_set (&entry->callee, HC_STR_NULL);
        p2p_text_set (&entry->caller, HC_STR_NULL);
        p2p_kept_destroy (&entry->frame);
        free (entry);
        *entry_p = NULL;
    }
}

static const char *
s_key (p2p_waiting_t *self, hc_str_t callee)
{
    size_t len = callee.len < P2P_KEY_MAX ? callee.len : P2P_KEY_MAX;
    memcpy (self->key, callee.ptr, len);
    self->key [len] = 0;
    return self->key;
}

p2p_waiting_t *
p2p_waiting_new (const p2p_calls_cfg_t *cfg)
{
    p2p_waiting_t *self = (p2p_waiting_t *) zmalloc (sizeof (*self));
    self->entries = zhashx_new ();
    assert (self->entries);
    self->ttl_ms = cfg->waiting_ttl_ms;
    self->sweep_ms = cfg->waiting_sweep_ms;
    self->max = cfg->max_waiting;
    return self;
}

void
p2p_waiting_destroy (p2p_waiting_t **self_p)
{
    assert (self_p);
    p2p_waiting_t *self = *self_p;
    if (!self)
        return;
    for (p2p_wait_t *entry = (p2p_wait_t *) zhashx_first (self->entries);
         entry; entry = (p2p_wait_t *) zhashx_next (self->entries))
        s_entry_destroy (&entry);
    zhashx_destroy (&self->entries);
    free (self);
    *self_p = NULL;
}

p2p_wait_t *
p2p_waiting_find (p2p_waiting_t *self, hc_str_t callee)
{
    return (p2p_wait_t *) zhashx_lookup (self->entries, s_key (self, callee));
}

int
p2p_waiting_add (p2p_waiting_t *self, hc_str_t callee, hc_str_t caller,
                 const p2p_frame_t *frame, int64_t now)
{
    p2p_wait_t *old = p2p_waiting_find (self, callee);
    if (!old && zhashx_size (self->entries) >= self->max)
        return -1;
    s_entry_destroy (&old);
    p2p_wait_t *entry = (p2p_wait_t *) zmalloc (sizeof (p2p_wait_t));
    p2p_text_set (&entry->callee, hc_str (s_key (self, callee)));
    p2p_text_set (&entry->caller, caller);
    entry->frame = p2p_kept_new (frame->fields, frame->n);
    entry->expires = now + self->ttl_ms;
    zhashx_update (self->entries, entry->callee.ptr, entry);
    if (self->next_sweep == 0)
        self->next_sweep = now + self->sweep_ms;
    return 0;
}

void
p2p_waiting_remove (p2p_waiting_t *self, hc_str_t callee)
{
    p2p_wait_t *entry = p2p_waiting_find (self, callee);
    if (entry) {
        zhashx_delete (self->entries, self->key);
        s_entry_destroy (&entry);
    }
}

void
p2p_waiting_cancel (p2p_waiting_t *self, hc_str_t callee, hc_str_t caller)
{
    p2p_wait_t *entry = p2p_waiting_find (self, callee);
    if (entry && p2p_text_is (&entry->caller, caller))
        entry->cancel = true;
}

//  Takes the entries that match out of the table, into a list that owns
//  them: caller's (but keep's) when caller is given, else those expired
//  by expired_by
static zlistx_t *
s_take (p2p_waiting_t *self, hc_str_t caller, hc_str_t keep,
        int64_t expired_by)
{
    zlistx_t *taken = zlistx_new ();
    assert (taken);
    zlistx_set_destructor (taken, (zlistx_destructor_fn *) s_entry_destroy);
    for (p2p_wait_t *entry = (p2p_wait_t *) zhashx_first (self->entries);
         entry; entry = (p2p_wait_t *) zhashx_next (self->entries)) {
        bool selected = hc_str_present (caller)
                      ? p2p_text_is (&entry->caller, caller)
                        && !(hc_str_present (keep)
                             && p2p_text_is (&entry->callee, keep))
                      : entry->expires <= expired_by;
        if (selected)
            zlistx_add_end (taken, entry);
    }
    for (p2p_wait_t *entry = (p2p_wait_t *) zlistx_first (taken); entry;
         entry = (p2p_wait_t *) zlistx_next (taken))
        zhashx_delete (self->entries, entry->callee.ptr);
    return taken;
}

void
p2p_waiting_drop_caller (p2p_waiting_t *self, hc_str_t caller, hc_str_t keep)
{
    zlistx_t *dropped = s_take (self, caller, keep, 0);
    zlistx_destroy (&dropped);
}

zlistx_t *
p2p_waiting_sweep (p2p_waiting_t *self, int64_t now)
{
    if (self->next_sweep == 0 || now < self->next_sweep)
        return NULL;
    zlistx_t *expired = s_take (self, HC_STR_NULL, HC_STR_NULL, now);
    self->next_sweep = zhashx_size (self->entries) ? now + self->sweep_ms : 0;
    return expired;
}

int64_t
p2p_waiting_next_deadline (p2p_waiting_t *self)
{
    return self->next_sweep ? self->next_sweep : -1;
}

size_t
p2p_waiting_size (p2p_waiting_t *self)
{
    return zhashx_size (self->entries);
}

//  ---------------------------------------------------------------------
//  Self test, on a fake clock

static void
s_add (p2p_waiting_t *waiting, const char *callee, const char *caller,
       int64_t now, int expect)
{
    p2p_frame_t frame;
    p2p_frame_init (&frame, "call");
    p2p_frame_set (&frame, hc_field_raw ("userId", hc_str (caller)));
    assert (p2p_waiting_add (waiting, hc_str (callee), hc_str (caller),
                             &frame, now) == expect);
}

void
p2p_waiting_test (bool verbose)
{
    if (verbose)
        printf (" * p2p_waiting: ");
    p2p_calls_cfg_t cfg = {.waiting_ttl_ms = 60000, .waiting_sweep_ms = 10000,
                           .max_waiting = 3};
    p2p_waiting_t *waiting = p2p_waiting_new (&cfg);
    assert (p2p_waiting_next_deadline (waiting) == -1);
    assert (!p2p_waiting_sweep (waiting, 1000000));
    //  The first entry schedules the sweep; the bound refuses new callees
    s_add (waiting, "bob", "alice", 1000, 0);
    assert (p2p_waiting_next_deadline (waiting) == 11000);
    s_add (waiting, "carol", "alice", 2000, 0);
    s_add (waiting, "dave", "erin", 3000, 0);
    s_add (waiting, "frank", "erin", 3000, -1);
    s_add (waiting, "dave", "alice", 3000, 0);      //  replaces erin's
    assert (p2p_waiting_size (waiting) == 3);
    p2p_wait_t *entry = p2p_waiting_find (waiting, HC_STR_LIT ("dave"));
    assert (entry && p2p_text_is (&entry->caller, HC_STR_LIT ("alice")));
    size_t n;
    const hc_field_t *fields = p2p_kept_fields (entry->frame, &n);
    assert (n == 2 && hc_str_eq_cstr (fields [1].str, "alice"));
    //  Only the caller's own entry is cancelled
    p2p_waiting_cancel (waiting, HC_STR_LIT ("bob"), HC_STR_LIT ("erin"));
    assert (!p2p_waiting_find (waiting, HC_STR_LIT ("bob"))->cancel);
    p2p_waiting_cancel (waiting, HC_STR_LIT ("bob"), HC_STR_LIT ("alice"));
    assert (p2p_waiting_find (waiting, HC_STR_LIT ("bob"))->cancel);
    //  A sweep before its time does nothing; at it, the expired go
    assert (!p2p_waiting_sweep (waiting, 10999));
    zlistx_t *expired = p2p_waiting_sweep (waiting, 11000);
    assert (expired && zlistx_size (expired) == 0);
    zlistx_destroy (&expired);
    assert (p2p_waiting_next_deadline (waiting) == 21000);
    expired = p2p_waiting_sweep (waiting, 62500);
    assert (expired && zlistx_size (expired) == 2);   //  bob, carol
    zlistx_destroy (&expired);
    assert (p2p_waiting_size (waiting) == 1);
    assert (p2p_waiting_next_deadline (waiting) == 72500);
    //  A caller's entries go but the one kept; removal of what is not there
    s_add (waiting, "bob", "alice", 63000, 0);
    p2p_waiting_drop_caller (waiting, HC_STR_LIT ("alice"),
                             HC_STR_LIT ("bob"));
    assert (p2p_waiting_size (waiting) == 1 &&
            p2p_waiting_find (waiting, HC_STR_LIT ("bob")));
    p2p_waiting_remove (waiting, HC_STR_LIT ("bob"));
    p2p_waiting_remove (waiting, HC_STR_LIT ("bob"));
    assert (p2p_waiting_size (waiting) == 0);
    //  An emptied list is swept once more, then sleeps
    expired = p2p_waiting_sweep (waiting, 72500);
    zlistx_destroy (&expired);
    assert (p2p_waiting_next_deadline (waiting) == -1);
    s_add (waiting, "bob", "alice", 80000, 0);
    p2p_waiting_destroy (&waiting);
    p2p_waiting_destroy (&waiting);
    if (verbose)
        printf ("OK\n");
}
