// variants: release debug
// ldflags: -rdynamic -ldl
// timeout: 30
// The allocator's first call sets itself up, registering a thread key; if
// that registration allocates (here: this program's own pthread_key_create,
// which the preloaded library binds to), the allocation re-enters malloc
// from inside the setup. It must be served, not deadlock on the setup lock.
#include "../common.h"
#include <dlfcn.h>
#include <pthread.h>

static int inner_allocs;

int pthread_key_create(pthread_key_t *key, void (*dtor)(void *))
{
    static int (*real)(pthread_key_t *, void (*)(void *));
    if (!real)
        real = (int (*)(pthread_key_t *, void (*)(void *)))dlsym(RTLD_NEXT, "pthread_key_create");
    char *p = malloc(64); /* re-enters the allocator during its setup */
    if (p) {
        memset(p, 1, 64);
        inner_allocs++;
    }
    free(p);
    return real ? real(key, dtor) : EAGAIN;
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "init_reentrant: hung (deadlock in the first malloc)\n";
    if (write(2, msg, sizeof msg - 1) < 0) {}
    _exit(3);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    alarm(20);
    void *p = malloc(100);
    CHECK(p != NULL);
    free(p);
    alarm(0);
    EXPECTF(inner_allocs >= 1, "the key registration never ran (inner allocations: %d)", inner_allocs);
    return t_done();
}
