/*
 * stress_common.h - helpers shared by the tests in tests/stress/.
 *
 * Everything here is header-only (static functions) so each test stays a
 * single standalone C11 program.  The tests only call the standard names
 * (malloc, free, realloc, calloc, posix_memalign, aligned_alloc, malloc_trim,
 * mallinfo2); under the asan/tsan variants tests/prefixed.h maps those names
 * onto umalloc_*.
 *
 * Block signature.  Every block a stress test owns starts with a 16-byte
 * header
 *     word 0 = (seed << 32) | size            (size < 4 GiB)
 *     word 1 = mix(word 0, address)
 * followed by a pattern that depends only on (seed, byte offset).  So a block
 * can be verified by any thread that receives the bare pointer (the header
 * says how big it is, and word 1 proves the header belongs to this address),
 * and after realloc the preserved prefix can be checked against the *old*
 * address and size.  Blocks must therefore be at least SIG_MIN bytes.
 */
#ifndef STRESS_COMMON_H
#define STRESS_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- build -- */

#if defined(__SANITIZE_THREAD__)
#define STRESS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STRESS_TSAN 1
#endif
#endif
#ifndef STRESS_TSAN
#define STRESS_TSAN 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define STRESS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STRESS_ASAN 1
#endif
#endif
#ifndef STRESS_ASAN
#define STRESS_ASAN 0
#endif

#define STRESS_SANITIZER (STRESS_TSAN || STRESS_ASAN)

/*
 * How much memory accounting (RSS, mallinfo2) can be trusted:
 *   0  a sanitizer's own allocator serves malloc (plain -fsanitize build
 *      without UMALLOC_PREFIXED, only used to validate the tests themselves):
 *      quarantines etc. make the numbers meaningless -> report, don't assert;
 *   1  umalloc under a sanitizer (asan/tsan variants): mallinfo2 is umalloc's,
 *      RSS also contains shadow memory -> assert with a loose RSS bound;
 *   2  umalloc preloaded (release/debug variants) -> assert.
 */
#if STRESS_SANITIZER && !defined(UMALLOC_PREFIXED)
#define STRESS_MEM_MODE 0
#elif STRESS_SANITIZER
#define STRESS_MEM_MODE 1
#else
#define STRESS_MEM_MODE 2
#endif

/* ---------------------------------------------------------------- fail --- */

/* Fail without touching malloc or stdio (usable in a forked child). */
__attribute__((noreturn, format(printf, 3, 4))) static void
stress_fail_at(const char *file, int line, const char *fmt, ...)
{
	char buf[768];
	int n = snprintf(buf, sizeof buf, "%s:%d: FAIL: ", file, line);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof buf) {
		va_list ap;
		va_start(ap, fmt);
		int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
		va_end(ap);
		if (m > 0)
			n += m;
	}
	if ((size_t)n >= sizeof buf - 1)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	ssize_t w = write(2, buf, (size_t)n);
	(void)w;
	abort();
}
#define FAIL(...) stress_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			FAIL(__VA_ARGS__);                                     \
	} while (0)

/* ---------------------------------------------------------------- scale -- */

static inline int stress_debug(void)
{
	const char *e = getenv("UMALLOC_TEST_DEBUG");
	return e && *e && strcmp(e, "0") != 0;
}

/*
 * Divisor for operation counts: the debug build checks the whole heap after
 * every operation; TSan measured ~15-50x slower on these tests, ASan ~2x.
 */
static inline long stress_slowdown(void)
{
	if (stress_debug())
		return 25;
	if (STRESS_TSAN)
		return 24;
	if (STRESS_ASAN)
		return 2;
	return 1;
}

static inline long stress_scaled(long n)
{
	long d = stress_slowdown();
	long r = n / d;
	return r < 1 ? 1 : r;
}

static inline const char *stress_mode_name(void)
{
	if (stress_debug())
		return "debug";
	if (STRESS_TSAN)
		return STRESS_MEM_MODE ? "tsan" : "tsan(sanitizer malloc)";
	if (STRESS_ASAN)
		return STRESS_MEM_MODE ? "asan" : "asan(sanitizer malloc)";
	return "release";
}

/* ---------------------------------------------------------------- time --- */

static inline double stress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/*
 * Safety net so a slow variant still ends in time: loops poll
 * stress_time_up() every few dozen operations and stop early (the test still
 * passes, it prints that it was cut short).  In release runs the op counts
 * are sized to stay far below the budget.
 */
static _Atomic double stress_deadline_at;
static atomic_int stress_cut_short;

static inline void stress_budget(double seconds)
{
	atomic_store(&stress_deadline_at, stress_now() + seconds);
}

static inline int stress_time_up(void)
{
	double d = atomic_load_explicit(&stress_deadline_at, memory_order_relaxed);
	if (d > 0 && stress_now() > d) {
		atomic_store_explicit(&stress_cut_short, 1, memory_order_relaxed);
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- rng ---- */

typedef struct {
	uint64_t s;
} rng_t;

static inline uint64_t sig_mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void rng_seed(rng_t *r, uint64_t seed)
{
	r->s = sig_mix(seed ^ 0x5eed5eed5eedULL);
}

static inline uint64_t rng_next(rng_t *r)
{
	r->s += 0x9e3779b97f4a7c15ULL;
	uint64_t z = r->s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* uniform in [lo, hi] */
static inline size_t rng_range(rng_t *r, size_t lo, size_t hi)
{
	return lo + (size_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* roughly log-uniform in [lo, hi] */
static inline size_t rng_logrange(rng_t *r, size_t lo, size_t hi)
{
	unsigned blo = 63u - (unsigned)__builtin_clzll(lo);
	unsigned bhi = 63u - (unsigned)__builtin_clzll(hi);
	unsigned b = blo + (unsigned)(rng_next(r) % (bhi - blo + 1));
	size_t a = (size_t)1 << b;
	size_t z = a * 2 - 1;
	if (a < lo)
		a = lo;
	if (z > hi)
		z = hi;
	return rng_range(r, a, z);
}

/*
 * Sizes skewed small: ~85% in 16..1024, ~13.5% 1 KiB..16 KiB,
 * ~1.4% 16 KiB..256 KiB, ~0.1% 256 KiB..max; bands above max are folded
 * into [16, max].  Requires max >= 16.
 */
static inline size_t rng_size(rng_t *r, size_t max)
{
	static const size_t band_lo[4] = {16, 1025, 16385, 262145};
	static const size_t band_hi[4] = {1024, 16384, 262144, SIZE_MAX};
	unsigned u = (unsigned)(rng_next(r) % 1000);
	int b = u < 850 ? 0 : u < 985 ? 1 : u < 999 ? 2 : 3;
	if (band_lo[b] > max)
		return rng_logrange(r, 16, max);
	size_t hi = band_hi[b] < max ? band_hi[b] : max;
	return b == 0 ? rng_range(r, band_lo[b], hi) : rng_logrange(r, band_lo[b], hi);
}

/* ---------------------------------------------------------------- sig ---- */

#define SIG_MIN 16
#define SIG_MAX ((size_t)1 << 30)

static inline uint64_t sig_key(uint32_t seed)
{
	return sig_mix(0xb10cb10c00000000ULL | seed);
}

static inline uint64_t sig_word(uint64_t key, size_t wi)
{
	uint64_t x = (uint64_t)wi * 0xd6e8feb86659fd93ULL;
	return key ^ x ^ (x >> 29);
}

static inline uint64_t sig_hdr1(uintptr_t addr, uint64_t hdr0)
{
	return sig_mix(hdr0 ^ sig_mix((uint64_t)addr));
}

/* Fill bytes [from, to) of the pattern for key. */
static inline void sig_fill_range(unsigned char *p, size_t from, size_t to,
				  uint64_t key)
{
	size_t o = from;
	while (o < to && (o & 7)) {
		p[o] = (unsigned char)(sig_word(key, o >> 3) >> ((o & 7) * 8));
		o++;
	}
	for (; o + 8 <= to; o += 8) {
		uint64_t w = sig_word(key, o >> 3);
		memcpy(p + o, &w, 8);
	}
	for (; o < to; o++)
		p[o] = (unsigned char)(sig_word(key, o >> 3) >> ((o & 7) * 8));
}

/* Returns the first offset in [from, to) that differs, or (size_t)-1. */
static inline size_t sig_check_range(const unsigned char *p, size_t from,
				     size_t to, uint64_t key)
{
	size_t o = from;
	while (o < to && (o & 7)) {
		if (p[o] != (unsigned char)(sig_word(key, o >> 3) >> ((o & 7) * 8)))
			return o;
		o++;
	}
	for (; o + 8 <= to; o += 8) {
		uint64_t w;
		memcpy(&w, p + o, 8);
		if (w != sig_word(key, o >> 3)) {
			for (size_t k = 0; k < 8; k++)
				if (p[o + k] != (unsigned char)(sig_word(key, o >> 3) >> (k * 8)))
					return o + k;
		}
	}
	for (; o < to; o++)
		if (p[o] != (unsigned char)(sig_word(key, o >> 3) >> ((o & 7) * 8)))
			return o;
	return (size_t)-1;
}

static inline void sig_write_hdr(void *p, size_t size, uint32_t seed)
{
	uint64_t h[2];
	h[0] = ((uint64_t)seed << 32) | (uint64_t)(uint32_t)size;
	h[1] = sig_hdr1((uintptr_t)p, h[0]);
	memcpy(p, h, sizeof h);
}

/* Stamp a fresh block of `size` (>= SIG_MIN) bytes. */
static inline void sig_init(void *p, size_t size, uint32_t seed)
{
	CHECK(size >= SIG_MIN && size <= SIG_MAX, "sig_init: bad size %zu", size);
	sig_write_hdr(p, size, seed);
	sig_fill_range(p, SIG_MIN, size, sig_key(seed));
}

/*
 * Check the whole block at p (header bound to p, full pattern).  If
 * expect_size is non-zero it must match the recorded size.  Returns the size.
 */
static inline size_t sig_verify(const void *p, size_t expect_size, const char *ctx)
{
	uint64_t h[2];
	CHECK(p != NULL, "%s: NULL block", ctx);
	memcpy(h, p, sizeof h);
	if (h[1] != sig_hdr1((uintptr_t)p, h[0]))
		FAIL("%s: block %p: header signature mismatch (hdr %016llx %016llx): "
		     "overwritten, or handed out twice",
		     ctx, p, (unsigned long long)h[0], (unsigned long long)h[1]);
	size_t size = (size_t)(uint32_t)h[0];
	uint32_t seed = (uint32_t)(h[0] >> 32);
	CHECK(size >= SIG_MIN && size <= SIG_MAX, "%s: block %p: bad recorded size %zu",
	      ctx, p, size);
	if (expect_size && size != expect_size)
		FAIL("%s: block %p: recorded size %zu, expected %zu", ctx, p, size,
		     expect_size);
	size_t bad = sig_check_range(p, SIG_MIN, size, sig_key(seed));
	if (bad != (size_t)-1)
		FAIL("%s: block %p size %zu seed %08x: content corrupted at offset %zu "
		     "(byte %02x)",
		     ctx, p, size, seed, bad, ((const unsigned char *)p)[bad]);
	return size;
}

static inline uint32_t sig_seed_of(const void *p)
{
	uint64_t h0;
	memcpy(&h0, p, sizeof h0);
	return (uint32_t)(h0 >> 32);
}

/*
 * After q = realloc(old, new_size) of a block that had been verified with
 * size old_size: check the preserved prefix (header still names the old
 * address and size), then re-stamp the header for q and extend the pattern.
 * The old address is passed as an integer taken before the realloc call
 * (a freed pointer's value is indeterminate).
 */
static inline void sig_after_realloc(void *q, uintptr_t old, size_t old_size,
				     size_t new_size, const char *ctx)
{
	uint64_t h[2];
	CHECK(q != NULL, "%s: realloc(%#lx, %zu) returned NULL", ctx,
	      (unsigned long)old, new_size);
	CHECK(new_size >= SIG_MIN, "%s: new size %zu too small", ctx, new_size);
	memcpy(h, q, sizeof h);
	if (h[1] != sig_hdr1(old, h[0]) || (size_t)(uint32_t)h[0] != old_size)
		FAIL("%s: realloc(%#lx, %zu) -> %p did not preserve the header "
		     "(hdr %016llx %016llx, old size %zu)",
		     ctx, (unsigned long)old, new_size, q, (unsigned long long)h[0],
		     (unsigned long long)h[1], old_size);
	uint32_t seed = (uint32_t)(h[0] >> 32);
	uint64_t key = sig_key(seed);
	size_t keep = old_size < new_size ? old_size : new_size;
	size_t bad = sig_check_range(q, SIG_MIN, keep, key);
	if (bad != (size_t)-1)
		FAIL("%s: realloc(%#lx, %zu -> %zu) -> %p: prefix not preserved at "
		     "offset %zu",
		     ctx, (unsigned long)old, old_size, new_size, q, bad);
	sig_write_hdr(q, new_size, seed);
	if (new_size > keep)
		sig_fill_range(q, keep, new_size, key);
}

/* Fail unless n bytes at p are all zero (calloc). */
static inline void check_zero(const void *p, size_t n, const char *ctx)
{
	const unsigned char *c = p;
	size_t o = 0;
	for (; o + 8 <= n; o += 8) {
		uint64_t w;
		memcpy(&w, c + o, 8);
		if (w)
			break;
	}
	for (; o < n; o++)
		if (c[o])
			FAIL("%s: calloc block %p size %zu not zeroed at offset %zu", ctx,
			     p, n, o);
}

static inline void check_align(const void *p, size_t align, const char *ctx)
{
	if ((uintptr_t)p % align)
		FAIL("%s: %p is not aligned to %zu", ctx, p, align);
}

/* malloc/calloc/realloc must return memory aligned for max_align_t. */
#define MALLOC_ALIGN _Alignof(max_align_t)

/* -------------------------------------------------------------- memory --- */

/* Resident set size in bytes, read without allocating. */
static inline size_t stress_rss(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0, "open /proc/self/statm: %s", strerror(errno));
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	CHECK(n > 0, "read /proc/self/statm");
	buf[n] = 0;
	unsigned long size = 0, resident = 0;
	CHECK(sscanf(buf, "%lu %lu", &size, &resident) == 2, "parse statm '%s'", buf);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

typedef struct {
	size_t arena;    /* non-mmapped bytes obtained from the system */
	size_t uordblks; /* bytes in use by the application (not mmapped) */
	size_t hblkhd;   /* bytes in mmapped blocks */
} stress_minfo;

/* The single place that calls mallinfo2 (prefixed.h maps it). */
static inline stress_minfo stress_mallinfo(void)
{
	stress_minfo r;
	struct mallinfo2 mi = mallinfo2();
	r.arena = mi.arena;
	r.uordblks = mi.uordblks;
	r.hblkhd = mi.hblkhd;
	return r;
}

#define MiB ((size_t)1 << 20)

/*
 * Assert value <= factor * base + slack (bytes), honouring STRESS_MEM_MODE:
 * mode 0 only reports, mode 1 doubles the factor and adds 128 MiB of slack
 * (sanitizer shadow memory is part of RSS).
 */
static inline void stress_bound(const char *what, size_t value, size_t base,
				double factor, size_t slack, int is_rss)
{
	if (STRESS_MEM_MODE == 1 && is_rss) {
		factor *= 2;
		slack += 128 * MiB;
	}
	double limit = factor * (double)base + (double)slack;
	int ok = (double)value <= limit;
	printf("  %-34s %9.2f MiB (limit %9.2f MiB)%s\n", what, (double)value / MiB,
	       limit / MiB,
	       STRESS_MEM_MODE == 0 ? " [not asserted: sanitizer malloc]"
				    : (ok ? "" : "  <-- TOO HIGH"));
	fflush(stdout);
	if (!ok && STRESS_MEM_MODE != 0)
		FAIL("%s = %zu bytes exceeds %.0f (%.1f x %zu + %zu)", what, value,
		     limit, factor, base, slack);
}

/* -------------------------------------------------------------- threads -- */

static inline void stress_thread_create(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int e = pthread_create(t, NULL, fn, arg);
	if (e)
		FAIL("pthread_create: %s", strerror(e));
}

static inline void stress_thread_join(pthread_t t)
{
	int e = pthread_join(t, NULL);
	if (e)
		FAIL("pthread_join: %s", strerror(e));
}

static inline void stress_report(const char *name, double t0, const char *extra)
{
	printf("%s: PASS in %.2f s [%s]%s%s%s\n", name, stress_now() - t0,
	       stress_mode_name(), extra ? " " : "", extra ? extra : "",
	       atomic_load(&stress_cut_short) ? " (time budget reached, op count cut short)"
					      : "");
	fflush(stdout);
}

#endif /* STRESS_COMMON_H */
