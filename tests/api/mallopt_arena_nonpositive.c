// mallopt(M_ARENA_MAX, n) and mallopt(M_ARENA_TEST, n) with n <= 0 change
// nothing and return 1, as glibc 2.36 does (they returned 0); the value set
// before stays in force. MALLOC_ARENA_MAX=0 in the environment is still
// ignored with one line on stderr (glibc's tunable starts at 1).
#include "../common.h"
#include <pthread.h>

static void *touch(void *arg)
{
    void *p = malloc(100);
    t_escape(p);
    free(p);
    return arg;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) { /* the child: MALLOC_ARENA_MAX=0 */
        void *p = malloc(10);
        t_escape(p);
        free(p);
        return 0;
    }
    const int bad[] = {0, -1, INT_MIN};
    CHECK(mallopt(M_ARENA_MAX, 1) == 1);
    CHECK(mallopt(M_ARENA_TEST, 1) == 1);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECTF(mallopt(M_ARENA_MAX, bad[i]) == 1, "mallopt(M_ARENA_MAX, %d) != 1", bad[i]);
        EXPECTF(mallopt(M_ARENA_TEST, bad[i]) == 1, "mallopt(M_ARENA_TEST, %d) != 1", bad[i]);
    }
    /* the limit of 1 set above still holds: threads share the one arena,
     * so the heap stays a single one in malloc_info */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, touch, NULL) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    CHECK(malloc_info(0, f) == 0);
    fclose(f);
    EXPECTF(strstr(buf, "<heap nr=\"1\"") == NULL, "M_ARENA_MAX 1 no longer in force: %.200s", buf);
#ifndef UMALLOC_PREFIXED
    free(buf); /* (open_memstream's buffer: the sanitizer's malloc in asan/tsan) */
#endif

    /* the environment: MALLOC_ARENA_MAX=0 is reported, not taken */
    if (strcmp(t_variant(), "release") == 0 || strcmp(t_variant(), "debug") == 0) {
        static char err[4096];
        int st = t_run_self("child", (const char *const[]){"MALLOC_ARENA_MAX=0", NULL}, err, sizeof err);
        EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        EXPECTF(strstr(err, "umalloc: ignoring MALLOC_ARENA_MAX=0: out of range") != NULL,
                "MALLOC_ARENA_MAX=0: stderr was \"%s\"", err);
    }
    return t_done();
}
