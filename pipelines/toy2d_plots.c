/* pipelines/toy2d_plots.c - PNG figures of toy2d-langevin (see toy2d_plots.h).
 * The data window is the HW5 starter's: x in [-2.5, 2.5], y in [-0.6, 0.6] (with a margin). */
#include "toy2d_plots.h"

#include <math.h>
#include <stdlib.h>

#include "../core/plot.h"

#define XMIN -2.6
#define XMAX 2.6
#define YMIN -0.8
#define YMAX 0.8
#define W 1100
#define H 420

static const gb_rgb data_colour = {170, 170, 170};
static const gb_rgb sample_colour = {31, 119, 180};
static const gb_rgb arrow_colour = {214, 39, 40};

static gb_status save(gb_run_context *ctx, gb_plot *p, const char *file) {
    char path[1200];
    gb_status s = gb_plot_save(p, gb_run_path(ctx, file, path, sizeof path));
    gb_plot_free(p);
    return s;
}

static gb_status plot_samples(gb_run_context *ctx, const toy2d_plot_input *in) {
    gb_plot *p = gb_plot_new(W, H, "annealed Langevin samples (blue) over the CS446 data (grey)", XMIN, XMAX, YMIN, YMAX);
    gb_plot_set_labels(p, "x", "y");
    gb_plot_points(p, in->data, in->n_data, data_colour, 2);
    gb_plot_points(p, in->samples, in->n_samples, sample_colour, 1);
    gb_plot_legend(p, "data", data_colour);
    gb_plot_legend(p, "samples", sample_colour);
    return save(ctx, p, "samples.png");
}

/* Arrows from x to x + sigma^2 s(x, sigma): the denoiser's displacement (Tweedie), in data units,
 * so arrow length is meaningful; clipped to one grid cell so the field stays readable. */
static gb_status plot_score_field(gb_run_context *ctx, const toy2d_plot_input *in, toy2d_score_fn score,
                                  void *self) {
    enum { NX = 44, NY = 14 };
    float x[NX * NY * 2], s[NX * NY * 2];
    double cell = (XMAX - XMIN) / NX;
    for (int j = 0; j < NY; j++)
        for (int i = 0; i < NX; i++) {
            x[2 * (j * NX + i)] = (float)(XMIN + (i + 0.5) * cell);
            x[2 * (j * NX + i) + 1] = (float)(YMIN + (j + 0.5) * (YMAX - YMIN) / NY);
        }
    score(self, x, NX * NY, in->field_sigma, s);
    char title[128];
    snprintf(title, sizeof title, "learned score field at sigma = %.3f (arrows: sigma^2 * score)", in->field_sigma);
    gb_plot *p = gb_plot_new(W, H, title, XMIN, XMAX, YMIN, YMAX);
    gb_plot_set_labels(p, "x", "y");
    gb_plot_points(p, in->data, in->n_data, data_colour, 1);
    double s2 = (double)in->field_sigma * in->field_sigma;
    for (int k = 0; k < NX * NY; k++) {
        double dx = s2 * s[2 * k], dy = s2 * s[2 * k + 1];
        double len = sqrt(dx * dx + dy * dy);
        if (len > cell) dx *= cell / len, dy *= cell / len;
        gb_plot_arrow(p, x[2 * k], x[2 * k + 1], x[2 * k] + dx, x[2 * k + 1] + dy, arrow_colour);
    }
    return save(ctx, p, "score_field.png");
}

static gb_status plot_trajectories(gb_run_context *ctx, const toy2d_plot_input *in) {
    /* six chains: more turn the early, large-sigma steps into an unreadable tangle */
    size_t chains = in->n_traj < 6 ? in->n_traj : 6;
    gb_plot *p = gb_plot_new(W, H, "Langevin trajectories of 6 chains (start: N(0,I); end: dots)", XMIN, XMAX, YMIN, YMAX);
    gb_plot_set_labels(p, "x", "y");
    gb_plot_points(p, in->data, in->n_data, data_colour, 1);
    double *px = malloc(in->traj_len * sizeof *px), *py = malloc(in->traj_len * sizeof *py);
    GB_ASSERT(px && py, "out of host memory");
    for (size_t c = 0; c < chains; c++) {
        const float *t = in->traj + c * in->traj_len * 2;
        for (size_t k = 0; k < in->traj_len; k++) px[k] = t[2 * k], py[k] = t[2 * k + 1];
        gb_plot_polyline(p, px, py, in->traj_len, gb_palette((int)c + 1), 1);
        gb_plot_points(p, t + 2 * (in->traj_len - 1), 1, GB_RGB_BLACK, 4);
    }
    free(px);
    free(py);
    return save(ctx, p, "trajectories.png");
}

static gb_status plot_loss(gb_run_context *ctx, const toy2d_plot_input *in) {
    double lo = INFINITY, hi = 0;
    double *x = malloc(in->n_log * sizeof *x), *y = malloc(in->n_log * sizeof *y);
    GB_ASSERT(x && y, "out of host memory");
    for (size_t i = 0; i < in->n_log; i++) {
        x[i] = (double)((i + 1) * in->log_every);
        y[i] = in->loss_log[i];
        if (y[i] > 0 && y[i] < lo) lo = y[i];
        if (y[i] > hi) hi = y[i];
    }
    if (!(lo < hi)) lo = hi > 0 ? hi / 10 : 1e-3, hi = hi > 0 ? hi * 10 : 1;
    gb_plot *p = gb_plot_new(800, 420, "training loss (mean per logging window)", 0, x[in->n_log - 1], lo / 1.2, hi * 1.2);
    gb_plot_set_log_y(p, 1);
    gb_plot_set_labels(p, "step", "DSM loss");
    gb_plot_polyline(p, x, y, in->n_log, sample_colour, 2);
    free(x);
    free(y);
    return save(ctx, p, "loss.png");
}

gb_status toy2d_write_plots(gb_run_context *ctx, const toy2d_plot_input *in, toy2d_score_fn score, void *self) {
    GB_TRY(plot_samples(ctx, in));
    GB_TRY(plot_score_field(ctx, in, score, self));
    GB_TRY(plot_trajectories(ctx, in));
    return plot_loss(ctx, in);
}
