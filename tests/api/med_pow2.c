// A medium request of a power of two, or of a power of two and k eighths
// more (1280, 1536, ..., 4096, 6144, 8192, 12288, ...), the sizes programs
// ask for most (buffers, doubling arrays), fits its cache class exactly:
// its block has the request plus 8 usable bytes, as under glibc, where a
// class at the power of two itself missed such a request's chunk (header
// word, 16-byte alignment) by 16 bytes and gave it the next class, 12.5%
// more (4096 -> 4600 usable bytes). Each size is asked for once first (the
// process's first request of a medium size is exact anyway, see
// med_first_request); the second block is freed and must come back from
// the cache for the third request.
#include "../common.h"

int main(void)
{
    static const size_t sizes[] = {1280, 1536, 2048, 3072, 4096, 6144, 8192,
                                   12288, 16384, 32768, 65536, 98304};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t s = sizes[k];
        void *volatile w = malloc(s);
        CHECK(w != NULL);
        free(w);
        void *volatile p = malloc(s);
        CHECK(p != NULL);
        size_t u = malloc_usable_size(p);
        EXPECTF(u == s + 8, "malloc(%zu): %zu usable bytes, not %zu", s, u, s + 8);
        memset(p, 0x5a, u);
        free(p);
        void *volatile q = malloc(s);
        CHECK(q != NULL);
        if (!t_is_glibc())
            EXPECTF(q == p, "malloc(%zu) after a free of its class: %p, not the cached %p", s, q, p);
        free(q);
    }
    return t_done();
}
