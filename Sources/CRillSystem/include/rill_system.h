// Thread-level tuning the Swift standard library does not expose.
#ifndef RILL_SYSTEM_H
#define RILL_SYSTEM_H

/// Sets the nice value of the calling thread (on Linux a thread's nice value is its own).
/// Returns 0, or -1 where it failed or is not supported.
int rill_set_thread_nice(int nice);

#endif
