/* trees - building and tearing down trees and lists of small nodes, the way
 * symbolic programs (compilers' ASTs, theorem provers, Lisp-style code) do.
 *
 *   trees [--quick|--scale=X]
 *
 * Round after round: a long-lived binary tree stays alive while short-lived
 * trees of growing depth are built, summed and freed bottom-up; each leaf
 * owns a small "symbol" string.  Then cons-cell lists are built, mapped into
 * new lists (old ones freed), filtered (every other cell freed) and
 * reversed.  All counts and sums are checked against closed forms.
 */
#include "bench.h"

typedef struct node {
    struct node *left, *right;
    long val;
    char *sym;          /* leaves only */
} node;

typedef struct cell {
    struct cell *next;
    long val;
} cell;

static long nodes_alive;

static node *build(int depth, long val)
{
    node *n = malloc(sizeof *n);
    CHECK_ALLOC(n, sizeof *n);
    nodes_alive++;
    n->val = val;
    if (depth == 0) {
        n->left = n->right = NULL;
        size_t len = 6 + (size_t)(val & 15);     /* 7..22 bytes with the NUL */
        n->sym = malloc(len + 1);
        CHECK_ALLOC(n->sym, len + 1);
        memset(n->sym, 'a' + (int)(val % 26), len);
        n->sym[len] = 0;
    } else {
        n->sym = NULL;
        n->left = build(depth - 1, 2 * val);
        n->right = build(depth - 1, 2 * val + 1);
    }
    return n;
}

/* Returns the number of nodes; checks each leaf's symbol. */
static long walk(const node *n, long *sum)
{
    *sum += n->val;
    if (!n->left) {
        size_t len = 6 + (size_t)(n->val & 15);
        CHECK(strlen(n->sym) == len && n->sym[0] == 'a' + (int)(n->val % 26),
              "leaf %ld symbol corrupted", n->val);
        return 1;
    }
    return 1 + walk(n->left, sum) + walk(n->right, sum);
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
    nodes_alive--;
}

/* sum of val over a tree built by build(depth, 1): values 1..2^(d+1)-1 */
static long tree_sum(int depth)
{
    long n = (1L << (depth + 1)) - 1;
    return n * (n + 1) / 2;
}

static cell *cons(long v, cell *next)
{
    cell *c = malloc(sizeof *c);
    CHECK_ALLOC(c, sizeof *c);
    c->val = v;
    c->next = next;
    return c;
}

static void list_free(cell *c)
{
    while (c) {
        cell *n = c->next;
        free(c);
        c = n;
    }
}

int main(int argc, char **argv)
{
    bench_init(argc, argv);
    long rounds = bench_scaled(4, 1);
    int maxdepth = bench_scale_value < 0.1 ? 12 : 17;
    long listlen = bench_scale_value < 0.1 ? 20000 : 300000;
    long ops = 0;

    node *longlived = build(maxdepth - 1, 1);
    for (long r = 0; r < rounds; r++) {
        /* short-lived trees: many shallow ones, fewer deep ones */
        for (int d = 4; d <= maxdepth; d += 2) {
            long count = 1L << (maxdepth - d + 2);
            if (count > 256) count = 256;
            for (long i = 0; i < count; i++) {
                node *t = build(d, 1);
                long sum = 0, n = walk(t, &sum);
                CHECK(n == (1L << (d + 1)) - 1, "tree depth %d has %ld nodes", d, n);
                CHECK(sum == tree_sum(d), "tree depth %d sum %ld", d, sum);
                destroy(t);
                ops += n;
            }
        }
        /* lists: build, map, filter, reverse */
        cell *l = NULL;
        for (long i = listlen; i >= 1; i--) l = cons(i, l);       /* 1..n */
        cell *m = NULL, **tail = &m;
        for (cell *c = l; c; c = c->next) {                      /* map x -> 3x */
            *tail = cons(3 * c->val, NULL);
            tail = &(*tail)->next;
        }
        list_free(l);
        for (cell **pp = &m; *pp;) {                             /* drop odd */
            if ((*pp)->val & 1) {
                cell *dead = *pp;
                *pp = dead->next;
                free(dead);
            } else {
                pp = &(*pp)->next;
            }
        }
        cell *rev = NULL;                                        /* reverse */
        while (m) {
            cell *n = m->next;
            m->next = rev;
            rev = m;
            m = n;
        }
        long cnt = 0, sum = 0, prev = -1;
        for (cell *c = rev; c; c = c->next) {
            CHECK(prev < 0 || c->val < prev, "list not reversed");
            prev = c->val;
            cnt++;
            sum += c->val;
        }
        long half = listlen / 2;       /* even i: 3*i even; sum 3*2*(1..half) */
        CHECK(cnt == half && sum == 3 * half * (half + 1), "list count %ld sum %ld", cnt, sum);
        list_free(rev);
        ops += 3 * listlen;
    }
    long sum = 0;
    CHECK(walk(longlived, &sum) == (1L << maxdepth) - 1 && sum == tree_sum(maxdepth - 1),
          "long-lived tree corrupted");
    destroy(longlived);
    CHECK(nodes_alive == 0, "%ld nodes leaked", nodes_alive);
    printf("rounds=%ld maxdepth=%d\n", rounds, maxdepth);
    bench_ok("trees", ops);
    return 0;
}
