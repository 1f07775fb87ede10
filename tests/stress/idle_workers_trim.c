// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// Issue 8's target: 8 workers burst, free everything and block; main calls
// malloc_trim(0): RSS at most 1.5x glibc's on the same program.
#include "idle_workers.h"

int main(void) { return idle_main(MODE_TRIM); }
