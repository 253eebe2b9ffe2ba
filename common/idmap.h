/*  idmap.h - a zhashx keyed by 64-bit ids (connection ids)

    The key is a pointer to a uint64_t that lives inside the item, so the
    table stores no copy of it; the item must stay put while it is in the
    table. Items are not freed by the table.
*/
#ifndef IDMAP_H_INCLUDED
#define IDMAP_H_INCLUDED

#include <czmq.h>

zhashx_t *
    hc_idmap_new (void);

void
    hc_idmap_test (bool verbose);

#endif
