/*  sig_rooms.h - the /signal dialect's state: rooms, members, queued frames

    Plain logic on plain structs: commands come in as decoded msg_sig_t
    values with the current time, and everything that results leaves
    through the rooms_sink_t (frames to deliver, log records). No sockets,
    no threads, no clock of its own, so it is tested directly.

    Rules (docs/signal.md):
    - Membership is per connection: one room and one user name at a time.
      Joining elsewhere leaves the old room first. Joining a room under a
      name that another connection holds takes the name over; that
      connection loses its membership and gets a "replaced" error.
    - A signal's room and from are the sender's membership, never what the
      frame claims. With "to" it goes to that member, otherwise to every
      other member; with nobody to receive it, it is queued for the room.
    - The queue is FIFO, bounded per room (frames, bytes) and in total
      (bytes), and every frame has a time to live. A joiner receives, at
      once and in order, every queued frame not sent under its own name and
      not addressed to someone else. A sender's queued frames are dropped
      when its membership ends.
*/
#ifndef SIG_ROOMS_H_INCLUDED
#define SIG_ROOMS_H_INCLUDED

#include "rooms_sink.h"

typedef struct {
    size_t room_max_members;    //  members of one room
    size_t max_rooms;           //  rooms that exist at once
    size_t queue_max_frames;    //  queued frames per room
    size_t queue_max_bytes;     //  queued bytes per room
    size_t queue_total_bytes;   //  queued bytes over all rooms
    int64_t queue_ttl_ms;       //  life of a queued frame
} sig_rooms_cfg_t;

typedef struct _sig_rooms_t sig_rooms_t;

sig_rooms_t *
    sig_rooms_new (const sig_rooms_cfg_t *cfg, const rooms_sink_t *sink);
void
    sig_rooms_destroy (sig_rooms_t **self_p);

//  A validated command from a /signal connection; now is monotonic ms
void
    sig_rooms_command (sig_rooms_t *self, const msg_sig_t *cmd, int64_t now);
//  The connection is gone: its membership ends
void
    sig_rooms_close (sig_rooms_t *self, uint64_t conn, int64_t now);
//  Drops queued frames whose time has come
void
    sig_rooms_expire (sig_rooms_t *self, int64_t now);
//  When the next queued frame expires, or -1 when nothing is queued
int64_t
    sig_rooms_next_deadline (const sig_rooms_t *self);

//  Counters, for logs and tests (queries never change the state)
size_t
    sig_rooms_room_count (const sig_rooms_t *self);
size_t
    sig_rooms_member_count (const sig_rooms_t *self);
size_t
    sig_rooms_queued_frames (const sig_rooms_t *self);
size_t
    sig_rooms_queued_bytes (const sig_rooms_t *self);

void
    sig_rooms_test (bool verbose);

#endif
