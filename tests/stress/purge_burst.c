// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// Issue 8's target: 400 MB built in two threads, 95% freed in runs between
// survivors, light malloc/free traffic for 4 s, no malloc_trim: RSS at most
// 8% of the peak (scaled down, and measured above the start RSS, in debug;
// no RSS target under the sanitizers, whose shadow memory stays resident).
#include "purge_burst.h"

int main(void) { return run_burst(MODE_TRAFFIC, 8.0); }
