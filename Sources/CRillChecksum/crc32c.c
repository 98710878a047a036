// CRC-32C: reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF.
//
// Two implementations share one interface:
// - portable: slicing-by-8 tables, about 1-2 bytes per cycle;
// - x86-64 with SSE4.2: the `crc32` instruction has a latency of three cycles but a throughput of
//   one per cycle, so one dependent chain leaves two thirds of the unit idle. We run three chains
//   over three adjacent blocks and merge them with a "shift by N zero bytes" operator, which is
//   linear in the CRC register and so can be applied with four table lookups.

#include "rill_crc32c.h"

#include <pthread.h>
#include <string.h>

#define RILL_CRC32C_POLY 0x82F63B78u

// ---------------------------------------------------------------------------------------------
// Portable path.

static uint32_t slicing_table[8][256];

static void build_slicing_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) {
            crc = (crc & 1) ? (crc >> 1) ^ RILL_CRC32C_POLY : crc >> 1;
        }
        slicing_table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = slicing_table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = slicing_table[0][crc & 0xff] ^ (crc >> 8);
            slicing_table[k][n] = crc;
        }
    }
}

static uint32_t load_le32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

// Runs the raw register update (no pre/post inversion) over `length` bytes.
static uint32_t update_portable(uint32_t crc, const unsigned char *p, size_t length) {
    while (length && ((uintptr_t)p & 7)) {
        crc = slicing_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        length--;
    }
    while (length >= 8) {
        uint32_t low = load_le32(p) ^ crc;
        uint32_t high = load_le32(p + 4);
        crc = slicing_table[7][low & 0xff] ^ slicing_table[6][(low >> 8) & 0xff] ^
              slicing_table[5][(low >> 16) & 0xff] ^ slicing_table[4][low >> 24] ^
              slicing_table[3][high & 0xff] ^ slicing_table[2][(high >> 8) & 0xff] ^
              slicing_table[1][(high >> 16) & 0xff] ^ slicing_table[0][high >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) {
        crc = slicing_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

// ---------------------------------------------------------------------------------------------
// Shift operators: the register after feeding N zero bytes is a linear function of the register,
// represented as a 32x32 matrix over GF(2) (column n = image of bit n). We build the matrix for N
// a power of two by repeated squaring of the one-zero-bit operator, then tabulate it per byte.

static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    for (int n = 0; vector; n++, vector >>= 1) {
        if (vector & 1) sum ^= matrix[n];
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(matrix, matrix[n]);
}

// Fills `table` so that shift(crc) = XOR of table[k][byte k of crc] equals the register after
// `zero_bytes` zero bytes. `zero_bytes` must be a power of two.
static void build_shift_table(uint32_t table[4][256], size_t zero_bytes) {
    uint32_t operator_bits[32], scratch[32];
    operator_bits[0] = RILL_CRC32C_POLY;  // one zero bit
    for (int n = 1; n < 32; n++) operator_bits[n] = 1u << (n - 1);
    // 1 bit -> 8 bits (one byte) takes three squarings, then one more per doubling of bytes.
    size_t squarings = 3;
    for (size_t bytes = zero_bytes; bytes > 1; bytes >>= 1) squarings++;
    for (size_t s = 0; s < squarings; s++) {
        gf2_square(scratch, operator_bits);
        memcpy(operator_bits, scratch, sizeof(scratch));
    }
    for (uint32_t n = 0; n < 256; n++) {
        for (int k = 0; k < 4; k++) table[k][n] = gf2_times(operator_bits, n << (8 * k));
    }
}

static inline uint32_t apply_shift(uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
           table[3][crc >> 24];
}

// ---------------------------------------------------------------------------------------------
// Hardware path (x86-64 SSE4.2).

#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

static uint32_t long_shift[4][256];
static uint32_t short_shift[4][256];
static int hardware_available = 0;

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t update_hardware(uint32_t crc32, const unsigned char *p, size_t length) {
    uint64_t crc0 = crc32;
    while (length && ((uintptr_t)p & 7)) {
        crc0 = _mm_crc32_u8((uint32_t)crc0, *p++);
        length--;
    }
    // Three chains over three adjacent long blocks, then merge: crc(A|B|C) =
    // shift(shift(crc(A)) ^ crc0(B)) ^ crc0(C), where crc0 starts from a zero register.
    while (length >= 3 * LONG_BLOCK) {
        uint64_t crc1 = 0, crc2 = 0;
        const unsigned char *end = p + LONG_BLOCK;
        do {
            uint64_t a, b, c;
            memcpy(&a, p, 8);
            memcpy(&b, p + LONG_BLOCK, 8);
            memcpy(&c, p + 2 * LONG_BLOCK, 8);
            crc0 = _mm_crc32_u64(crc0, a);
            crc1 = _mm_crc32_u64(crc1, b);
            crc2 = _mm_crc32_u64(crc2, c);
            p += 8;
        } while (p < end);
        crc0 = apply_shift(long_shift, (uint32_t)crc0) ^ (uint32_t)crc1;
        crc0 = apply_shift(long_shift, (uint32_t)crc0) ^ (uint32_t)crc2;
        p += 2 * LONG_BLOCK;
        length -= 3 * LONG_BLOCK;
    }
    while (length >= 3 * SHORT_BLOCK) {
        uint64_t crc1 = 0, crc2 = 0;
        const unsigned char *end = p + SHORT_BLOCK;
        do {
            uint64_t a, b, c;
            memcpy(&a, p, 8);
            memcpy(&b, p + SHORT_BLOCK, 8);
            memcpy(&c, p + 2 * SHORT_BLOCK, 8);
            crc0 = _mm_crc32_u64(crc0, a);
            crc1 = _mm_crc32_u64(crc1, b);
            crc2 = _mm_crc32_u64(crc2, c);
            p += 8;
        } while (p < end);
        crc0 = apply_shift(short_shift, (uint32_t)crc0) ^ (uint32_t)crc1;
        crc0 = apply_shift(short_shift, (uint32_t)crc0) ^ (uint32_t)crc2;
        p += 2 * SHORT_BLOCK;
        length -= 3 * SHORT_BLOCK;
    }
    while (length >= 8) {
        uint64_t a;
        memcpy(&a, p, 8);
        crc0 = _mm_crc32_u64(crc0, a);
        p += 8;
        length -= 8;
    }
    while (length--) crc0 = _mm_crc32_u8((uint32_t)crc0, *p++);
    return (uint32_t)crc0;
}
#endif

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    build_slicing_table();
    build_shift_table(long_shift, LONG_BLOCK);
    build_shift_table(short_shift, SHORT_BLOCK);
#if defined(__x86_64__)
    __builtin_cpu_init();
    hardware_available = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
}

uint32_t rill_crc32c_extend(uint32_t crc, const void *data, size_t length) {
    pthread_once(&tables_once, build_tables);
    uint32_t reg = ~crc;
#if defined(__x86_64__)
    if (hardware_available) return ~update_hardware(reg, (const unsigned char *)data, length);
#endif
    return ~update_portable(reg, (const unsigned char *)data, length);
}

uint32_t rill_crc32c_extend_portable(uint32_t crc, const void *data, size_t length) {
    pthread_once(&tables_once, build_tables);
    return ~update_portable(~crc, (const unsigned char *)data, length);
}

int rill_crc32c_is_hardware_accelerated(void) {
    pthread_once(&tables_once, build_tables);
    return hardware_available;
}
