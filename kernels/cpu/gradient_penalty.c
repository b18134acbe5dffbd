/* kernels/cpu/gradient_penalty.c - the WGAN-GP penalty on per-sample input gradients (CPU).
 *
 *   loss = lambda * mean_r (||g_r|| - 1)^2,  dg_r = 2 lambda (||g_r|| - 1) / (rows ||g_r||) g_r
 *
 * The norms and the mean are accumulated in double in ascending order (deterministic);
 * each output float is rounded once from a double expression. dg is where the exact
 * parameter gradient of the penalty starts: it is the direction of the forward-mode
 * tangent pass through the critic (the R-operator; models/ explain the rest).
 * Tested by tests/test_gradient_penalty.c (closed forms, float64 finite differences).
 */
#include "kernels/cpu/cpu.h"

#include <math.h>

void gb_gradient_penalty_cpu(gb_device *dev, float *loss, float *dg, const float *g, size_t rows,
                             size_t cols, float lambda) {
    (void)dev;
    double total = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *row = g + r * cols;
        double sq = 0;
        for (size_t c = 0; c < cols; c++) sq += (double)row[c] * row[c];
        double norm = sqrt(sq);
        total += (norm - 1) * (norm - 1);
        if (!dg) continue;
        /* PyTorch's norm backward masks the zero-norm case to a zero gradient. */
        double coef = norm > 0 ? 2.0 * lambda * (norm - 1) / ((double)rows * norm) : 0.0;
        for (size_t c = 0; c < cols; c++) dg[r * cols + c] = (float)(coef * row[c]);
    }
    *loss = rows ? (float)(lambda * total / (double)rows) : 0.0f;
}
