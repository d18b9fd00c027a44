/* CRC32C, hardware (SSE4.2 crc32 instruction) with a slicing-by-8 table fallback.
 * The table is built once, on first use, from the reflected Castagnoli polynomial 0x82F63B78. */
#include "borealis_support.h"
#include <string.h>
#include <pthread.h>

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int s = 1; s < 8; s++) { c = table[0][c & 0xff] ^ (c >> 8); table[s][n] = c; }
    }
}

uint32_t borealis_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    pthread_once(&table_once, build_table);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint32_t lo = (uint32_t)w ^ c, hi = (uint32_t)(w >> 32);
        c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
            table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^ table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8; len -= 8;
    }
    while (len--) c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

/* Combining CRCs computed side by side. The raw CRC register (no inversions) of a message
 * followed by n zero bytes is a linear function of the register before them: a 32x32 matrix
 * over GF(2), one column per bit. Three streams over adjacent blocks of STREAM bytes run in
 * parallel (the crc32 instruction has a latency of three cycles and a throughput of one), and
 * the register of the first is then carried over the next block's length by that matrix. */
#define STREAM 1360  /* 3 x 1360 = 4080: a 4 KiB page's checksummed bytes leave a 12-byte tail */
static uint32_t shift_stream[32];     /* the matrix for STREAM zero bytes, column i for bit i */
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    /* Branch-free: the bits of a CRC are random, so a branch per bit mispredicts half the time. */
    uint32_t sum = 0;
    for (int i = 0; i < 32; i++) sum ^= matrix[i] & (0u - ((vector >> i) & 1u));
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int i = 0; i < 32; i++) square[i] = gf2_times(matrix, matrix[i]);
}

static void build_shift(void) {
    /* One zero bit: shift right, folding in the reflected polynomial when the low bit was set. */
    uint32_t op[32], next[32], result[32];
    op[0] = 0x82F63B78u;
    for (int i = 1; i < 32; i++) op[i] = 1u << (i - 1);
    for (int i = 0; i < 32; i++) result[i] = 1u << i;
    /* op^(8 * STREAM) by squaring and multiplying (powers of one operator commute). */
    for (unsigned bits = 8 * STREAM; bits; bits >>= 1) {
        if (bits & 1) {
            for (int i = 0; i < 32; i++) next[i] = gf2_times(op, result[i]);
            memcpy(result, next, sizeof next);
        }
        gf2_square(next, op);
        memcpy(op, next, sizeof op);
    }
    memcpy(shift_stream, result, sizeof result);
}

#if defined(__x86_64__)
#include <nmmintrin.h>
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t c = ~crc;
    if (len >= 3 * STREAM) {
        pthread_once(&shift_once, build_shift);
        while (len >= 3 * STREAM) {
            uint64_t a = c, b = 0, d = 0;
            for (size_t i = 0; i < STREAM; i += 8) {
                uint64_t wa, wb, wd;
                memcpy(&wa, p + i, 8); memcpy(&wb, p + STREAM + i, 8); memcpy(&wd, p + 2 * STREAM + i, 8);
                a = _mm_crc32_u64(a, wa); b = _mm_crc32_u64(b, wb); d = _mm_crc32_u64(d, wd);
            }
            /* Registers are linear: crc(A B) = shift(crc(A)) ^ crc_from_zero(B). */
            uint32_t ab = gf2_times(shift_stream, (uint32_t)a) ^ (uint32_t)b;
            c = gf2_times(shift_stream, ab) ^ (uint32_t)d;
            p += 3 * STREAM; len -= 3 * STREAM;
        }
    }
    while (len >= 8) { uint64_t w; memcpy(&w, p, 8); c = _mm_crc32_u64(c, w); p += 8; len -= 8; }
    uint32_t c32 = (uint32_t)c;
    while (len--) c32 = _mm_crc32_u8(c32, *p++);
    return ~c32;
}
static int has_sse42(void) { __builtin_cpu_init(); return __builtin_cpu_supports("sse4.2"); }
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
static uint32_t crc32c_arm(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (len >= 8) { uint64_t w; memcpy(&w, p, 8); c = __crc32cd(c, w); p += 8; len -= 8; }
    while (len--) c = __crc32cb(c, *p++);
    return ~c;
}
#endif

int borealis_crc32c_is_hardware(void) {
#if defined(__x86_64__)
    /* Relaxed atomics: threads may race to fill it, with the same answer. */
    static int cached = -1;
    int known = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (known < 0) {
        known = has_sse42();
        __atomic_store_n(&cached, known, __ATOMIC_RELAXED);
    }
    return known;
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
    return 1;
#else
    return 0;
#endif
}

uint32_t borealis_crc32c(uint32_t crc, const void *data, size_t len) {
#if defined(__x86_64__)
    if (borealis_crc32c_is_hardware()) return crc32c_sse42(crc, data, len);
#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
    return crc32c_arm(crc, data, len);
#endif
    return borealis_crc32c_portable(crc, data, len);
}
