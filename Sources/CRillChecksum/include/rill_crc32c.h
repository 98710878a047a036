// CRC-32C (Castagnoli), as Kafka's RecordBatch v2 uses it.
#ifndef RILL_CRC32C_H
#define RILL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Extends `crc` (a finished CRC-32C, 0 for an empty prefix) with `length` bytes at `data`.
/// Uses the SSE4.2 `crc32` instruction (three interleaved streams) when the CPU has it and a
/// slicing-by-8 table otherwise. Thread-safe; the tables are built once on first use.
uint32_t rill_crc32c_extend(uint32_t crc, const void *data, size_t length);

/// The same computation forced onto the portable table-driven path (for tests and benchmarks).
uint32_t rill_crc32c_extend_portable(uint32_t crc, const void *data, size_t length);

/// 1 when `rill_crc32c_extend` uses a hardware instruction on this CPU, 0 otherwise.
int rill_crc32c_is_hardware_accelerated(void);

#ifdef __cplusplus
}
#endif

#endif
