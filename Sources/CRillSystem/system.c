#include "rill_system.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

void rill_tune_allocator(int mmap_threshold_bytes, int trim_threshold_bytes) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, mmap_threshold_bytes);
    mallopt(M_TRIM_THRESHOLD, trim_threshold_bytes);
#else
    (void)mmap_threshold_bytes;
    (void)trim_threshold_bytes;
#endif
}
