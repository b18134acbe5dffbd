/* pipelines/toy2d_plots.h - the pictures of toy2d-langevin: samples over data, the learned
 * score field as arrows, Langevin trajectories, the training loss curve (PNG, core/plot). */
#ifndef GB_TOY2D_PLOTS_H
#define GB_TOY2D_PLOTS_H

#include <stddef.h>

#include "pipeline.h"

/* s[n,2] = score(x[n,2], sigma): the pipeline's network, called for the field plot. */
typedef void (*toy2d_score_fn)(void *self, const float *x, size_t n, float sigma, float *s);

typedef struct {
    const float *data;     /* [n_data, 2] */
    size_t n_data;
    const float *samples;  /* [n_samples, 2] */
    size_t n_samples;
    const float *traj;     /* [n_traj, traj_len, 2] */
    size_t n_traj, traj_len;
    const float *loss_log; /* [n_log] mean loss per window of log_every steps */
    size_t n_log, log_every;
    float field_sigma;     /* noise level at which the score field is drawn */
} toy2d_plot_input;

/* Writes samples.png, score_field.png, trajectories.png and loss.png into the run directory. */
gb_status toy2d_write_plots(gb_run_context *ctx, const toy2d_plot_input *in, toy2d_score_fn score, void *self);

#endif
