// fork_mt.c - worker threads malloc/free/realloc continuously (and pass
// blocks to each other) while the main thread forks repeatedly.  Each child
// verifies and frees blocks inherited from the parent (including blocks
// allocated by threads that do not exist in the child), mallocs/frees a few
// thousand blocks of various sizes including a 1 MiB one, calls
// malloc_trim(0) and _exit(0)s.  A child that deadlocks is killed by its own
// alarm(10) (or by the parent after 12 s) and fails the test.
// cflags: -pthread
// ldflags: -pthread
// timeout: 120
#include "stress_common.h"

#include <sys/wait.h>

#define NWORK 3
#define WLOCAL 64
#define SHARED_SLOTS 64
#define HELD 64
#define MAX_SIZE ((size_t)1 << 20)

static _Atomic(void *) shared[SHARED_SLOTS];
static atomic_int stop;
static atomic_long worker_ops;

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	rng_t r;
	rng_seed(&r, 1000 + (uint64_t)id);
	void *local[WLOCAL] = {0};
	size_t lsize[WLOCAL] = {0};
	uint32_t seq = (uint32_t)(id + 1) << 26;
	long ops = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned k = (unsigned)(rng_next(&r) % WLOCAL);
		unsigned op = (unsigned)(rng_next(&r) % 100);
		ops++;
		if (op < 45) {
			if (local[k]) {
				sig_verify(local[k], lsize[k], "worker free");
				free(local[k]);
			}
			size_t n = rng_size(&r, MAX_SIZE);
			void *p = (op < 35) ? malloc(n) : calloc(1, n);
			CHECK(p, "worker: allocation of %zu returned NULL", n);
			if (op >= 35)
				check_zero(p, n, "worker calloc");
			sig_init(p, n, ++seq);
			local[k] = p;
			lsize[k] = n;
		} else if (op < 60) {
			if (!local[k])
				continue;
			size_t n = rng_size(&r, MAX_SIZE);
			uintptr_t old = (uintptr_t)local[k];
			void *q = realloc(local[k], n);
			sig_after_realloc(q, old, lsize[k], n, "worker realloc");
			local[k] = q;
			lsize[k] = n;
		} else if (op < 85) {
			if (local[k]) {
				sig_verify(local[k], lsize[k], "worker free");
				free(local[k]);
				local[k] = NULL;
			}
		} else if (op < 99) {
			unsigned j = (unsigned)(rng_next(&r) % SHARED_SLOTS);
			void *got = atomic_exchange_explicit(&shared[j], local[k],
							     memory_order_acq_rel);
			local[k] = got;
			lsize[k] = got ? sig_verify(got, 0, "worker received") : 0;
		} else if ((rng_next(&r) % 200) == 0) {
			malloc_trim(0); /* trimming concurrently with fork */
		}
	}
	for (int i = 0; i < WLOCAL; i++)
		if (local[i]) {
			sig_verify(local[i], lsize[i], "worker exit");
			free(local[i]);
		}
	atomic_fetch_add(&worker_ops, ops);
	return NULL;
}

static void *held[HELD];

/* Runs in the child: only malloc & co, no stdio; failures abort(). */
static void child(int iter, long nops)
{
	alarm(10); /* a deadlocked child dies of SIGALRM */
	rng_t r;
	rng_seed(&r, 5000 + (uint64_t)iter);

	/* blocks the parent's main thread holds */
	for (int i = 0; i < HELD; i++) {
		sig_verify(held[i], 0, "child: inherited main-thread block");
		if (i & 1) {
			free(held[i]);
			held[i] = NULL;
		}
	}
	/* blocks parked by worker threads, which do not exist here */
	for (int j = 0; j < SHARED_SLOTS; j++) {
		void *p = atomic_exchange(&shared[j], NULL);
		if (p) {
			sig_verify(p, 0, "child: inherited worker block");
			free(p);
		}
	}

	enum { CL = 128 };
	void **slot = calloc(CL, sizeof *slot);
	size_t *ssz = calloc(CL, sizeof *ssz);
	CHECK(slot && ssz, "child: calloc failed");
	uint32_t seq = 0xc0000000u | ((uint32_t)iter << 16);
	for (long i = 0; i < nops; i++) {
		unsigned k = (unsigned)(rng_next(&r) % CL);
		if (slot[k]) {
			sig_verify(slot[k], ssz[k], "child free");
			if (rng_next(&r) & 1) {
				size_t n = rng_size(&r, MAX_SIZE);
				uintptr_t old = (uintptr_t)slot[k];
				void *q = realloc(slot[k], n);
				sig_after_realloc(q, old, ssz[k], n, "child realloc");
				slot[k] = q;
				ssz[k] = n;
				continue;
			}
			free(slot[k]);
			slot[k] = NULL;
		}
		size_t n = (i == nops / 2) ? MAX_SIZE : rng_size(&r, 256 * 1024);
		void *p = malloc(n);
		CHECK(p, "child: malloc(%zu) returned NULL", n);
		sig_init(p, n, ++seq);
		slot[k] = p;
		ssz[k] = n;
	}
	void *big = malloc((size_t)1 << 20);
	CHECK(big, "child: malloc(1 MiB) returned NULL");
	sig_init(big, (size_t)1 << 20, 0xb16b16u);
	sig_verify(big, (size_t)1 << 20, "child big");
	for (int k = 0; k < CL; k++)
		if (slot[k]) {
			sig_verify(slot[k], ssz[k], "child cleanup");
			free(slot[k]);
		}
	free(slot);
	free(ssz);
	free(big);
	for (int i = 0; i < HELD; i++)
		if (held[i])
			free(held[i]);
	malloc_trim(0);
	/* allocator still usable after trim */
	void *p = malloc(100);
	CHECK(p, "child: malloc after malloc_trim returned NULL");
	free(p);
	_exit(0);
}

static void wait_child(pid_t pid, int iter)
{
	double deadline = stress_now() + 12;
	int st;
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		CHECK(w == 0, "waitpid: %s", strerror(errno));
		if (stress_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			FAIL("fork %d: child %d still running after 12 s (deadlock)", iter,
			     (int)pid);
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	if (WIFSIGNALED(st))
		FAIL("fork %d: child killed by signal %d%s", iter, WTERMSIG(st),
		     WTERMSIG(st) == SIGALRM ? " (SIGALRM: deadlocked for 10 s)" : "");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork %d: child exited with %d",
	      iter, WEXITSTATUS(st));
}

int main(void)
{
	double t0 = stress_now();
	int dbg = stress_debug();
#if STRESS_MEM_MODE == 0
	/* Plain -fsanitize build: malloc is the sanitizer's own allocator, which
	 * (gcc 12) deadlocks in a child forked while other threads allocate.
	 * Not umalloc's problem; the asan/tsan variants use umalloc and run. */
	printf("fork_mt: SKIP: sanitizer's own malloc is not fork-safe\n");
	return 77;
#endif
	int nfork = dbg ? 15 : STRESS_TSAN ? 20 : 100;
	long child_ops = dbg ? 300 : STRESS_SANITIZER ? 1500 : 3000;
	printf("fork_mt [%s]: %d workers, %d forks, %ld ops per child\n",
	       stress_mode_name(), NWORK, nfork, child_ops);
	fflush(stdout);

	rng_t r;
	rng_seed(&r, 42);
	for (int i = 0; i < HELD; i++) {
		size_t n = i == 0 ? (size_t)1 << 20 : rng_size(&r, MAX_SIZE);
		held[i] = malloc(n);
		CHECK(held[i], "malloc(%zu) returned NULL", n);
		sig_init(held[i], n, 0x10000u + (uint32_t)i);
	}

	pthread_t t[NWORK];
	for (int i = 0; i < NWORK; i++)
		stress_thread_create(&t[i], worker, (void *)(intptr_t)i);

	stress_budget(dbg || STRESS_SANITIZER ? 12 : 40);
	int forks = 0;
	for (int it = 0; it < nfork; it++) {
		if (it >= 5 && stress_time_up())
			break;
		/* some main-thread activity, then fork at a random moment */
		for (int k = 0; k < 8; k++) {
			size_t n = rng_size(&r, 64 * 1024);
			void *p = malloc(n);
			CHECK(p, "malloc(%zu) returned NULL", n);
			sig_init(p, n, (uint32_t)k);
			sig_verify(p, n, "main");
			free(p);
		}
		struct timespec ts = {0, (long)(rng_next(&r) % 3000000)};
		nanosleep(&ts, NULL);
		fflush(stdout);
		pid_t pid = fork();
		CHECK(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0)
			child(it, child_ops);
		wait_child(pid, it);
		forks++;
	}

	atomic_store(&stop, 1);
	for (int i = 0; i < NWORK; i++)
		stress_thread_join(t[i]);
	for (int j = 0; j < SHARED_SLOTS; j++) {
		void *p = atomic_exchange(&shared[j], NULL);
		if (p) {
			sig_verify(p, 0, "main: leftover shared block");
			free(p);
		}
	}
	for (int i = 0; i < HELD; i++) {
		sig_verify(held[i], 0, "main: held block after forks");
		free(held[i]);
	}
	char extra[96];
	snprintf(extra, sizeof extra, "(%d forks, %ld worker ops)", forks,
		 atomic_load(&worker_ops));
	stress_report("fork_mt", t0, extra);
	return 0;
}
