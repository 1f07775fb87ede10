// mt_aligned_realloc.c - threads (2, then 8) allocating with posix_memalign
// and aligned_alloc at random power-of-two alignments 16 B .. 64 KiB, growing
// and shrinking blocks with realloc (including growth chains from a few
// bytes up to a few MiB), passing blocks between threads, and checking
// alignment and full contents at every step.
// cflags: -pthread
// ldflags: -pthread
// timeout: 90
#include "stress_common.h"

#define LOCAL 64
#define SHARED_SLOTS 128
#define MAX_SIZE ((size_t)4 << 20)
#define LIVE_CAP ((size_t)12 << 20) /* per-thread live bytes */

static _Atomic(void *) shared[SHARED_SLOTS];

typedef struct {
	pthread_t tid;
	int index;
	long ops, done, chains, aligned;
} worker_t;

static size_t rand_align(rng_t *r)
{
	return (size_t)1 << rng_range(r, 4, 16); /* 16 .. 64 KiB */
}

static void *aligned_block(rng_t *r, size_t n, uint32_t seed, int use_aligned_alloc)
{
	size_t al = rand_align(r);
	void *p = NULL;
	if (use_aligned_alloc) {
		/* C11: size a multiple of the alignment */
		n = (n + al - 1) / al * al;
		p = aligned_alloc(al, n);
		CHECK(p, "aligned_alloc(%zu, %zu) returned NULL", al, n);
	} else {
		int e = posix_memalign(&p, al, n);
		CHECK(e == 0 && p, "posix_memalign(%zu, %zu) failed: %d", al, n, e);
	}
	check_align(p, al, use_aligned_alloc ? "aligned_alloc" : "posix_memalign");
	sig_init(p, n, seed);
	return p;
}

static void *do_realloc(void *p, size_t old_n, size_t n, const char *ctx)
{
	uintptr_t old = (uintptr_t)p;
	void *q = realloc(p, n);
	CHECK(q, "%s: realloc(%#lx, %zu) returned NULL", ctx, (unsigned long)old, n);
	check_align(q, MALLOC_ALIGN, ctx);
	sig_after_realloc(q, old, old_n, n, ctx);
	return q;
}

static void *worker(void *arg)
{
	worker_t *w = arg;
	rng_t r;
	rng_seed(&r, 4242 + (uint64_t)w->index);
	void *p[LOCAL] = {0};
	size_t sz[LOCAL] = {0};
	size_t live = 0;
	uint32_t seq = (uint32_t)w->index << 24;
	long i;
	for (i = 0; i < w->ops; i++) {
		if ((i & 31) == 0 && stress_time_up())
			break;
		unsigned k = (unsigned)(rng_next(&r) % LOCAL);
		unsigned op = (unsigned)(rng_next(&r) % 1000);
		if (op < 450) { /* aligned allocation, replacing the slot */
			if (p[k]) {
				sig_verify(p[k], sz[k], "free before aligned alloc");
				free(p[k]);
				live -= sz[k];
			}
			size_t n = rng_size(&r, 1 << 20);
			p[k] = aligned_block(&r, n, ++seq, op >= 250);
			sz[k] = sig_verify(p[k], 0, "fresh aligned block");
			live += sz[k];
			w->aligned++;
		} else if (op < 700) { /* one realloc step */
			if (!p[k])
				continue;
			sig_verify(p[k], sz[k], "before realloc");
			size_t n;
			if (sz[k] >= MAX_SIZE / 2 || live > LIVE_CAP)
				n = rng_range(&r, SIG_MIN, 4096); /* shrink */
			else if (rng_next(&r) % 4 == 0)
				n = rng_range(&r, SIG_MIN, sz[k]); /* shrink a little */
			else
				n = sz[k] + rng_range(&r, sz[k] / 4 + 1, sz[k]); /* x1.25..2 */
			p[k] = do_realloc(p[k], sz[k], n, "realloc step");
			live = live - sz[k] + n;
			sz[k] = n;
		} else if (op < 703) { /* a whole growth chain up to a few MiB */
			size_t top = rng_logrange(&r, 256 * 1024, MAX_SIZE);
			size_t n = rng_range(&r, SIG_MIN, 256);
			void *c = aligned_block(&r, n, ++seq, (int)(rng_next(&r) & 1));
			n = sig_verify(c, 0, "chain start");
			while (n < top) {
				size_t m = n + rng_range(&r, n / 2 + 1, n * 2); /* x1.5..3 */
				if (m > top)
					m = top;
				c = do_realloc(c, n, m, "growth chain");
				n = m;
			}
			sig_verify(c, n, "chain end");
			free(c);
			w->chains++;
		} else if (op < 850) {
			if (p[k]) {
				sig_verify(p[k], sz[k], "free");
				free(p[k]);
				live -= sz[k];
				p[k] = NULL;
			}
		} else { /* hand over to / take from other threads */
			unsigned j = (unsigned)(rng_next(&r) % SHARED_SLOTS);
			void *got = atomic_exchange_explicit(&shared[j], p[k],
							     memory_order_acq_rel);
			live -= sz[k];
			p[k] = got;
			sz[k] = got ? sig_verify(got, 0, "received block") : 0;
			live += sz[k];
			if (got && sz[k] > MAX_SIZE / 4) { /* don't hoard big ones */
				free(got);
				live -= sz[k];
				p[k] = NULL;
				sz[k] = 0;
			}
		}
	}
	w->done = i;
	for (int k = 0; k < LOCAL; k++)
		if (p[k]) {
			sig_verify(p[k], sz[k], "thread exit");
			free(p[k]);
		}
	return NULL;
}

static void phase(int nthreads, long total_ops)
{
	double t0 = stress_now();
	worker_t w[8];
	for (int i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].index = i + 16 * nthreads;
		w[i].ops = total_ops / nthreads;
		stress_thread_create(&w[i].tid, worker, &w[i]);
	}
	long done = 0, chains = 0, aligned = 0;
	for (int i = 0; i < nthreads; i++) {
		stress_thread_join(w[i].tid);
		done += w[i].done;
		chains += w[i].chains;
		aligned += w[i].aligned;
	}
	for (int j = 0; j < SHARED_SLOTS; j++) {
		void *p = atomic_exchange(&shared[j], NULL);
		if (p) {
			sig_verify(p, 0, "main: leftover shared block");
			free(p);
		}
	}
	printf("  %d threads: %ld ops (%ld aligned allocations, %ld growth chains), "
	       "%.2f s\n",
	       nthreads, done, aligned, chains, stress_now() - t0);
	fflush(stdout);
}

int main(void)
{
	double t0 = stress_now();
	long ops = stress_scaled(300000);
	printf("mt_aligned_realloc [%s]: %ld ops per phase\n", stress_mode_name(), ops);
	fflush(stdout);
	stress_budget(stress_debug() || STRESS_SANITIZER ? 7 : 20);
	phase(2, ops);
	stress_budget(stress_debug() || STRESS_SANITIZER ? 7 : 20);
	phase(8, ops);
	stress_report("mt_aligned_realloc", t0, NULL);
	return 0;
}
