/* kernels/lr_schedule.h - host-side schedules of a scalar hyperparameter (learning rate, beta).
 *
 * Every schedule the pipelines need (specs/pipelines.md), each computed in
 * double exactly as the Python source does, so the values are bit-identical to
 * PyTorch's and the optimiser then rounds them as torch.optim does:
 *
 *   GB_SCHED_CONSTANT      value(t) = base
 *       1.3 GAZSL/CIZSL "Adam lr 1e-4, betas (0.5, 0.9) for G and D";
 *       2.3 GBU "lr 1e-4; Adam (0.5, 0.9)";
 *       3.3 Score-SDE "Adam lr 1e-4, batch 32, 50 epochs. No EMA, no grad clip";
 *       4.5 AE/VAE "Adam lr 1e-3", and beta "constant (0.8, 1, 1.2)".
 *   GB_SCHED_LINEAR_DECAY  value(t) = base * (1 - t/total)
 *       4.3 GAN "D decayed to 0 over 500K steps, G decayed to 0 over 100K steps",
 *       [inferred] LambdaLR(lambda step: 1 - step/500000) for D and
 *       (1 - g_step/100000) for G. torch.optim.lr_scheduler.LambdaLR sets
 *       lr = base_lr * lmbda(last_epoch) with Python floats: the factor
 *       1 - t/total in double, then one double multiply, as here. t is the
 *       number of scheduler.step() calls so far (0 before the first step).
 *       Past total the lambda goes negative and so does the value, as in
 *       PyTorch (no pipeline gets there: 30000 D and 6000 G steps).
 *   GB_SCHED_LINEAR_RAMP   value(t) = base * t / total   ((base * t) / total)
 *       4.5 beta-VAE "linear: 0 at epoch 0 -> target at epoch max_epochs",
 *       [inferred] beta(e) = target * e / 20, e the 0-based epoch; like the
 *       decay it is not clamped past total.
 *
 * Tested by tests/test_kernels_loss.c: values bitwise against
 * torch.optim.lr_scheduler.LambdaLR driven by tests/peers/kernels_loss.py and
 * against the Python ramp expression.
 */
#ifndef GB_KERNELS_LR_SCHEDULE_H
#define GB_KERNELS_LR_SCHEDULE_H

#include "../core/status.h"

typedef enum {
    GB_SCHED_CONSTANT,
    GB_SCHED_LINEAR_DECAY,
    GB_SCHED_LINEAR_RAMP,
} gb_sched_kind;

typedef struct {
    gb_sched_kind kind;
    double base;   /* the base lr, or the ramp's target */
    long total;    /* steps (decay) or epochs (ramp) to reach 0 / the target; unused by constant */
} gb_schedule;

/* Fill s after checking the arguments: base finite and >= 0, total >= 1 for the
 * linear kinds. GB_USAGE with the offending value and the fix otherwise. */
gb_status gb_schedule_init(gb_schedule *s, gb_sched_kind kind, double base, long total);

/* The value at step (or epoch) t >= 0 (t < 0 is a programmer error). */
double gb_schedule_value(const gb_schedule *s, long t);

/* "constant", "linear_decay", "linear_ramp" (for manifests and logs). */
const char *gb_sched_kind_name(gb_sched_kind kind);

/* The kind named `name` (one of the strings above); GB_USAGE naming the
 * choices when it is none of them. */
gb_status gb_sched_kind_parse(const char *name, gb_sched_kind *kind);

/* The two linear schedules as plain functions (what gb_schedule_value calls). */
double gb_lr_linear_decay(double base_lr, long step, long total);
double gb_linear_ramp(double target, long epoch, long epochs);

#endif
