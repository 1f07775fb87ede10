// expect-abort: ^umalloc: (free\(\): corrupted header of 0x[0-9a-f]+: heap overflow past the end of 0x[0-9a-f]+ \(size [0-9]+\), or underflow of 0x[0-9a-f]+|check\(\): chunk header overwritten \(not one umalloc wrote\) at 0x[0-9a-f]+)$
// calloc_overflowed.h with 2000-byte blocks: calloc's slow path (a medium class).
#include "calloc_overflowed.h"

int main(void) { return calloc_overflowed(2000); }
