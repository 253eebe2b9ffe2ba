/*  idmap.c - a zhashx keyed by 64-bit ids (connection ids) */
#include "idmap.h"

static size_t
s_hash (const void *key)
{
    //  splitmix64 finaliser: counters with a fixed high half spread well
    uint64_t x = *(const uint64_t *) key;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t) x;
}

static int
s_compare (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

zhashx_t *
hc_idmap_new (void)
{
    zhashx_t *map = zhashx_new ();
    if (!map)
        return NULL;
    zhashx_set_key_hasher (map, s_hash);
    zhashx_set_key_comparator (map, s_compare);
    zhashx_set_key_duplicator (map, NULL);
    zhashx_set_key_destructor (map, NULL);
    zhashx_set_destructor (map, NULL);
    return map;
}

void
hc_idmap_test (bool verbose)
{
    if (verbose)
        printf (" * idmap: ");
    typedef struct {
        uint64_t id;
        int value;
    } item_t;
    item_t items [1000];
    zhashx_t *map = hc_idmap_new ();
    for (int i = 0; i < 1000; i++) {
        items [i].id = 0xabcd000000000000ULL + (uint64_t) i;
        items [i].value = i;
        assert (zhashx_insert (map, &items [i].id, &items [i]) == 0);
    }
    assert (zhashx_size (map) == 1000);
    uint64_t probe = 0xabcd000000000000ULL + 500;
    item_t *found = (item_t *) zhashx_lookup (map, &probe);
    assert (found && found->value == 500);
    zhashx_delete (map, &probe);
    assert (zhashx_lookup (map, &probe) == NULL);
    //  A duplicate key is refused
    assert (zhashx_insert (map, &items [1].id, &items [1]) == -1);
    zhashx_destroy (&map);
    if (verbose)
        printf ("OK\n");
}
