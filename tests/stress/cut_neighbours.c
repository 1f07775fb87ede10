// cut_neighbours.c - a thread cache's refill cuts its run of fresh chunks
// after the arena lock is released (src/arena.c, um_arena_carve and
// um_arena_cut); while it does, other threads free the chunks around the
// run and walk the heap under the lock. Three threads: a cutter that
// allocates runs of small blocks, frees them and calls malloc_trim(0), so
// its next refills cut fresh runs from top again; a neighbour that
// allocates and frees blocks of 130-400 KiB in the heap (the mmap
// threshold raised), whose frees merge with the free memory beside the
// runs and rewrite the neighbouring headers' P bits under the lock; and a
// walker that checks the whole heap (umalloc_check: every header, every
// P bit against its neighbour, the bins, the caches) and reads mallinfo2
// without pause. Every block carries a signature checked before its free.
// A cut that lets a walk see a run half cut fails here at once: with the
// rest's header written first instead of last, every run (release and
// debug) stopped within half a second on "chunk header overwritten" or
// "misplaced end fencepost". What timing cannot catch is the other hazard
// the carve avoids, a cut rewriting a header whose P bit a free of the
// chunk below may clear at the same instant (a window of a few
// nanoseconds: a version that rewrote the piece's first header outside the
// lock passed here); arena.c gives the reason the cut never does.
// cflags: -pthread
// ldflags: -pthread
// timeout: 120
#include "stress_common.h"

/* umalloc's own (include/umalloc.h); weak, so that the test also links
 * for the variants that preload the library */
void umalloc_check(void) __attribute__((weak));

#define NSIZES 6
#define PER_SIZE 300
#define BIG_SLOTS 4

static const size_t sizes[NSIZES] = {40, 72, 136, 264, 520, 1000};
static atomic_int done;
static _Atomic long cut_rounds, big_ops, walks;

static void *cutter(void *arg)
{
	(void)arg;
	static void *blk[PER_SIZE];
	long rounds = stress_scaled(600);
	for (long r = 0; r < rounds && !stress_time_up(); r++) {
		for (int s = 0; s < NSIZES; s++) {
			size_t n = sizes[s];
			for (int k = 0; k < PER_SIZE; k++) {
				blk[k] = malloc(n);
				CHECK(blk[k] != NULL, "cutter: malloc(%zu)", n);
				sig_init(blk[k], n, (uint32_t)(r * NSIZES + s));
			}
			for (int k = 0; k < PER_SIZE; k++) {
				sig_verify(blk[k], n, "cutter");
				free(blk[k]);
			}
		}
		malloc_trim(0);
		atomic_fetch_add_explicit(&cut_rounds, 1, memory_order_relaxed);
	}
	atomic_store(&done, 1);
	return NULL;
}

static void *neighbour(void *arg)
{
	(void)arg;
	void *big[BIG_SLOTS] = {0};
	size_t len[BIG_SLOTS] = {0};
	rng_t r;
	rng_seed(&r, 7);
	while (!atomic_load_explicit(&done, memory_order_relaxed)) {
		int k = (int)rng_range(&r, 0, BIG_SLOTS - 1);
		if (big[k]) {
			sig_verify(big[k], len[k], "neighbour");
			free(big[k]);
		}
		len[k] = rng_range(&r, 130 << 10, 400 << 10);
		big[k] = malloc(len[k]);
		CHECK(big[k] != NULL, "neighbour: malloc(%zu)", len[k]);
		sig_init(big[k], len[k], (uint32_t)k + 1000);
		atomic_fetch_add_explicit(&big_ops, 1, memory_order_relaxed);
	}
	for (int k = 0; k < BIG_SLOTS; k++)
		if (big[k]) {
			sig_verify(big[k], len[k], "neighbour");
			free(big[k]);
		}
	return NULL;
}

static void *walker(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&done, memory_order_relaxed)) {
		if (umalloc_check)
			umalloc_check();
		struct mallinfo2 mi = mallinfo2();
		CHECK(mi.uordblks <= mi.arena + mi.hblkhd, "mallinfo2: %zu in use of %zu", mi.uordblks,
		      mi.arena + mi.hblkhd);
		atomic_fetch_add_explicit(&walks, 1, memory_order_relaxed);
	}
	return NULL;
}

int main(void)
{
	stress_budget(60);
	/* the big blocks stay in the heap, next to the runs: in the one arena
	 * (with 3 CPUs or more the threads could be given arenas of their own) */
	CHECK(mallopt(M_MMAP_THRESHOLD, 8 << 20) == 1, "mallopt(M_MMAP_THRESHOLD)");
	CHECK(mallopt(M_ARENA_MAX, 1) == 1, "mallopt(M_ARENA_MAX)");
	pthread_t t[3];
	stress_thread_create(&t[1], neighbour, NULL);
	stress_thread_create(&t[2], walker, NULL);
	stress_thread_create(&t[0], cutter, NULL);
	for (int i = 0; i < 3; i++)
		stress_thread_join(t[i]);
	printf("cut_neighbours (%s): %ld cutter rounds, %ld big blocks, %ld heap walks%s\n",
	       stress_mode_name(), atomic_load(&cut_rounds), atomic_load(&big_ops), atomic_load(&walks),
	       atomic_load(&stress_cut_short) ? " (cut short by the time budget)" : "");
	CHECK(atomic_load(&walks) > 0 && atomic_load(&big_ops) > 0, "every thread ran");
	CHECK(umalloc_check != NULL, "umalloc_check not found: the test needs umalloc");
	return 0;
}
