// thread_churn.c - create and join 10,000 short-lived threads, 8 at a time.
// Each allocates/reallocs/frees ~100 blocks of mixed sizes, frees up to two
// blocks orphaned by threads of the previous batch, and exits leaving two
// blocks to the main thread and two orphans for the next batch.  Memory must
// not grow with the number of threads that have lived: per-thread caches are
// flushed at thread exit and arenas reused.  Checked with RSS and mallinfo2
// (arena bounded after warm-up; uordblks back to the start level at the end).
// cflags: -pthread
// ldflags: -pthread
// timeout: 90
#include "stress_common.h"

#define BATCH 8
#define LOCAL 16
#define TO_MAIN 2
#define ORPHANS 2
#define ORPHAN_SLOTS (BATCH * ORPHANS)
#define MAX_SIZE ((size_t)1 << 20)

typedef struct {
	pthread_t tid;
	long index;
	void *to_main[TO_MAIN];
	size_t to_main_size[TO_MAIN];
} job_t;

/* orphans left by the previous batch; taken with atomic exchange */
static _Atomic(void *) orphan[ORPHAN_SLOTS];
static atomic_long orphans_freed_by_threads;

static size_t churn_size(rng_t *r)
{
	return rng_size(r, (rng_next(r) % 8) ? 64 * 1024 : MAX_SIZE);
}

static void *run(void *arg)
{
	job_t *j = arg;
	rng_t r;
	rng_seed(&r, 77 + (uint64_t)j->index);
	void *p[LOCAL] = {0};
	size_t sz[LOCAL] = {0};
	uint32_t seq = (uint32_t)j->index << 8;

	/* free up to two orphans from a thread that has already exited */
	for (int k = 0; k < 2; k++) {
		unsigned s = (unsigned)(rng_next(&r) % ORPHAN_SLOTS);
		void *o = atomic_exchange(&orphan[s], NULL);
		if (o) {
			sig_verify(o, 0, "orphan from a dead thread");
			free(o);
			atomic_fetch_add_explicit(&orphans_freed_by_threads, 1,
						  memory_order_relaxed);
		}
	}

	for (int i = 0; i < 100; i++) {
		unsigned k = (unsigned)(rng_next(&r) % LOCAL);
		unsigned op = (unsigned)(rng_next(&r) % 10);
		if (p[k] && op < 3) {
			size_t n = churn_size(&r);
			uintptr_t old = (uintptr_t)p[k];
			void *q = realloc(p[k], n);
			sig_after_realloc(q, old, sz[k], n, "thread realloc");
			p[k] = q;
			sz[k] = n;
			continue;
		}
		if (p[k]) {
			sig_verify(p[k], sz[k], "thread free");
			free(p[k]);
			p[k] = NULL;
		}
		if (op < 8) {
			size_t n = churn_size(&r);
			void *b = op == 7 ? calloc(1, n) : malloc(n);
			CHECK(b, "allocation of %zu returned NULL", n);
			check_align(b, MALLOC_ALIGN, "thread malloc");
			if (op == 7)
				check_zero(b, n, "thread calloc");
			sig_init(b, n, ++seq);
			p[k] = b;
			sz[k] = n;
		}
	}

	/* leave two blocks to main, two to the next batch, free the rest */
	int given = 0, orphaned = 0;
	for (int k = 0; k < LOCAL; k++) {
		if (!p[k])
			continue;
		if (given < TO_MAIN) {
			j->to_main[given] = p[k];
			j->to_main_size[given++] = sz[k];
		} else if (orphaned < ORPHANS) {
			unsigned s = (unsigned)((j->index % BATCH) * ORPHANS + orphaned++);
			void *o = atomic_exchange(&orphan[s], p[k]);
			if (o) { /* slot not consumed: free the older orphan */
				sig_verify(o, 0, "displaced orphan");
				free(o);
			}
		} else {
			sig_verify(p[k], sz[k], "thread exit free");
			free(p[k]);
		}
	}
	return NULL;
}

int main(void)
{
	double t0 = stress_now();
	long nthreads = stress_debug() || STRESS_TSAN ? 1000 : 10000;
	long sample_every = nthreads / 10, next_sample = sample_every, warm = 0;
	int have_warm = 0;
	printf("thread_churn [%s]: %ld threads, %d at a time\n", stress_mode_name(),
	       nthreads, BATCH);
	fflush(stdout);

	free(malloc(64));
	stress_minfo mi0 = stress_mallinfo();
	size_t rss_warm = 0, rss_max = 0, arena_warm = 0, arena_max = 0;
	size_t uord_warm = 0;
	job_t jobs[BATCH];
	long started = 0;
	stress_budget(stress_debug() || STRESS_SANITIZER ? 15 : 40);

	while (started < nthreads) {
		if (started >= 2 * sample_every && stress_time_up())
			break;
		int n = 0;
		for (; n < BATCH && started < nthreads; n++, started++) {
			memset(&jobs[n], 0, sizeof jobs[n]);
			jobs[n].index = started;
			stress_thread_create(&jobs[n].tid, run, &jobs[n]);
		}
		for (int i = 0; i < n; i++) {
			stress_thread_join(jobs[i].tid);
			for (int k = 0; k < TO_MAIN; k++)
				if (jobs[i].to_main[k]) {
					sig_verify(jobs[i].to_main[k], jobs[i].to_main_size[k],
						   "main: block left by exited thread");
					free(jobs[i].to_main[k]);
				}
		}
		if (started >= next_sample) { /* every ~10% of the threads */
			next_sample += sample_every;
			size_t rss = stress_rss();
			stress_minfo mi = stress_mallinfo();
			if (!have_warm) { /* first sample: end of warm-up */
				have_warm = 1;
				rss_warm = rss;
				arena_warm = mi.arena;
				uord_warm = mi.uordblks;
				warm = started;
			} else {
				if (rss > rss_max)
					rss_max = rss;
				if (mi.arena > arena_max)
					arena_max = mi.arena;
			}
		}
	}
	for (int s = 0; s < ORPHAN_SLOTS; s++) {
		void *o = atomic_exchange(&orphan[s], NULL);
		if (o) {
			sig_verify(o, 0, "main: last orphans");
			free(o);
		}
	}
	size_t rss_end = stress_rss();
	if (rss_end > rss_max)
		rss_max = rss_end;
	stress_minfo mi1 = stress_mallinfo();
	if (mi1.arena > arena_max)
		arena_max = mi1.arena;

	printf("  %ld threads run, %ld orphans freed by later threads\n", started,
	       atomic_load(&orphans_freed_by_threads));
	printf("  RSS after warm-up (%ld threads)  %9.2f MiB\n", warm,
	       (double)rss_warm / MiB);
	stress_bound("max RSS after warm-up", rss_max, rss_warm, 2, 32 * MiB, 1);
	stress_bound("max mallinfo2.arena after warm-up", arena_max, arena_warm, 2,
		     16 * MiB, 0);
	/*
	 * Everything the test allocated is freed.  What may remain "in use" is
	 * the main thread's own cache (main freed the blocks left to it), which
	 * is in the same steady state after warm-up as at the end: growth since
	 * warm-up must be tiny, growth since the start bounded by a cache.
	 */
	size_t g_warm = mi1.uordblks > uord_warm ? mi1.uordblks - uord_warm : 0;
	stress_bound("uordblks growth since warm-up", g_warm, 0, 1, 1 * MiB, 0);
	size_t in_use = mi1.uordblks > mi0.uordblks ? mi1.uordblks - mi0.uordblks : 0;
	stress_bound("uordblks growth since start", in_use, 0, 1, 4 * MiB, 0);
	size_t mm = mi1.hblkhd > mi0.hblkhd ? mi1.hblkhd - mi0.hblkhd : 0;
	stress_bound("hblkhd growth at end", mm, 0, 1, 1 * MiB, 0);
	stress_report("thread_churn", t0, NULL);
	return 0;
}
