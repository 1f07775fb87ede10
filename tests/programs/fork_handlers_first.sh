#!/bin/sh
# Fork handlers of a library whose constructor ran before umalloc's (a
# program's own shared library: the preloaded umalloc is initialised last)
# allocate while umalloc's handlers hold the allocator's locks: its prepare
# handler runs after umalloc's, its child handler before umalloc's. With a
# second thread allocating (so the locks are taken for real), each fork
# must finish in parent and child, as it does on glibc, which takes its
# locks inside fork(). Both hung in um_lock_slow on 5f1e67a (the fix:
# internal.h, um_fork_skips).
# timeout: 120
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/early.c" <<'EOC'
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
static char *held;
static void prepare(void) { held = malloc(300); memset(held, 1, 300); }
static void parent(void) { free(held); free(malloc(5000)); }
static void child(void) { free(held); free(malloc(70)); free(malloc(200000)); }
__attribute__((constructor)) static void early(void) { pthread_atfork(prepare, parent, child); }
EOC
cat > "$tmp/forker.c" <<'EOC'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static volatile int stop;
static void *churn(void *arg)
{
    (void)arg;
    for (unsigned i = 0; !stop; i++)
        free(malloc(i % 3000 + 1));
    return NULL;
}
int main(int argc, char **argv)
{
    int forks = argc > 1 ? atoi(argv[1]) : 20;
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        if (pthread_create(&t[k], NULL, churn, NULL) != 0)
            return 3;
    for (int i = 0; i < forks; i++) {
        pid_t p = fork();
        if (p < 0)
            return 4;
        if (p == 0) {
            alarm(20); /* a hung child dies of SIGALRM */
            free(malloc(10));
            _exit(0);
        }
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("child %d: status %#x\n", i, st);
            return 1;
        }
    }
    stop = 1;
    for (int k = 0; k < 2; k++)
        pthread_join(t[k], NULL);
    printf("%d forks\n", forks);
    return 0;
}
EOC
gcc -std=c11 -O1 -Wall -shared -fPIC -o "$tmp/libearly.so" "$tmp/early.c" -lpthread
gcc -std=c11 -O1 -Wall -o "$tmp/forker" "$tmp/forker.c" -Wl,--no-as-needed -L"$tmp" -learly \
    -Wl,-rpath,"$tmp" -lpthread
n=20
[ -n "${UMALLOC_TEST_DEBUG:-}" ] && n=5
for lib in "$UMALLOC_LIB" ""; do
    out=$(LD_PRELOAD="$lib" timeout 60 "$tmp/forker" $n) ||
        { echo "preload '$lib': exit $? ($out): a fork handler that allocates hung or failed"; exit 1; }
    [ "$out" = "$n forks" ] || { echo "preload '$lib': $out"; exit 1; }
done
echo "fork handlers registered before umalloc's allocate: $n forks ok"
