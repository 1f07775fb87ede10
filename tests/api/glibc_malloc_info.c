// cflags: -pthread
// ldflags: -pthread
// Mirrors glibc's tst-malloc_info: four threads each allocate many small
// blocks (a list), and malloc_info(0, fp) runs in the multi-threaded process
// while they hold them and again after they freed them and exited. The
// output is one well-formed <malloc> document each time, and the total it
// reports in use shrinks once the blocks are freed.
#include "../common.h"
#include <pthread.h>

static pthread_barrier_t gate;
static size_t per_thread;

static void *run(void *arg)
{
    (void)arg;
    struct node { struct node *next; long pad[4]; } *head = NULL;
    for (size_t got = 0; got < per_thread; got += sizeof *head) {
        struct node *n = malloc(sizeof *n);
        if (!n)
            abort();
        n->next = head;
        head = n;
    }
    pthread_barrier_wait(&gate);
    pthread_barrier_wait(&gate);
    while (head) {
        struct node *next = head->next;
        free(head);
        head = next;
    }
    return NULL;
}

static size_t info(char *buf, size_t cap)
{
    FILE *f = tmpfile();
    CHECK(f != NULL);
    CHECK(malloc_info(0, f) == 0);
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = 0;
    fclose(f);
    CHECKF(strncmp(buf, "<malloc version=", 16) == 0, "starts with: %.40s", buf);
    CHECKF(strstr(buf, "</malloc>") != NULL, "no closing tag (%zu bytes)", n);
    /* the last <total type="rest" ... size="N"/> or <system type="current"
     * size="N"/> is not standardised; take in-use from mallinfo2 instead */
    return mallinfo2().uordblks;
}

int main(void)
{
    static char buf[1 << 20];
    per_thread = (size_t)t_scale(32 << 20, 64 << 10);
    CHECK(pthread_barrier_init(&gate, NULL, 5) == 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, run, NULL) == 0);
    pthread_barrier_wait(&gate);
    size_t busy = info(buf, sizeof buf);
    pthread_barrier_wait(&gate);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    size_t idle = info(buf, sizeof buf);
    EXPECTF(busy >= 4 * per_thread, "in use while held: %zu, allocated %zu", busy, 4 * per_thread);
    EXPECTF(idle < busy / 2, "in use after freeing: %zu (held: %zu)", idle, busy);
    return t_done();
}
