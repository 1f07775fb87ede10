/* tree_rounds.c - why a thread cache hands a rebuilt tree back mirrored.
 *
 *   make build/examples/tree_rounds
 *   LD_PRELOAD=build/libumalloc.so build/examples/tree_rounds
 *
 * A long-lived tree of depth 16 stays while a tree of depth 17 (262,143
 * nodes of 32 bytes, a 16-byte string on each leaf) is built in pre-order,
 * walked, and torn down in post-order, six times. Each round prints the
 * build, walk and teardown times and how many consecutive nodes of the
 * pre-order walk lie more than 4 KiB apart. A cache that gives blocks back
 * in the reverse order of their frees (umalloc's, tcmalloc's, glibc's
 * tcache and bins) maps node k of a build to the node at the same place of
 * the mirrored tree of the round before: every second round the right
 * child sits where the left one was, consecutive nodes lie a subtree apart,
 * and the walk jumps. An allocator that refills emptied pages in address
 * order (mimalloc) keeps the first round's layout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct node {
    struct node *left, *right;
    long val;
    char *sym;
} node;

static char outbuf[4096];

static node *build(int depth, long val)
{
    node *n = malloc(sizeof *n);
    if (!n)
        exit(1);
    n->val = val;
    if (depth == 0) {
        n->left = n->right = NULL;
        size_t len = 6 + (size_t)(val & 15);
        n->sym = malloc(len + 1);
        if (!n->sym)
            exit(1);
        memset(n->sym, 'a', len);
        n->sym[len] = '\0';
    } else {
        n->sym = NULL;
        n->left = build(depth - 1, 2 * val);
        n->right = build(depth - 1, 2 * val + 1);
    }
    return n;
}

static long walk(const node *n)
{
    if (!n->left)
        return (long)strlen(n->sym) + 1;
    return 1 + walk(n->left) + walk(n->right);
}

static void destroy(node *n)
{
    if (n->left) {
        destroy(n->left);
        destroy(n->right);
    } else {
        free(n->sym);
    }
    free(n);
}

/* Consecutive nodes of a pre-order walk more than 4 KiB apart. */
static long jumps(const node *n, const node **prev)
{
    long j = 0;
    if (*prev) {
        long d = (long)((const char *)n - (const char *)*prev);
        j += d > 4096 || d < -4096;
    }
    *prev = n;
    if (n->left)
        j += jumps(n->left, prev) + jumps(n->right, prev);
    return j;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

int main(void)
{
    setvbuf(stdout, outbuf, _IOLBF, sizeof outbuf);
    node *keep = build(16, 1);
    for (int r = 0; r < 6; r++) {
        double t0 = now_ms();
        node *t = build(17, 1);
        double t1 = now_ms();
        long sum = walk(t);
        double t2 = now_ms();
        const node *prev = NULL;
        long far = jumps(t, &prev);
        double t3 = now_ms();
        destroy(t);
        double t4 = now_ms();
        printf("round %d: build %5.1f ms, walk %4.1f ms, teardown %5.1f ms; "
               "%ld of %d consecutive nodes more than 4 KiB apart (sum %ld)\n",
               r, t1 - t0, t2 - t1, t4 - t3, far, (1 << 18) - 1, sum);
    }
    destroy(keep);
    return 0;
}
