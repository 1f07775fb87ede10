// cflags: -pthread
// ldflags: -pthread
// timeout: 60
// The 95%-freed burst with no calls at all afterwards and the purge thread
// on (mallopt M_UMALLOC_PURGE_THREAD): RSS 4 s later at most 10% of peak.
#include "purge_burst.h"

int main(void) { return run_burst(MODE_IDLE, 10.0); }
