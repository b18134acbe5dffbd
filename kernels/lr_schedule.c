/* kernels/lr_schedule.c - constant, linear-decay and linear-ramp schedules (host side).
 *
 * The formulas, their sources in specs/pipelines.md and the PyTorch expressions
 * they reproduce bit for bit are in kernels/lr_schedule.h. Tested by
 * tests/test_kernels_loss.c against torch.optim.lr_scheduler.LambdaLR values.
 */
#include "kernels/lr_schedule.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[] = {
    [GB_SCHED_CONSTANT] = "constant",
    [GB_SCHED_LINEAR_DECAY] = "linear_decay",
    [GB_SCHED_LINEAR_RAMP] = "linear_ramp",
};
enum { KIND_COUNT = sizeof kind_names / sizeof kind_names[0] };

gb_status gb_schedule_init(gb_schedule *s, gb_sched_kind kind, double base, long total) {
    GB_ASSERT(s, "gb_schedule_init needs a schedule");
    if ((unsigned)kind >= KIND_COUNT)
        return gb_fail(GB_USAGE, "schedule: unknown kind %d; use constant, linear_decay or linear_ramp",
                       (int)kind);
    if (!isfinite(base) || base < 0)
        return gb_fail(GB_USAGE, "%s schedule: base value %g must be finite and >= 0; set a learning "
                       "rate or beta target >= 0", kind_names[kind], base);
    if (kind != GB_SCHED_CONSTANT && total < 1)
        return gb_fail(GB_USAGE, "%s schedule: length %ld must be at least 1 step/epoch; set the "
                       "schedule's total to the run length", kind_names[kind], total);
    s->kind = kind;
    s->base = base;
    s->total = total;
    return GB_OK;
}

/* LambdaLR: lr = base_lr * (1 - step/total); Python's int/int is a double
 * division, then a double subtraction and multiply (three roundings, as here). */
double gb_lr_linear_decay(double base_lr, long step, long total) {
    const double factor = 1.0 - (double)step / (double)total;
    return base_lr * factor;
}

/* target * e / epochs, evaluated left to right as Python does. */
double gb_linear_ramp(double target, long epoch, long epochs) {
    return target * (double)epoch / (double)epochs;
}

double gb_schedule_value(const gb_schedule *s, long t) {
    GB_ASSERT(t >= 0, "schedule step/epoch must be >= 0 (got %ld)", t);
    switch (s->kind) {
    case GB_SCHED_CONSTANT: return s->base;
    case GB_SCHED_LINEAR_DECAY: return gb_lr_linear_decay(s->base, t, s->total);
    case GB_SCHED_LINEAR_RAMP: return gb_linear_ramp(s->base, t, s->total);
    }
    gb_panic(__FILE__, __LINE__, "schedule: unknown kind %d", (int)s->kind);
}

const char *gb_sched_kind_name(gb_sched_kind kind) {
    return (unsigned)kind < KIND_COUNT ? kind_names[kind] : "unknown";
}

gb_status gb_sched_kind_parse(const char *name, gb_sched_kind *kind) {
    for (unsigned k = 0; k < KIND_COUNT; k++)
        if (strcmp(name, kind_names[k]) == 0) {
            *kind = (gb_sched_kind)k;
            return GB_OK;
        }
    return gb_fail(GB_USAGE, "unknown schedule '%s': use constant, linear_decay or linear_ramp", name);
}
