// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// Issue 8's target at its plainest: 8 workers burst, free everything and
// block; nobody calls malloc again, and there is no purge thread: RSS at
// most 3x glibc's within 2 s. Only the workers' own frees can give the
// memory back (the emptied arena, src/purge.c).
#include "idle_workers.h"

int main(void) { return idle_main(MODE_NONE); }
