/* Flags Swift's Glibc module does not export (they need _GNU_SOURCE). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include "borealis_support.h"

int borealis_open_direct_flag(void) { return O_DIRECT; }

/* Open file description (OFD) locks: owned by the open file description, so they conflict
 * between two opens of one file even inside one process, and vanish when the process dies. */
int borealis_ofd_write_lock(int fd, int64_t start, int64_t length) {
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = length };
    return fcntl(fd, F_OFD_SETLK, &lock);
}

int64_t borealis_ofd_conflicting_write_lock(int fd, int64_t start, int64_t length) {
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = start, .l_len = length };
    if (fcntl(fd, F_OFD_GETLK, &lock) != 0) return -2;
    return lock.l_type == F_UNLCK ? -1 : lock.l_start;
}

void borealis_set_thread_name(const char *name) {
    char cut[16];
    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = 0;
    pthread_setname_np(pthread_self(), cut);
}
