// A fork while another thread draws the heap map (umalloc_heap_map) or the
// heap picture (umalloc_heap_svg): the child draws its own, as its exit
// report does with UMALLOC_HEAP_MAP=1 or UMALLOC_SVG. Their locks are not
// taken before fork; the child must not inherit them held by a thread that
// is not there. Before, 29 of 30 children hung in the map (killed here by
// their alarm).
// cflags: -pthread
// ldflags: -pthread
// timeout: 120
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#include "../common.h"
#include "../purge_util.h"
#ifndef UMALLOC_PREFIXED
#pragma weak umalloc_heap_map
#pragma weak umalloc_heap_svg
#endif

static _Atomic int stop;
static int devnull;

static void draw(int svg)
{
    if (svg)
        umalloc_heap_svg(devnull);
    else
        umalloc_heap_map(devnull);
}

static void *drawer(void *arg)
{
    while (!atomic_load(&stop))
        draw(arg != NULL);
    return NULL;
}

static void forks_while_drawing(int svg)
{
    atomic_store(&stop, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, drawer, svg ? &devnull : NULL) == 0);
    int n = (int)t_scale(20, 6), hung = 0;
    for (int f = 0; f < n && !hung; f++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(5);
            draw(svg);
            _exit(0);
        }
        int st;
        CHECK(waitpid(pid, &st, 0) == pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            hung = 1;
            EXPECTF(0, "%s, fork %d: the child's own drawing %s %d", svg ? "picture" : "map", f,
                    WIFSIGNALED(st) ? "was killed (hung) by signal" : "exited with",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        }
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
}

int main(void)
{
    p_need_umalloc();
    devnull = open("/dev/null", O_WRONLY);
    CHECK(devnull >= 0);
    /* a heap worth drawing: every other block free */
    void *keep[300];
    for (int k = 0; k < 300; k++)
        keep[k] = malloc(100 + (size_t)k * 50);
    for (int k = 0; k < 300; k += 2)
        free(keep[k]);
    forks_while_drawing(0);
    forks_while_drawing(1);
    for (int k = 1; k < 300; k += 2)
        free(keep[k]);
    return t_done();
}
