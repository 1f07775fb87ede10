// Seed (f) with the decay purge at its most eager: M_TRIM_THRESHOLD -1 and
// M_MMAP_MAX 0 (the seed's fix: keep the 2 MiB block in the heap) must still
// give about zero page faults per request even with the purge decay at 0 and
// time passing between requests; the purge must stay out of it.
#include "../common.h"
#include "../purge_util.h"

int main(void)
{
    p_need_umalloc();
    CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);
    CHECK(mallopt(M_MMAP_MAX, 0) == 1);
    CHECK(mallopt(M_UMALLOC_PURGE_DECAY, 0) == 1);
    const size_t sz = 2 * T_MIB;
    const int iters = (int)t_scale(2000, 300);
    long f0 = t_minflt();
    for (int i = 0; i < iters; i++) {
        char *p = malloc(sz);
        CHECK(p != NULL);
        for (int k = 0; k < 6; k++)
            p[(sz / 6) * (size_t)k] = (char)k;
        t_escape(p);
        free(p);
        if (i % 50 == 0)
            p_sleep_ms(5); /* sweeps come due: a purge would act now */
    }
    long faults = t_minflt() - f0;
    printf("%d x malloc(2 MiB)+touch 6 pages+free, decay 0, M_TRIM_THRESHOLD -1, M_MMAP_MAX 0: %ld minor faults\n",
           iters, faults);
    EXPECTF(faults < iters / 20, "%ld minor faults for %d requests", faults, iters);
    /* the same with the purge allowed (trim threshold back) does fault: the test can fail */
    CHECK(mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024) == 1);
    f0 = t_minflt();
    for (int i = 0; i < iters / 10; i++) {
        char *p = malloc(sz);
        CHECK(p != NULL);
        for (int k = 0; k < 6; k++)
            p[(sz / 6) * (size_t)k] = (char)k;
        t_escape(p);
        free(p);
        p_sleep_ms(5);
    }
    faults = t_minflt() - f0;
    printf("the same with M_TRIM_THRESHOLD 128 MiB (purge on, decay 0): %ld minor faults for %d requests\n", faults,
           iters / 10);
    /* at least a few purges' worth (each refaults the 6 pages touched): a
     * purge that never acts gives about none. Not one per few requests: on
     * a loaded machine the debug run once saw a single purge (6 faults) in
     * its 30 requests, where iters / 40 asked for 7 */
    EXPECTF(faults >= iters / 100, "decay 0 with trimming allowed: only %ld faults in %d requests", faults, iters / 10);
    return t_done();
}
