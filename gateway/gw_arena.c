/*  gw_arena.c - cJSON's memory on the gateway thread: one block per
    thread, rewound for every frame
*/
#include "gw_arena.h"

#include <assert.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define ARENA_ALIGN 16

typedef struct {
    char *block;                //  GW_ARENA_SIZE bytes
    size_t used;                //  bytes handed out since the last rewind
} arena_t;

static _Thread_local arena_t *tl_arena;

void *
gw_arena_alloc (size_t size)
{
    arena_t *arena = tl_arena;
    if (arena) {
        size_t start = (arena->used + ARENA_ALIGN - 1)
                     & ~(size_t) (ARENA_ALIGN - 1);
        if (start + size <= GW_ARENA_SIZE) {
            arena->used = start + size;
            return arena->block + start;
        }
    }
    return malloc (size);       //  a huge frame overflows to the heap
}

bool
gw_arena_holds (const void *ptr)
{
    arena_t *arena = tl_arena;
    return arena && (const char *) ptr >= arena->block
        && (const char *) ptr < arena->block + GW_ARENA_SIZE;
}

void
gw_arena_free (void *ptr)
{
    if (!gw_arena_holds (ptr))
        free (ptr);             //  arena memory goes with the rewind
}

static void
s_install_hooks (void)
{
    static cJSON_Hooks hooks = {gw_arena_alloc, gw_arena_free};
    cJSON_InitHooks (&hooks);
}

//  The hooks are global to cJSON: they are written once, and main does it
//  before any actor thread (the notifier uses cJSON too) exists
void
gw_arena_setup (void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once (&once, s_install_hooks);
}

void
gw_arena_rewind (void)
{
    if (!tl_arena) {
        tl_arena = (arena_t *) calloc (1, sizeof (arena_t));
        if (tl_arena)
            tl_arena->block = (char *) malloc (GW_ARENA_SIZE);
        if (!tl_arena || !tl_arena->block) {
            free (tl_arena);
            tl_arena = NULL;    //  run on the heap
        }
    }
    if (tl_arena)
        tl_arena->used = 0;
}

void
gw_arena_teardown (void)
{
    if (tl_arena) {
        free (tl_arena->block);
        free (tl_arena);
        tl_arena = NULL;
    }
}

//  ---------------------------------------------------------------------
//  Self test

void
gw_arena_test (bool verbose)
{
    if (verbose)
        printf (" * gw_arena: ");
    //  No arena yet: the heap
    char *heap = (char *) gw_arena_alloc (10);
    assert (heap && !gw_arena_holds (heap));
    gw_arena_free (heap);
    //  Aligned pieces of one block, handed out again after a rewind
    gw_arena_rewind ();
    char *a = (char *) gw_arena_alloc (3);
    char *b = (char *) gw_arena_alloc (5);
    assert (gw_arena_holds (a) && gw_arena_holds (b));
    assert ((uintptr_t) b % ARENA_ALIGN == 0 && b == a + ARENA_ALIGN);
    gw_arena_free (a);          //  nothing happens
    gw_arena_rewind ();
    assert (gw_arena_alloc (3) == a);
    //  Past the block: the heap, freed for real
    char *big = (char *) gw_arena_alloc (GW_ARENA_SIZE);
    assert (big && !gw_arena_holds (big));
    gw_arena_free (big);
    gw_arena_teardown ();
    assert (!gw_arena_holds (a));
    if (verbose)
        printf ("OK\n");
}
