//! banterd's memory allocator: jemalloc, tuned to give memory back.
//!
//! With glibc's malloc a burst (5,000 users joining one room) left the
//! freed holes between live connections' state resident: after the storm a
//! quiet server held about twice its idle memory per connection, although
//! only the idle state was still in use (`malloc_stats`: 20 MB in use of
//! 35 MB taken). jemalloc returns unused pages to the system on its own
//! schedule; here a background thread does the purging, so a server that
//! has gone quiet still shrinks, and pages unused for about a second go
//! back (jemalloc's default waits ten).

use tikv_jemalloc_ctl::{background_thread, Access, AsName};

/// How long freed pages stay before the background thread purges them.
const DIRTY_DECAY_MS: isize = 1_000;

/// Turns on the background purging and the shorter decay; call it before
/// any other thread starts (only arena 0, the main thread's, exists then;
/// the others are made later with the new default). Failures only cost
/// memory, so they are logged.
pub fn tune() {
    let decay: [&[u8]; 2] = [b"arenas.dirty_decay_ms\0", b"arena.0.dirty_decay_ms\0"];
    for key in decay {
        if let Err(err) = key.name().write(DIRTY_DECAY_MS) {
            tracing::warn!("allocator: purge delay not set: {err}");
        }
    }
    if let Err(err) = background_thread::write(true) {
        tracing::warn!("allocator: no background purging: {err}");
    }
}
