// Switching M_PERTURB on and off again leaves the thread cache working and
// bounded (it is bypassed while perturbing, restored afterwards).
#include "../common.h"

int main(void)
{
    enum { N = 20000 };
    static void *p[N];
    for (int round = 0; round < 3; round++) {
        CHECK(mallopt(M_PERTURB, 0x5a) == 1);
        void *q = malloc(40);
        CHECK(q != NULL);
        EXPECT(((unsigned char *)q)[0] == (0x5a ^ 0xff));
        free(q);
        CHECK(mallopt(M_PERTURB, 0) == 1);
        for (int i = 0; i < N; i++)
            CHECK((p[i] = malloc(48)) != NULL);
        for (int i = 0; i < N; i++)
            free(p[i]);
        /* on and off with blocks outstanding, then free them all */
        for (int i = 0; i < N; i++)
            CHECK((p[i] = malloc(40)) != NULL);
        CHECK(mallopt(M_PERTURB, 0x55) == 1);
        CHECK(mallopt(M_PERTURB, 0) == 1);
        for (int i = 0; i < N; i++)
            free(p[i]);
        struct mallinfo2 m = mallinfo2();
        EXPECTF(m.uordblks < 1024 * 1024, "uordblks %zu after freeing everything", m.uordblks);
        /* the cache holds a bounded number of chunks (umalloc reports it in
         * malloc_info as <total type="tcache" count=...>) */
        static char buf[1 << 16]; /* tmpfile, not open_memstream: in the prefixed
                                   * builds libc's buffers are not ours to free */
        FILE *f = tmpfile();
        CHECK(f != NULL);
        CHECK(malloc_info(0, f) == 0);
        rewind(f);
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        buf[len] = 0;
        fclose(f);
        const char *t = strstr(buf, "type=\"tcache\" count=\"");
        if (t) {
            long cached = atol(t + strlen("type=\"tcache\" count=\""));
            EXPECTF(cached <= 4096, "thread cache holds %ld chunks", cached);
        }
    }
    return t_done();
}
