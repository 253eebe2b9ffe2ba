/*  gw_arena.h - cJSON's memory on the gateway thread: one block per
    thread, rewound for every frame

    cJSON allocates through hooks installed once per process. While a
    thread has an arena (the gateway thread does), allocations come from it
    and frees of arena memory do nothing; a frame far beyond any real one
    overflows to the heap. Other threads that use cJSON (the notifier) get
    plain malloc/free.
*/
#ifndef GW_ARENA_H_INCLUDED
#define GW_ARENA_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#define GW_ARENA_SIZE (256 * 1024)

//  Installs the hooks into cJSON (once per process; later calls do
//  nothing). Call it before starting threads that use cJSON.
void
    gw_arena_setup (void);
//  This thread's arena, made on first use and rewound: what it handed out
//  before is free again. Without memory for one, cJSON runs on the heap.
void
    gw_arena_rewind (void);
//  size bytes from this thread's arena, or from the heap when it has no
//  room (or there is none); NULL when neither has
void *
    gw_arena_alloc (size_t size);
//  Frees heap memory; memory of the arena waits for the next rewind
void
    gw_arena_free (void *ptr);
//  True if ptr is inside this thread's arena
bool
    gw_arena_holds (const void *ptr);
//  Frees this thread's arena (call when the gateway thread ends)
void
    gw_arena_teardown (void);

void
    gw_arena_test (bool verbose);

#endif
