// mt_random.c - T threads (2, then 8, then 64) doing random
// malloc/calloc/realloc/free of sizes skewed small (16 B .. 4 MiB), every
// block stamped with a signature bound to (address, size, seed) and checked in
// full before every free/realloc.  A shared slot array passes blocks between
// threads with atomic exchange, so most blocks are freed (or realloc'd) by a
// thread other than the one that allocated them.
// cflags: -pthread
// ldflags: -pthread
// timeout: 90
#include "stress_common.h"

#define MAX_SIZE ((size_t)4 << 20)
#define SHARED_SLOTS 512

typedef struct {
	void *p;
	size_t size;
} slot_t;

static _Atomic(void *) shared[SHARED_SLOTS];

typedef struct {
	pthread_t tid;
	int index;
	int nthreads;
	long ops;
	int nlocal;
	uint64_t seed;
	long done;
	long remote_frees;
} worker_t;

static void local_free(slot_t *s, const char *ctx)
{
	if (!s->p)
		return;
	sig_verify(s->p, s->size, ctx);
	free(s->p);
	s->p = NULL;
	s->size = 0;
}

static void *worker(void *arg)
{
	worker_t *w = arg;
	rng_t r;
	rng_seed(&r, w->seed);
	slot_t *local = calloc((size_t)w->nlocal, sizeof *local);
	CHECK(local, "calloc local slots");
	uint32_t seq = (uint32_t)w->index << 24;
	long i;

	for (i = 0; i < w->ops; i++) {
		if ((i & 63) == 0 && stress_time_up())
			break;
		slot_t *s = &local[rng_next(&r) % (uint64_t)w->nlocal];
		unsigned op = (unsigned)(rng_next(&r) % 100);

		if (op < 30) { /* malloc (replacing what was there) */
			local_free(s, "malloc-replace");
			size_t n = rng_size(&r, MAX_SIZE);
			void *p = malloc(n);
			CHECK(p, "malloc(%zu) returned NULL", n);
			check_align(p, MALLOC_ALIGN, "malloc");
			sig_init(p, n, ++seq);
			s->p = p;
			s->size = n;
		} else if (op < 40) { /* calloc, various nmemb/size splits */
			local_free(s, "calloc-replace");
			size_t n = rng_size(&r, MAX_SIZE);
			size_t elem = (size_t)1 << (rng_next(&r) % 5); /* 1..16 */
			size_t nmemb = (n + elem - 1) / elem;
			n = nmemb * elem;
			void *p = calloc(nmemb, elem);
			CHECK(p, "calloc(%zu, %zu) returned NULL", nmemb, elem);
			check_align(p, MALLOC_ALIGN, "calloc");
			check_zero(p, n, "calloc");
			sig_init(p, n, ++seq);
			s->p = p;
			s->size = n;
		} else if (op < 60) { /* realloc: grow, shrink, or from NULL */
			size_t n;
			unsigned k = (unsigned)(rng_next(&r) % 4);
			if (!s->p || k == 0)
				n = rng_size(&r, MAX_SIZE);
			else if (k == 1) /* small growth: often in place */
				n = s->size + rng_range(&r, 1, 64);
			else if (k == 2) /* shrink */
				n = s->size / 2 > SIG_MIN ? rng_range(&r, SIG_MIN, s->size) : SIG_MIN;
			else /* grow x1.5 .. x2 */
				n = s->size + s->size / 2 + rng_range(&r, 0, s->size / 2);
			if (n > MAX_SIZE)
				n = rng_range(&r, SIG_MIN, 4096);
			if (!s->p) {
				void *p = realloc(NULL, n);
				CHECK(p, "realloc(NULL, %zu) returned NULL", n);
				check_align(p, MALLOC_ALIGN, "realloc(NULL)");
				sig_init(p, n, ++seq);
				s->p = p;
			} else {
				sig_verify(s->p, s->size, "before realloc");
				uintptr_t old = (uintptr_t)s->p;
				void *q = realloc(s->p, n);
				CHECK(q, "realloc(%#lx, %zu) returned NULL", (unsigned long)old, n);
				check_align(q, MALLOC_ALIGN, "realloc");
				sig_after_realloc(q, old, s->size, n, "realloc");
				s->p = q;
			}
			s->size = n;
		} else if (op < 78) { /* free */
			local_free(s, "free");
		} else { /* exchange with the shared array */
			unsigned j = (unsigned)(rng_next(&r) % SHARED_SLOTS);
			void *got = atomic_exchange_explicit(&shared[j], s->p,
							     memory_order_acq_rel);
			s->p = got;
			s->size = got ? sig_verify(got, 0, "received via exchange") : 0;
			/* free a received block right away half of the time */
			if (got && (rng_next(&r) & 1)) {
				local_free(s, "remote free");
				w->remote_frees++;
			}
		}
	}
	w->done = i;
	for (int k = 0; k < w->nlocal; k++)
		local_free(&local[k], "thread exit");
	free(local);
	return NULL;
}

static void phase(int nthreads, long total_ops, int nlocal, double budget,
		  uint64_t seed)
{
	double t0 = stress_now();
	worker_t *w = calloc((size_t)nthreads, sizeof *w);
	CHECK(w, "calloc workers");
	stress_budget(budget);
	for (int i = 0; i < nthreads; i++) {
		w[i].index = i;
		w[i].nthreads = nthreads;
		w[i].ops = total_ops / nthreads;
		w[i].nlocal = nlocal;
		w[i].seed = seed * 1000003u + (uint64_t)i;
		stress_thread_create(&w[i].tid, worker, &w[i]);
	}
	long done = 0, remote = 0;
	for (int i = 0; i < nthreads; i++) {
		stress_thread_join(w[i].tid);
		done += w[i].done;
		remote += w[i].remote_frees;
	}
	/* what is left in the shared array is freed by the main thread */
	long left = 0;
	for (int j = 0; j < SHARED_SLOTS; j++) {
		void *p = atomic_exchange(&shared[j], NULL);
		if (p) {
			sig_verify(p, 0, "main: leftover shared block");
			free(p);
			left++;
		}
	}
	free(w);
	printf("  %2d threads: %ld ops, %ld immediate remote frees, %ld freed by main, "
	       "%.2f s\n",
	       nthreads, done, remote, left, stress_now() - t0);
	fflush(stdout);
}

int main(void)
{
	double t0 = stress_now();
	int dbg = stress_debug();
	long ops = stress_scaled(1200000);
	int nlocal = dbg ? 32 : 128;
	double budget = dbg || STRESS_SANITIZER ? 5.0 : 15.0;
	printf("mt_random [%s]: %ld ops per phase\n", stress_mode_name(), ops);
	phase(2, ops, nlocal, budget, 1);
	phase(8, ops, nlocal, budget, 2);
	phase(64, ops, dbg ? 8 : nlocal / 2, budget, 3);
	stress_report("mt_random", t0, NULL);
	return 0;
}
