// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// Issue 8's target: 8 workers burst, free everything and block; nobody calls
// malloc again; the purge thread is on, main makes no call at all: RSS at
// most 3x glibc's within 2 s.
#include "idle_workers.h"

int main(void) { return idle_main(MODE_WAIT); }
