// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// Issue 8's target: 8 workers burst, free everything and block (they never
// call malloc again); main keeps making a few calls of its own (no malloc_trim, no
// purge thread): RSS at most 3x glibc's within 2 s.
#include "idle_workers.h"

int main(void) { return idle_main(MODE_TRAFFIC); }
