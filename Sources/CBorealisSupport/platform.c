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

/* The calling thread's stack: its lowest usable address, found once per thread (for the main
 * thread glibc reads /proc/self/maps) and kept in a thread-local. 0 when it cannot be known. */
static __thread uintptr_t stack_low_bound;
static __thread int stack_low_bound_known;

size_t borealis_stack_remaining(void) {
    if (!stack_low_bound_known) {
        pthread_attr_t attributes;
        void *address = NULL;
        size_t size = 0;
        stack_low_bound_known = 1;
        if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
            if (pthread_attr_getstack(&attributes, &address, &size) == 0) stack_low_bound = (uintptr_t)address;
            pthread_attr_destroy(&attributes);
        }
    }
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (stack_low_bound == 0 || here <= stack_low_bound) return stack_low_bound == 0 ? SIZE_MAX : 0;
    return here - stack_low_bound;
}
