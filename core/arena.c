/* core/arena.c - bump allocation from one block (see arena.h). */
#include "arena.h"

#include "status.h"

gb_arena gb_arena_measure(void) {
    gb_arena a = {0};
    return a;
}

void gb_arena_allocate(gb_arena *a, void *owner, void *(*alloc)(void *owner, size_t bytes),
                       void (*release)(void *owner, void *ptr)) {
    GB_ASSERT(a->base == NULL, "arena already allocated");
    a->capacity = a->used;
    a->used = 0;
    a->owner = owner;
    a->release = release;
    a->base = a->capacity ? alloc(owner, a->capacity) : NULL;
}

float *gb_arena_floats(gb_arena *a, size_t count) {
    size_t bytes = (count * sizeof(float) + GB_ARENA_ALIGN - 1) / GB_ARENA_ALIGN * GB_ARENA_ALIGN;
    size_t at = a->used;
    a->used += bytes;
    if (a->base == NULL && a->release == NULL) return NULL; /* measuring */
    GB_ASSERT(a->used <= a->capacity, "arena overflow: %zu of %zu bytes (layout changed between passes)",
              a->used, a->capacity);
    return (float *)(a->base + at);
}

void gb_arena_rewind(gb_arena *a) { a->used = 0; }

void gb_arena_release(gb_arena *a) {
    if (a->base && a->release) a->release(a->owner, a->base);
    *a = gb_arena_measure();
}
