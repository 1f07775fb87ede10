// false_sharing_handoff.c - one thread allocates many small objects (16..128
// bytes, so neighbours share cache lines) and hands them round-robin to
// consumer threads, which check the producer's stamp, keep a window of
// objects that they rewrite over and over, and finally free them; one in
// eight goes back to the producer, which checks and frees it.  Correctness
// only: any two live objects that overlap, or an object reused while still
// live, shows up as a corrupted stamp (and as a data race under TSan).
// cflags: -pthread
// ldflags: -pthread
// timeout: 90
#include "stress_common.h"

#include <sched.h>

#define NCONS 3
#define RING 256 /* power of two */
#define WINDOW 64

/* single-producer single-consumer ring of pointers */
typedef struct {
	_Atomic size_t head; /* next to pop  (written by the consumer) */
	char pad1[64 - sizeof(size_t)];
	_Atomic size_t tail; /* next to push (written by the producer) */
	char pad2[64 - sizeof(size_t)];
	void *slot[RING];
} ring_t;

static int ring_push(ring_t *r, void *p)
{
	size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	if (t - h == RING)
		return 0;
	r->slot[t % RING] = p;
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return 1;
}

/* returns 1 and *out on success, 0 if empty */
static int ring_pop(ring_t *r, void **out)
{
	size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (h == t)
		return 0;
	*out = r->slot[h % RING];
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return 1;
}

static ring_t to_cons[NCONS], to_prod[NCONS];
static atomic_int cons_done;
static long nobjects;
static atomic_long rewrites, returned;

/* Waiting: yield for a while, then sleep briefly, so spinning threads do not
 * starve the others on a loaded 2-core machine (or a slow debug allocator). */
static void backoff(unsigned *spins)
{
	if (++*spins < 64) {
		sched_yield();
	} else {
		struct timespec ts = {0, 50000};
		nanosleep(&ts, NULL);
	}
}

static void push_wait(ring_t *r, void *p)
{
	unsigned spins = 0;
	while (!ring_push(r, p))
		backoff(&spins);
}

static void *consumer(void *arg)
{
	int id = (int)(intptr_t)arg;
	rng_t rng;
	rng_seed(&rng, 300 + (uint64_t)id);
	void *win[WINDOW] = {0};
	uint32_t seq = (uint32_t)(id + 1) << 28;
	long nrw = 0, nret = 0;
	unsigned wpos = 0, spins = 0;
	for (;;) {
		void *p;
		if (!ring_pop(&to_cons[id], &p)) {
			backoff(&spins);
			continue;
		}
		spins = 0;
		if (!p)
			break; /* end of stream */
		size_t n = sig_verify(p, 0, "consumer: producer's stamp");
		sig_init(p, n, ++seq); /* take ownership: rewrite every byte */
		/* rewrite a few objects of the window: neighbours of other threads'
		 * objects get written concurrently */
		for (int k = 0; k < 4; k++) {
			void *o = win[rng_next(&rng) % WINDOW];
			if (o) {
				size_t m = sig_verify(o, 0, "consumer: window object");
				sig_init(o, m, ++seq);
				nrw++;
			}
		}
		void *old = win[wpos];
		win[wpos] = p;
		wpos = (wpos + 1) % WINDOW;
		if (old) {
			sig_verify(old, 0, "consumer: evicted object");
			if ((rng_next(&rng) & 7) == 0 && ring_push(&to_prod[id], old))
				nret++;
			else
				free(old);
		}
	}
	for (int k = 0; k < WINDOW; k++)
		if (win[k]) {
			sig_verify(win[k], 0, "consumer exit");
			free(win[k]);
		}
	atomic_fetch_add(&rewrites, nrw);
	atomic_fetch_add(&returned, nret);
	atomic_fetch_add_explicit(&cons_done, 1, memory_order_release);
	return NULL;
}

static long drain_returns(void)
{
	long k = 0;
	for (int c = 0; c < NCONS; c++) {
		void *p;
		while (ring_pop(&to_prod[c], &p)) {
			sig_verify(p, 0, "producer: returned object");
			free(p);
			k++;
		}
	}
	return k;
}

static void *producer(void *arg)
{
	(void)arg;
	rng_t rng;
	rng_seed(&rng, 999);
	long i;
	for (i = 0; i < nobjects; i++) {
		if ((i & 1023) == 0 && stress_time_up())
			break;
		size_t n = (rng_next(&rng) % 4) ? rng_range(&rng, 16, 64)
						: rng_range(&rng, 65, 128);
		void *p = malloc(n);
		CHECK(p, "malloc(%zu) returned NULL", n);
		check_align(p, MALLOC_ALIGN, "malloc");
		sig_init(p, n, (uint32_t)i);
		int c = (int)(i % NCONS);
		unsigned spins = 0;
		while (!ring_push(&to_cons[c], p)) {
			if (!drain_returns())
				backoff(&spins);
		}
		if ((i & 63) == 0)
			drain_returns();
	}
	for (int c = 0; c < NCONS; c++)
		push_wait(&to_cons[c], NULL);
	unsigned spins = 0;
	while (atomic_load_explicit(&cons_done, memory_order_acquire) < NCONS) {
		if (!drain_returns())
			backoff(&spins);
	}
	drain_returns();
	return (void *)(intptr_t)i;
}

int main(void)
{
	double t0 = stress_now();
	nobjects = stress_scaled(6000000);
	printf("false_sharing_handoff [%s]: %ld objects, 1 producer, %d consumers\n",
	       stress_mode_name(), nobjects, NCONS);
	fflush(stdout);
	stress_budget(stress_debug() || STRESS_SANITIZER ? 12 : 30);
	pthread_t pt, ct[NCONS];
	for (int c = 0; c < NCONS; c++)
		stress_thread_create(&ct[c], consumer, (void *)(intptr_t)c);
	stress_thread_create(&pt, producer, NULL);
	void *ret;
	int e = pthread_join(pt, &ret);
	CHECK(e == 0, "pthread_join: %s", strerror(e));
	for (int c = 0; c < NCONS; c++)
		stress_thread_join(ct[c]);
	char extra[128];
	snprintf(extra, sizeof extra, "(%ld objects, %ld window rewrites, %ld returned)",
		 (long)(intptr_t)ret, atomic_load(&rewrites), atomic_load(&returned));
	stress_report("false_sharing_handoff", t0, extra);
	return 0;
}
