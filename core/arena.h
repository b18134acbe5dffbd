/* core/arena.h - activation arenas: one allocation per (model, batch), carved by a bump pointer.
 *
 * DESIGN.md section 3 (Memory): activations come from an arena sized once; no allocation inside a
 * training loop. The sizing is done by running the same layout code twice: first on a measuring
 * arena (gb_arena_measure, no memory, just counting), then on a real one of the measured size,
 * so the size can never drift from the layout.
 *   gb_arena a = gb_arena_measure();  model_layout(&a, ...);
 *   gb_arena_alloc(&a, dev);          model_layout(&a, ...);   // now pointers are real
 * The arena does not know about backends beyond an alloc/free pair; it lives in core/.
 */
#ifndef GB_ARENA_H
#define GB_ARENA_H

#include <stddef.h>

typedef struct {
    unsigned char *base;                   /* NULL while measuring */
    size_t capacity;                       /* bytes */
    size_t used;                           /* bytes handed out so far */
    void *owner;                           /* the device that allocated base */
    void (*release)(void *owner, void *ptr);
} gb_arena;

#define GB_ARENA_ALIGN 256 /* bytes: enough for AVX-512 and CUDA's coalescing */

gb_arena gb_arena_measure(void);
/* Allocate the measured capacity with `alloc(owner, bytes)`; resets `used` to 0. */
void gb_arena_allocate(gb_arena *a, void *owner, void *(*alloc)(void *owner, size_t bytes),
                       void (*release)(void *owner, void *ptr));
/* Next `count` floats (aligned). While measuring returns NULL and only counts. Taking more than
 * was measured is a programmer error (the layout changed between passes) and aborts. */
float *gb_arena_floats(gb_arena *a, size_t count);
/* Start handing out again from the beginning (same capacity). */
void gb_arena_rewind(gb_arena *a);
void gb_arena_release(gb_arena *a);

#endif
