// producer_consumer.c - producers malloc blocks and pass them through a
// bounded queue to consumers, which verify (sometimes realloc) and free them:
// nearly every block is freed by a thread other than its allocator.  Runs
// many rounds whose size mix rotates, and checks that memory does not grow
// without bound: RSS and mallinfo2 arena after warm-up stay bounded, and
// mallinfo2().uordblks returns to its starting level once all threads ended.
// cflags: -pthread
// ldflags: -pthread
// timeout: 90
#include "stress_common.h"

#define NPROD 2
#define NCONS 3
#define QCAP 1024
#define MAX_SIZE ((size_t)1 << 20)
#define PRIVATE 16 /* blocks a producer keeps and frees itself */

/* ---- bounded MPMC queue (mutex + condvars) with a per-round item budget */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	void *item[QCAP];
	unsigned head, count;
	long to_pop; /* items still to be popped in this round */
} q = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.not_empty = PTHREAD_COND_INITIALIZER,
	.not_full = PTHREAD_COND_INITIALIZER,
};

static void q_push(void *p)
{
	pthread_mutex_lock(&q.mu);
	while (q.count == QCAP)
		pthread_cond_wait(&q.not_full, &q.mu);
	q.item[(q.head + q.count) % QCAP] = p;
	q.count++;
	pthread_cond_signal(&q.not_empty);
	pthread_mutex_unlock(&q.mu);
}

/* NULL once every item of the round has been popped. */
static void *q_pop(void)
{
	void *p = NULL;
	pthread_mutex_lock(&q.mu);
	while (q.count == 0 && q.to_pop > 0)
		pthread_cond_wait(&q.not_empty, &q.mu);
	if (q.to_pop > 0) {
		p = q.item[q.head];
		q.head = (q.head + 1) % QCAP;
		q.count--;
		if (--q.to_pop == 0)
			pthread_cond_broadcast(&q.not_empty);
		pthread_cond_signal(&q.not_full);
	}
	pthread_mutex_unlock(&q.mu);
	return p;
}

/* ---- rounds */

static pthread_barrier_t round_start, round_end;
static long nrounds, per_round; /* per producer */
static atomic_int stop;          /* set by main between rounds */
static atomic_int cur_round;

/* Size mix of a round: the small band moves every round, so memory freed in
 * one size range has to be reused for another one. */
static size_t round_size(rng_t *r, int round)
{
	unsigned u = (unsigned)(rng_next(r) % 100);
	size_t top = (size_t)64 << (round % 6); /* 64 B .. 2 KiB */
	if (u < 90)
		return rng_range(r, top / 4 > SIG_MIN ? top / 4 : SIG_MIN, top);
	return rng_size(r, MAX_SIZE);
}

static void *producer(void *arg)
{
	int id = (int)(intptr_t)arg;
	rng_t r;
	rng_seed(&r, 100 + (uint64_t)id);
	void *mine[PRIVATE] = {0};
	uint32_t seq = (uint32_t)id << 28;
	for (;;) {
		pthread_barrier_wait(&round_start);
		if (atomic_load(&stop))
			break;
		int round = atomic_load(&cur_round);
		for (long i = 0; i < per_round; i++) {
			size_t n = round_size(&r, round);
			void *p = malloc(n);
			CHECK(p, "malloc(%zu) returned NULL", n);
			check_align(p, MALLOC_ALIGN, "malloc");
			sig_init(p, n, ++seq);
			if ((i & 15) == 0) { /* keep some, free them locally later */
				unsigned k = (unsigned)(rng_next(&r) % PRIVATE);
				void *old = mine[k];
				mine[k] = p;
				if (old) {
					sig_verify(old, 0, "producer private");
					free(old);
				}
				p = malloc(n);
				CHECK(p, "malloc(%zu) returned NULL", n);
				sig_init(p, n, ++seq);
			}
			q_push(p);
		}
		pthread_barrier_wait(&round_end);
	}
	for (int k = 0; k < PRIVATE; k++)
		if (mine[k]) {
			sig_verify(mine[k], 0, "producer exit");
			free(mine[k]);
		}
	return NULL;
}

static void *consumer(void *arg)
{
	int id = (int)(intptr_t)arg;
	rng_t r;
	rng_seed(&r, 200 + (uint64_t)id);
	for (;;) {
		pthread_barrier_wait(&round_start);
		if (atomic_load(&stop))
			break;
		void *p;
		while ((p = q_pop()) != NULL) {
			size_t n = sig_verify(p, 0, "consumer");
			if ((rng_next(&r) & 7) == 0) { /* realloc before freeing */
				size_t m = (rng_next(&r) & 1) ? n * 2 : n / 2;
				if (m < SIG_MIN)
					m = SIG_MIN;
				uintptr_t old = (uintptr_t)p;
				void *q2 = realloc(p, m);
				sig_after_realloc(q2, old, n, m, "consumer realloc");
				sig_verify(q2, m, "consumer after realloc");
				p = q2;
			}
			free(p);
		}
		pthread_barrier_wait(&round_end);
	}
	return NULL;
}

int main(void)
{
	double t0 = stress_now();
	nrounds = STRESS_TSAN || stress_debug() ? 60 : 240;
	per_round = stress_scaled(8000) * (STRESS_TSAN || stress_debug() ? 4 : 1);
	long warm = nrounds / 5;
	printf("producer_consumer [%s]: %d producers, %d consumers, %ld rounds x %ld "
	       "blocks\n",
	       stress_mode_name(), NPROD, NCONS, nrounds, per_round * NPROD);
	fflush(stdout);

	/* baseline after stdio has allocated its buffers */
	free(malloc(64));
	stress_minfo mi0 = stress_mallinfo();

	pthread_barrier_init(&round_start, NULL, NPROD + NCONS + 1);
	pthread_barrier_init(&round_end, NULL, NPROD + NCONS + 1);
	pthread_t t[NPROD + NCONS];
	for (int i = 0; i < NPROD; i++)
		stress_thread_create(&t[i], producer, (void *)(intptr_t)i);
	for (int i = 0; i < NCONS; i++)
		stress_thread_create(&t[NPROD + i], consumer, (void *)(intptr_t)i);

	stress_budget(STRESS_SANITIZER || stress_debug() ? 12 : 30);
	size_t rss_warm = 0, rss_max = 0, arena_warm = 0, arena_max = 0;
	long rounds_done = 0;
	for (long rd = 0; rd < nrounds; rd++) {
		if (rd >= warm + 6 && stress_time_up())
			break; /* ran out of time, but after warm-up + one full cycle */
		atomic_store(&cur_round, (int)rd);
		q.to_pop = per_round * NPROD; /* no worker is inside q_* here */
		pthread_barrier_wait(&round_start);
		pthread_barrier_wait(&round_end);
		rounds_done++;
		CHECK(q.count == 0 && q.to_pop == 0, "queue not drained");
		size_t rss = stress_rss();
		stress_minfo mi = stress_mallinfo();
		if (rd + 1 == warm) {
			rss_warm = rss;
			arena_warm = mi.arena;
		} else if (rd + 1 > warm) {
			if (rss > rss_max)
				rss_max = rss;
			if (mi.arena > arena_max)
				arena_max = mi.arena;
		}
	}
	atomic_store(&stop, 1);
	pthread_barrier_wait(&round_start);
	for (int i = 0; i < NPROD + NCONS; i++)
		stress_thread_join(t[i]);
	pthread_barrier_destroy(&round_start);
	pthread_barrier_destroy(&round_end);

	stress_minfo mi1 = stress_mallinfo();
	printf("  %ld rounds, %ld blocks passed\n", rounds_done,
	       rounds_done * per_round * NPROD);
	printf("  RSS after warm-up (%ld rounds)   %9.2f MiB\n", warm,
	       (double)rss_warm / MiB);
	stress_bound("max RSS after warm-up", rss_max, rss_warm, 4, 16 * MiB, 1);
	stress_bound("max mallinfo2.arena after warm-up", arena_max, arena_warm, 4,
		     16 * MiB, 0);
	/* all threads ended and all blocks freed: in-use must be back near 0 */
	size_t in_use = mi1.uordblks > mi0.uordblks ? mi1.uordblks - mi0.uordblks : 0;
	stress_bound("uordblks growth at end", in_use, 0, 1, 1 * MiB, 0);
	size_t mm = mi1.hblkhd > mi0.hblkhd ? mi1.hblkhd - mi0.hblkhd : 0;
	stress_bound("hblkhd growth at end", mm, 0, 1, 1 * MiB, 0);
	stress_report("producer_consumer", t0, NULL);
	return 0;
}
