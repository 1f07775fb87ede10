#!/bin/sh
# Fork handlers of a library whose constructor ran before umalloc's (a
# program's own shared library: the preloaded umalloc is initialised last).
# Its prepare handler locks the library's mutex, which its other threads
# hold while they allocate, then allocates; its parent and child handlers
# allocate and unlock. glibc takes its malloc locks inside fork(), after
# every prepare handler and before the others; umalloc's handlers must get
# that place (malloc.c, __register_atfork), or every fork deadlocks: the
# forking thread waits for the mutex, whose holder waits for an arena lock
# the fork already holds. With threads allocating (so the locks are taken
# for real), each fork must finish in parent and child. On 5f1e67a it hung
# every time.
# timeout: 180
set -eu
[ -n "${UMALLOC_LIB:-}" ] || exit 77
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/early.c" <<'EOC'
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *table[64];
static char *held;
void early_op(unsigned i) /* the library's work: allocates under its lock */
{
    pthread_mutex_lock(&lock);
    free(table[i % 64]);
    table[i % 64] = malloc(i % 100000 + 1);
    pthread_mutex_unlock(&lock);
}
static void prepare(void)
{
    pthread_mutex_lock(&lock);
    held = malloc(300);
    memset(held, 1, 300);
}
static void parent(void)
{
    free(held);
    free(malloc(5000));
    pthread_mutex_unlock(&lock);
}
static void child(void)
{
    free(held);
    free(malloc(70));
    free(malloc(200000));
    pthread_mutex_unlock(&lock);
}
__attribute__((constructor)) static void early(void) { pthread_atfork(prepare, parent, child); }
EOC
cat > "$tmp/forker.c" <<'EOC'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
void early_op(unsigned i);
static volatile int stop;
static void *churn(void *arg)
{
    for (unsigned i = (unsigned)(long)arg; !stop; i += 7919) {
        early_op(i);
        free(malloc(i % 3000 + 1));
    }
    return NULL;
}
int main(int argc, char **argv)
{
    int forks = argc > 1 ? atoi(argv[1]) : 20;
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        if (pthread_create(&t[k], NULL, churn, (void *)(long)k) != 0)
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
n=100
[ -n "${UMALLOC_TEST_DEBUG:-}" ] && n=10
for lib in "$UMALLOC_LIB" ""; do
    out=$(LD_PRELOAD="$lib" timeout 60 "$tmp/forker" $n) ||
        { echo "preload '$lib': exit $? ($out): a fork handler that allocates hung or failed"; exit 1; }
    [ "$out" = "$n forks" ] || { echo "preload '$lib': $out"; exit 1; }
done
echo "fork handlers of a library initialised before umalloc: $n forks ok"
