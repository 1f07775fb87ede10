/* The lock skipped while the process has one thread (internal.h): a lock
 * taken then is not written at all and its release writes nothing; once a
 * second thread exists the same lock excludes for real, and a lock taken for
 * real is released for real even if the single-thread flag reads true by
 * then (release goes by the lock word, not by the flag). The arena lock
 * malloc takes (um_arena_get) follows the same rule. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/single_threaded.h>

#include "internal.h"
#include "unit.h"

static um_lock shared;
static int tried, got;
static int go[2]; /* pipe: the helper waits on it */

static void *helper(void *arg)
{
    (void)arg;
    char c;
    if (read(go[0], &c, 1) != 1)
        return NULL;
    /* main holds `shared` for real now: this try must fail */
    tried = 1;
    got = um_trylock(&shared);
    return NULL;
}

static int word(um_lock *l) { return atomic_load_explicit(&l->v, memory_order_relaxed); }

int main(void)
{
    U_CHECK(__libc_single_threaded, "a fresh process should be single-threaded");
    um_lock_init(&shared);
    um_lock_acquire(&shared);
    U_CHECK(word(&shared) == 0, "single-threaded: the lock word was written (%d)", word(&shared));
    U_CHECK(um_trylock(&shared), "single-threaded: trylock failed");
    um_lock_release(&shared);
    U_CHECK(word(&shared) == 0, "release of a skipped lock wrote %d", word(&shared));

    /* malloc's own way to its arena, held: the word is still 0 */
    unit_init_library(); /* the library initialised, this thread attached */
    arena *av = um_arena_get();
    U_CHECK(word(&av->lock) == 0, "single-threaded: the arena lock word is %d while held",
            word(&av->lock));
    um_arena_release(av);

    U_CHECK(pipe(go) == 0, "pipe");
    pthread_t t;
    U_CHECK(pthread_create(&t, NULL, helper, NULL) == 0, "pthread_create");
    U_CHECK(!__libc_single_threaded, "glibc should clear the flag in pthread_create");
    um_lock_acquire(&shared);
    U_CHECK(word(&shared) == 1, "two threads: the lock word is %d, not 1", word(&shared));
    U_CHECK(write(go[1], "x", 1) == 1, "write");
    pthread_join(t, NULL);
    U_CHECK(tried && !got, "the helper took a lock main holds (tried %d, got %d)", tried, got);

    /* a lock held for real, released while the flag (forced here) says one
     * thread: the release still clears the word */
    __libc_single_threaded = 1;
    um_lock_release(&shared);
    __libc_single_threaded = 0;
    U_CHECK(word(&shared) == 0, "a real lock released under a true flag left %d", word(&shared));
    U_CHECK(um_trylock(&shared) && word(&shared) == 1, "the lock cannot be taken again");
    um_lock_release(&shared);
    return U_DONE();
}
