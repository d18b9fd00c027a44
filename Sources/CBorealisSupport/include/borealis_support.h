/* CRC32C (Castagnoli) for Borealis: the SSE4.2 instruction where the CPU has it, a
 * slicing-by-8 table otherwise. Both produce the standard CRC32C (as iSCSI, ext4, RocksDB):
 * crc = borealis_crc32c(0, data, n) with the usual pre- and post-inversion done inside. */
#ifndef BOREALIS_SUPPORT_H
#define BOREALIS_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (the CRC of earlier bytes, 0 for none) over `len` bytes at `data`. */
uint32_t borealis_crc32c(uint32_t crc, const void *data, size_t len);
/* The table implementation alone, for tests that compare the two paths. */
uint32_t borealis_crc32c_portable(uint32_t crc, const void *data, size_t len);
/* 1 when borealis_crc32c uses the hardware instruction. */
int borealis_crc32c_is_hardware(void);

/* open(2)'s O_DIRECT on this architecture (its value differs between x86-64 and arm64). */
int borealis_open_direct_flag(void);

/* Takes an OFD write lock on bytes [start, start + length) of `fd` without waiting: 0, or -1
 * with errno (EAGAIN/EACCES when another open file description holds a conflicting lock). */
int borealis_ofd_write_lock(int fd, int64_t start, int64_t length);
/* The start of a write lock held through another open file description that overlaps
 * [start, start + length): -1 when none, -2 when the query failed (errno says why). */
int64_t borealis_ofd_conflicting_write_lock(int fd, int64_t start, int64_t length);

/* Names the calling thread (as `top -H` and debuggers show it), cut to the 15 bytes Linux
 * keeps: pthread_setname_np needs _GNU_SOURCE, which Swift's Glibc module leaves out. */
void borealis_set_thread_name(const char *name);

/* Bytes left on the calling thread's stack below the caller's frame (SIZE_MAX when unknown):
 * deep recursion checks it to fail with 54001 instead of overflowing the stack. */
size_t borealis_stack_remaining(void);

#endif
