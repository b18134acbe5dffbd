/* kernels/cpu/parallel.c - the persistent worker pool behind gb_parallel_for (see parallel.h).
 *
 * One pool per process. A call publishes (fn, ctx, n, slices) under the mutex, bumps the
 * generation and broadcasts; worker w runs slice w when w < slices, the caller runs slice 0,
 * and the last slice to finish signals the caller. Only one call uses the pool at a time (a
 * second application thread that finds it busy runs its range inline: same slices, same
 * bits, just not in parallel), and calls from inside a slice run inline.
 */
#include "kernels/cpu/parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

enum { MAX_WORKERS = 63 };

typedef struct {
    pthread_mutex_t lock;    /* guards everything below but `remaining` */
    pthread_cond_t wake;     /* workers wait here for a new generation */
    pthread_cond_t done;     /* the caller waits here for remaining == 0 */
    pthread_mutex_t busy;    /* held by the one call using the pool */
    atomic_ulong generation; /* bumped (under lock) once per call */
    int sleepers;            /* workers blocked on `wake` */
    int workers;             /* started so far; they never exit */
    gb_parallel_fn fn;
    void *ctx;
    size_t n;
    int slices;
    atomic_int remaining;
} worker_pool;

static worker_pool pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
                           .done = PTHREAD_COND_INITIALIZER, .busy = PTHREAD_MUTEX_INITIALIZER};
static _Thread_local int inside_slice;
/* The generation current when worker w was created (under the lock, before the call that
 * needs it bumps it): the worker's first call to serve is the next one. */
static unsigned long birth_generation[MAX_WORKERS + 1];

void gb_parallel_slice_range(size_t n, int slices, int t, size_t *begin, size_t *end) {
    size_t s = (size_t)slices, q = n / s, r = n % s, i = (size_t)t;
    *begin = i * q + (i < r ? i : r);
    *end = *begin + q + (i < r);
}

int gb_parallel_slices(const gb_device *dev, size_t n, size_t grain) {
    int threads = dev && dev->threads > 1 ? dev->threads : 1;
    if (threads > MAX_WORKERS + 1) threads = MAX_WORKERS + 1;
    if (grain < 1) grain = 1;
    size_t useful = (n + grain - 1) / grain;
    return useful < (size_t)threads ? (useful ? (int)useful : 1) : threads;
}

static void run_slice(gb_parallel_fn fn, void *ctx, size_t n, int slices, int t) {
    size_t begin, end;
    gb_parallel_slice_range(n, slices, t, &begin, &end);
    inside_slice = 1;
    if (begin < end) fn(ctx, begin, end, t);
    inside_slice = 0;
}

/* A training step makes thousands of calls a few tens of microseconds apart: a worker polls
 * the generation for a while before it blocks, which saves the futex round trip (measured
 * ~40 us per call when every call had to wake sleeping workers). */
enum { SPIN_POLLS = 64, YIELD_POLLS = 256 };

/* One poll of a wait: a few pause instructions first, then sched_yield, which hands the core
 * to any runnable thread (OpenBLAS's workers, or the thread we wait for on an oversubscribed
 * machine) instead of burning it. */
static void poll_pause(int i) {
    if (i < SPIN_POLLS)
        __builtin_ia32_pause();
    else
        sched_yield();
}

static void spin_for_new_generation(unsigned long seen) {
    for (int i = 0; i < SPIN_POLLS + YIELD_POLLS &&
                    atomic_load_explicit(&pool.generation, memory_order_acquire) == seen;
         i++)
        poll_pause(i);
}

static void *worker_main(void *arg) {
    int id = (int)(size_t)arg;
    unsigned long seen = birth_generation[id];
    for (;;) {
        spin_for_new_generation(seen);
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.generation) == seen) {
            pool.sleepers++;
            pthread_cond_wait(&pool.wake, &pool.lock);
            pool.sleepers--;
        }
        seen = atomic_load(&pool.generation);
        if (id >= pool.slices) {
            pthread_mutex_unlock(&pool.lock);
            continue;
        }
        if (id >= pool.slices) continue;
        gb_parallel_fn fn = pool.fn;
        void *ctx = pool.ctx;
        size_t n = pool.n;
        int slices = pool.slices;
        pthread_mutex_unlock(&pool.lock);
        run_slice(fn, ctx, n, slices, id);
        if (atomic_fetch_sub(&pool.remaining, 1) == 1) {
            pthread_mutex_lock(&pool.lock);
            pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
    return NULL;
}

/* Starts workers 1 .. slices-1 that do not exist yet (called with pool.lock held). */
static int ensure_workers(int slices) {
    while (pool.workers < slices - 1) {
        pthread_t t;
        birth_generation[pool.workers + 1] = atomic_load(&pool.generation);
        if (pthread_create(&t, NULL, worker_main, (void *)(size_t)(pool.workers + 1)) != 0)
            return pool.workers + 1; /* fewer threads than asked: use those that exist */
        pthread_detach(t);
        pool.workers++;
    }
    return slices;
}

static void run_inline(gb_parallel_fn fn, void *ctx, size_t n, int slices) {
    int was_inside = inside_slice;
    for (int t = 0; t < slices; t++) run_slice(fn, ctx, n, slices, t);
    inside_slice = was_inside;
}

void gb_parallel_for(const gb_device *dev, size_t n, size_t grain, gb_parallel_fn fn, void *ctx) {
    if (n == 0) return;
    int slices = gb_parallel_slices(dev, n, grain);
    if (slices == 1 || inside_slice || pthread_mutex_trylock(&pool.busy) != 0) {
        run_inline(fn, ctx, n, slices);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    if (ensure_workers(slices) < slices) {
        /* thread creation failed: keep the same slices (same bits), run them here */
        pthread_mutex_unlock(&pool.lock);
        pthread_mutex_unlock(&pool.busy);
        run_inline(fn, ctx, n, slices);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.slices = slices;
    atomic_store(&pool.remaining, slices - 1);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    if (pool.sleepers) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    run_slice(fn, ctx, n, slices, 0);

    for (int i = 0; i < SPIN_POLLS + YIELD_POLLS && atomic_load(&pool.remaining) > 0; i++) poll_pause(i);
    if (atomic_load(&pool.remaining) > 0) {
        pthread_mutex_lock(&pool.lock);
        while (atomic_load(&pool.remaining) > 0) pthread_cond_wait(&pool.done, &pool.lock);
        pthread_mutex_unlock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.busy);
}
