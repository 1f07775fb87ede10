/* The library's clock (os.c): the kernel's vDSO function, found in the
 * vDSO's symbol table at init, not libc's clock_gettime (whose stretch of
 * libc text a process on glibc's malloc never maps).
 *  - on x86-64 and aarch64 with a vDSO, the lookup finds the function;
 *  - its CLOCK_MONOTONIC and CLOCK_REALTIME agree with libc's clock_gettime;
 *  - um_now_ms is coarse monotonic milliseconds: it follows a 60 ms sleep;
 *  - a clock the kernel does not have gives -1 and leaves errno alone. */
#include <errno.h>
#include <sys/auxv.h>
#include <time.h>

#include "internal.h"
#include "unit.h"

static long long ns(const struct timespec *t) { return t->tv_sec * 1000000000LL + t->tv_nsec; }

int main(void)
{
    um_os_clock_init();
#if defined(__x86_64__) || defined(__aarch64__)
    if (getauxval(AT_SYSINFO_EHDR))
        U_CHECK(um_os_clock_in_vdso(), "the vDSO is mapped but its clock_gettime was not found");
#endif
    static const clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    for (unsigned k = 0; k < 2; k++) {
        struct timespec a, b, c;
        U_CHECK(clock_gettime(ids[k], &a) == 0, "libc clock %d", (int)ids[k]);
        U_CHECK(um_os_gettime(ids[k], &b) == 0, "um_os_gettime(%d) failed", (int)ids[k]);
        U_CHECK(clock_gettime(ids[k], &c) == 0, "libc clock %d", (int)ids[k]);
        U_CHECK(ns(&a) <= ns(&b) && ns(&b) <= ns(&c),
                "clock %d: ours %lld outside libc's [%lld, %lld]", (int)ids[k], ns(&b), ns(&a), ns(&c));
    }
    uint64_t t0 = um_now_ms();
    struct timespec nap = {0, 60 * 1000000};
    while (nanosleep(&nap, &nap) != 0 && errno == EINTR) {
    }
    uint64_t dt = um_now_ms() - t0;
    U_CHECK(t0 > 0 && dt >= 40 && dt < 2000, "um_now_ms moved %llu ms across a 60 ms sleep",
            (unsigned long long)dt);
    struct timespec t;
    errno = 1234;
    U_CHECK(um_os_gettime((clockid_t)0x7fff, &t) == -1, "a clock that does not exist was read");
    U_CHECK(errno == 1234, "errno changed to %d", errno);
    return U_DONE();
}
