/* Flags Swift's Glibc module does not export (they need _GNU_SOURCE). */
#define _GNU_SOURCE
#include <fcntl.h>
#include "borealis_support.h"

int borealis_open_direct_flag(void) { return O_DIRECT; }
