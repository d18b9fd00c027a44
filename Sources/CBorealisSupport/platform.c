/* Flags Swift's Glibc module does not export (they need _GNU_SOURCE). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include "borealis_support.h"

int borealis_open_direct_flag(void) { return O_DIRECT; }

void borealis_set_thread_name(const char *name) {
    char cut[16];
    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = 0;
    pthread_setname_np(pthread_self(), cut);
}
