// Process-level tuning the Swift standard library does not expose.
#ifndef RILL_SYSTEM_H
#define RILL_SYSTEM_H

/// Keeps freed blocks up to `mmap_threshold_bytes` on the heap (instead of returning them to
/// the kernel with munmap) and trims the heap only above `trim_threshold_bytes`, so that
/// megabyte buffers allocated over and over do not cost page faults and zeroing each time.
/// A no-op where the C library has no mallopt.
void rill_tune_allocator(int mmap_threshold_bytes, int trim_threshold_bytes);

#endif
