#!/bin/sh
# umalloc's fork handlers are registered before anyone else's even when a
# thread registers its own while umalloc's registration is still under way.
# A library whose constructor runs before umalloc's (a program's own shared
# library: the preloaded umalloc is initialised last) starts a thread that
# calls pthread_atfork, and wraps __register_atfork (after umalloc in the
# lookup order, so umalloc's registration goes through it) to make the first
# registration slow. Then main registers a prepare handler that calls
# malloc_trim, which takes every arena lock: if main's handler got in before
# umalloc's, it runs after umalloc's prepare has taken those locks, and the
# fork deadlocks. It does not, because the thread's creation ran umalloc's
# init in the creating thread (glibc's pthread_create allocates the new
# thread's TLS vector with calloc), and the init registers the handlers
# before it returns (malloc.c, fork_register): no second thread exists while
# umalloc's registration is in flight. A build that registers only from its
# constructor and from __register_atfork hung here.
# timeout: 120
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/early.c" <<'EOC'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
typedef int (*reg_fn)(void (*)(void), void (*)(void), void (*)(void), void *);
static int calls;
static volatile int entered;
/* the next __register_atfork in the lookup order (libc's); the first
 * registration that passes through here takes 400 ms */
int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso)
{
    reg_fn next = (reg_fn)dlvsym(RTLD_NEXT, "__register_atfork", "GLIBC_2.3.2");
    if (!next)
        abort();
    if (__atomic_fetch_add(&calls, 1, __ATOMIC_SEQ_CST) == 0) {
        entered = 1;
        struct timespec ts = {0, 400 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return next(prepare, parent, child, dso);
}
static void nop(void) {}
static void *early_thread(void *arg)
{
    (void)arg;
    free(malloc(100));
    pthread_atfork(nop, nop, nop);
    return NULL;
}
static pthread_t early;
__attribute__((constructor)) static void early_init(void)
{
    if (pthread_create(&early, NULL, early_thread, NULL) != 0)
        abort();
    /* until some registration is inside the slow wrapper (at most 2 s) */
    for (int i = 0; i < 2000 && !entered; i++) {
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
void early_join(void) { pthread_join(early, NULL); }
EOC
printf 'GLIBC_2.3.2 { global: __register_atfork; };\nEARLY { global: *; };\n' > "$tmp/early.map"
cat > "$tmp/forker.c" <<'EOC'
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
void early_join(void);
static void prepare(void) { malloc_trim(0); }
static void after(void) { free(malloc(100000)); }
static void *idle(void *arg)
{
    (void)arg;
    pause();
    return NULL;
}
int main(void)
{
    pthread_t t; /* the process stays multi-threaded: the locks are taken for real */
    if (pthread_create(&t, NULL, idle, NULL) != 0)
        return 3;
    pthread_atfork(prepare, after, after);
    early_join();
    pid_t p = fork();
    if (p < 0)
        return 4;
    if (p == 0) {
        free(malloc(10));
        _exit(0);
    }
    int st;
    if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    printf("forked\n");
    return 0;
}
EOC
gcc -std=c11 -O1 -Wall -shared -fPIC -o "$tmp/libearly.so" "$tmp/early.c" -ldl -lpthread \
    -Wl,--version-script="$tmp/early.map"
gcc -std=c11 -O1 -Wall -o "$tmp/forker" "$tmp/forker.c" -Wl,--no-as-needed -L"$tmp" -learly \
    -Wl,-rpath,"$tmp" -lpthread
for lib in "$UMALLOC_LIB" ""; do
    out=$(LD_PRELOAD="$lib" timeout -s KILL 30 "$tmp/forker") ||
        { echo "preload '$lib': exit $? ($out): the fork deadlocked or failed"; exit 1; }
    [ "$out" = "forked" ] || { echo "preload '$lib': $out"; exit 1; }
done
echo "fork handlers registered by an early thread: umalloc's came first"
