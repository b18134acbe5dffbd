/* kernels/ops.h - the inline wrappers that model code calls: one per backend table entry.
 *
 * gb_<entry>(dev, ...) calls dev->ops-><entry>(dev, ...). Contracts, shapes and
 * the gradient rule are documented once, on the table entries in kernels/kernels.h.
 * Included by kernels/kernels.h only. These wrappers were written mechanically from
 * the table (one per entry, same argument names): keep the two in step.
 */
#ifndef GB_KERNELS_OPS_H
#define GB_KERNELS_OPS_H

static inline void *gb_dev_alloc(gb_device *d, size_t bytes) { return d->ops->alloc(d, bytes); }
static inline void gb_dev_free(gb_device *d, void *p) { d->ops->free(d, p); }
static inline void gb_upload(gb_device *d, void *dst, const void *src, size_t bytes) { d->ops->upload(d, dst, src, bytes); }
static inline void gb_download(gb_device *d, void *dst, const void *src, size_t bytes) { d->ops->download(d, dst, src, bytes); }
static inline void gb_dev_copy(gb_device *d, void *dst, const void *src, size_t bytes) { d->ops->copy(d, dst, src, bytes); }
static inline void gb_dev_copy_rows(gb_device *d, void *dst, size_t dst_pitch, const void *src, size_t src_pitch,
                                    size_t row_bytes, size_t rows) {
    d->ops->copy_rows(d, dst, dst_pitch, src, src_pitch, row_bytes, rows);
}
static inline void gb_dev_zero(gb_device *d, void *p, size_t bytes) { d->ops->zero(d, p, bytes); }
static inline void gb_dev_sync(gb_device *d) { d->ops->sync(d); }

static inline void gb_linear_forward(gb_device *d, float *out, const float *inp, const float *weight, const float *bias, const gb_linear_shape *shape) {
    d->ops->linear_forward(d, out, inp, weight, bias, shape);
}
static inline void gb_linear_backward(gb_device *d, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, const gb_linear_shape *shape) {
    d->ops->linear_backward(d, dinp, dweight, dbias, dout, inp, weight, shape);
}
static inline void gb_softplus_forward(gb_device *d, float *out, const float *inp, size_t n) {
    d->ops->softplus_forward(d, out, inp, n);
}
static inline void gb_softplus_backward(gb_device *d, float *dinp, const float *dout, const float *inp, size_t n) {
    d->ops->softplus_backward(d, dinp, dout, inp, n);
}
static inline void gb_half_sq_error(gb_device *d, float *loss, float *dpred, const float *pred, const float *target, size_t rows, size_t cols) {
    d->ops->half_sq_error(d, loss, dpred, pred, target, rows, cols);
}
static inline void gb_adam_update(gb_device *d, float *params, const float *grads, float *m, float *v, size_t n, const gb_adam_hparams *hp, long step) {
    d->ops->adam_update(d, params, grads, m, v, n, hp, step);
}
static inline void gb_fill(gb_device *d, float *out, float value, size_t n) {
    d->ops->fill(d, out, value, n);
}
static inline void gb_add(gb_device *d, float *out, const float *a, const float *b, size_t n) {
    d->ops->add(d, out, a, b, n);
}
static inline void gb_mul(gb_device *d, float *out, const float *a, const float *b, size_t n) {
    d->ops->mul(d, out, a, b, n);
}
static inline void gb_axpy(gb_device *d, float *y, float alpha, const float *x, size_t n) {
    d->ops->axpy(d, y, alpha, x, n);
}
static inline void gb_scale_by(gb_device *d, float *out, float alpha, const float *inp, size_t n) {
    d->ops->scale_by(d, out, alpha, inp, n);
}
static inline void gb_activation_forward(gb_device *d, float *out, const float *inp, size_t n, const gb_activation *act) {
    d->ops->activation_forward(d, out, inp, n, act);
}
static inline void gb_activation_backward(gb_device *d, float *dinp, const float *dout, const float *inp, size_t n, const gb_activation *act) {
    d->ops->activation_backward(d, dinp, dout, inp, n, act);
}
static inline void gb_activation_jvp(gb_device *d, float *out_t, const float *inp, const float *inp_t, size_t n, const gb_activation *act) {
    d->ops->activation_jvp(d, out_t, inp, inp_t, n, act);
}
static inline void gb_activation_jvp_backward(gb_device *d, float *dinp, float *dinp_t, const float *dout, const float *dout_t, const float *inp, const float *inp_t, size_t n, const gb_activation *act) {
    d->ops->activation_jvp_backward(d, dinp, dinp_t, dout, dout_t, inp, inp_t, n, act);
}
static inline void gb_film_forward(gb_device *d, float *out, const float *inp, const float *scale, const float *shift, const gb_norm_shape *shape) {
    d->ops->film_forward(d, out, inp, scale, shift, shape);
}
static inline void gb_film_backward(gb_device *d, float *dinp, float *dscale, float *dshift, const float *dout, const float *inp, const float *scale, const gb_norm_shape *shape) {
    d->ops->film_backward(d, dinp, dscale, dshift, dout, inp, scale, shape);
}
static inline void gb_batchnorm_forward_train(gb_device *d, float *out, float *save_mean, float *save_rstd, float *running_mean, float *running_var, const float *inp, const float *gamma, const float *beta, const gb_norm_shape *shape, float momentum) {
    d->ops->batchnorm_forward_train(d, out, save_mean, save_rstd, running_mean, running_var, inp, gamma, beta, shape, momentum);
}
static inline void gb_batchnorm_backward_train(gb_device *d, float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp, const float *gamma, const float *save_mean, const float *save_rstd, const gb_norm_shape *shape) {
    d->ops->batchnorm_backward_train(d, dinp, dgamma, dbeta, dout, inp, gamma, save_mean, save_rstd, shape);
}
static inline void gb_batchnorm_forward_eval(gb_device *d, float *out, const float *inp, const float *gamma, const float *beta, const float *running_mean, const float *running_var, const gb_norm_shape *shape) {
    d->ops->batchnorm_forward_eval(d, out, inp, gamma, beta, running_mean, running_var, shape);
}
static inline void gb_batchnorm_backward_eval(gb_device *d, float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp, const float *gamma, const float *running_mean, const float *running_var, const gb_norm_shape *shape) {
    d->ops->batchnorm_backward_eval(d, dinp, dgamma, dbeta, dout, inp, gamma, running_mean, running_var, shape);
}
static inline void gb_groupnorm_forward(gb_device *d, float *out, float *save_mean, float *save_rstd, const float *inp, const float *gamma, const float *beta, const gb_norm_shape *shape) {
    d->ops->groupnorm_forward(d, out, save_mean, save_rstd, inp, gamma, beta, shape);
}
static inline void gb_groupnorm_backward(gb_device *d, float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp, const float *gamma, const float *save_mean, const float *save_rstd, const gb_norm_shape *shape) {
    d->ops->groupnorm_backward(d, dinp, dgamma, dbeta, dout, inp, gamma, save_mean, save_rstd, shape);
}
static inline void gb_layernorm_channels_forward(gb_device *d, float *out, float *save_mean, float *save_rstd, const float *inp, const float *gain, const gb_norm_shape *shape) {
    d->ops->layernorm_channels_forward(d, out, save_mean, save_rstd, inp, gain, shape);
}
static inline void gb_layernorm_channels_backward(gb_device *d, float *dinp, float *dgain, const float *dout, const float *inp, const float *gain, const float *save_mean, const float *save_rstd, const gb_norm_shape *shape) {
    d->ops->layernorm_channels_backward(d, dinp, dgain, dout, inp, gain, save_mean, save_rstd, shape);
}
static inline void gb_conv2d_forward(gb_device *d, float *out, const float *inp, const float *weight, const float *bias, const gb_conv_shape *shape) {
    d->ops->conv2d_forward(d, out, inp, weight, bias, shape);
}
static inline void gb_conv2d_backward(gb_device *d, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, const gb_conv_shape *shape) {
    d->ops->conv2d_backward(d, dinp, dweight, dbias, dout, inp, weight, shape);
}
static inline void gb_upsample_conv2d_forward(gb_device *d, float *out, const float *inp, const float *weight, const float *bias, const gb_conv_shape *shape) {
    d->ops->upsample_conv2d_forward(d, out, inp, weight, bias, shape);
}
static inline void gb_upsample_conv2d_backward(gb_device *d, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, const gb_conv_shape *shape) {
    d->ops->upsample_conv2d_backward(d, dinp, dweight, dbias, dout, inp, weight, shape);
}
static inline void gb_conv_transpose2d_forward(gb_device *d, float *out, const float *inp, const float *weight, const float *bias, const gb_conv_shape *shape) {
    d->ops->conv_transpose2d_forward(d, out, inp, weight, bias, shape);
}
static inline void gb_conv_transpose2d_backward(gb_device *d, float *dinp, float *dweight, float *dbias, const float *dout, const float *inp, const float *weight, const gb_conv_shape *shape) {
    d->ops->conv_transpose2d_backward(d, dinp, dweight, dbias, dout, inp, weight, shape);
}
static inline void gb_weight_standardize_forward(gb_device *d, float *out, float *save_rstd, const float *weight, int out_channels, int fan_in, float eps) {
    d->ops->weight_standardize_forward(d, out, save_rstd, weight, out_channels, fan_in, eps);
}
static inline void gb_weight_standardize_backward(gb_device *d, float *dweight, const float *dout, const float *out, const float *save_rstd, int out_channels, int fan_in) {
    d->ops->weight_standardize_backward(d, dweight, dout, out, save_rstd, out_channels, fan_in);
}
static inline void gb_maxpool2d_forward(gb_device *d, float *out, int32_t *argmax, const float *inp, const gb_pool_shape *shape) {
    d->ops->maxpool2d_forward(d, out, argmax, inp, shape);
}
static inline void gb_maxpool2d_backward(gb_device *d, float *dinp, const float *dout, const int32_t *argmax, const gb_pool_shape *shape) {
    d->ops->maxpool2d_backward(d, dinp, dout, argmax, shape);
}
static inline void gb_avgpool2d_forward(gb_device *d, float *out, const float *inp, const gb_pool_shape *shape) {
    d->ops->avgpool2d_forward(d, out, inp, shape);
}
static inline void gb_avgpool2d_backward(gb_device *d, float *dinp, const float *dout, const gb_pool_shape *shape) {
    d->ops->avgpool2d_backward(d, dinp, dout, shape);
}
static inline void gb_spatial_sum_forward(gb_device *d, float *out, const float *inp, size_t planes, size_t spatial, float scale) {
    d->ops->spatial_sum_forward(d, out, inp, planes, spatial, scale);
}
static inline void gb_spatial_sum_backward(gb_device *d, float *dinp, const float *dout, size_t planes, size_t spatial, float scale) {
    d->ops->spatial_sum_backward(d, dinp, dout, planes, spatial, scale);
}
static inline void gb_upsample_nearest2x_forward(gb_device *d, float *out, const float *inp, size_t planes, int height, int width) {
    d->ops->upsample_nearest2x_forward(d, out, inp, planes, height, width);
}
static inline void gb_upsample_nearest2x_backward(gb_device *d, float *dinp, const float *dout, size_t planes, int height, int width) {
    d->ops->upsample_nearest2x_backward(d, dinp, dout, planes, height, width);
}
static inline void gb_concat_channels_forward(gb_device *d, float *out, const float *a, const float *b, int batch, int ca, int cb, size_t spatial) {
    d->ops->concat_channels_forward(d, out, a, b, batch, ca, cb, spatial);
}
static inline void gb_concat_channels_backward(gb_device *d, float *da, float *db, const float *dout, int batch, int ca, int cb, size_t spatial) {
    d->ops->concat_channels_backward(d, da, db, dout, batch, ca, cb, spatial);
}
static inline void gb_squeeze2x_forward(gb_device *d, float *out, const float *inp, int batch, int channels, int height, int width) {
    d->ops->squeeze2x_forward(d, out, inp, batch, channels, height, width);
}
static inline void gb_unsqueeze2x_forward(gb_device *d, float *out, const float *inp, int batch, int channels, int height, int width) {
    d->ops->unsqueeze2x_forward(d, out, inp, batch, channels, height, width);
}
static inline void gb_softmax_forward(gb_device *d, float *out, const float *inp, size_t rows, size_t cols) {
    d->ops->softmax_forward(d, out, inp, rows, cols);
}
static inline void gb_softmax_backward(gb_device *d, float *dinp, const float *dout, const float *out, size_t rows, size_t cols) {
    d->ops->softmax_backward(d, dinp, dout, out, rows, cols);
}
static inline void gb_log_softmax_forward(gb_device *d, float *out, const float *inp, size_t rows, size_t cols) {
    d->ops->log_softmax_forward(d, out, inp, rows, cols);
}
static inline void gb_log_softmax_backward(gb_device *d, float *dinp, const float *dout, const float *out, size_t rows, size_t cols) {
    d->ops->log_softmax_backward(d, dinp, dout, out, rows, cols);
}
static inline void gb_logsumexp_forward(gb_device *d, float *out, const float *inp, size_t rows, size_t cols) {
    d->ops->logsumexp_forward(d, out, inp, rows, cols);
}
static inline void gb_logsumexp_backward(gb_device *d, float *dinp, const float *dout, const float *inp, const float *out, size_t rows, size_t cols) {
    d->ops->logsumexp_backward(d, dinp, dout, inp, out, rows, cols);
}
static inline void gb_sum_forward(gb_device *d, float *out, const float *inp, size_t n, float scale) {
    d->ops->sum_forward(d, out, inp, n, scale);
}
static inline void gb_sum_backward(gb_device *d, float *dinp, const float *dout, size_t n, float scale) {
    d->ops->sum_backward(d, dinp, dout, n, scale);
}
static inline void gb_attention_forward(gb_device *d, float *out, float *saved, const float *qkv, const gb_attention_shape *shape) {
    d->ops->attention_forward(d, out, saved, qkv, shape);
}
static inline void gb_attention_backward(gb_device *d, float *dqkv, const float *dout, const float *qkv, const float *saved, const gb_attention_shape *shape) {
    d->ops->attention_backward(d, dqkv, dout, qkv, saved, shape);
}
static inline void gb_linear_attention_forward(gb_device *d, float *out, float *saved, const float *qkv, const gb_attention_shape *shape) {
    d->ops->linear_attention_forward(d, out, saved, qkv, shape);
}
static inline void gb_linear_attention_backward(gb_device *d, float *dqkv, const float *dout, const float *qkv, const float *saved, const gb_attention_shape *shape) {
    d->ops->linear_attention_backward(d, dqkv, dout, qkv, saved, shape);
}
static inline void gb_bce_with_logits(gb_device *d, float *loss, float *dlogits, const float *logits, const float *target, float target_value, size_t n, float weight) {
    d->ops->bce_with_logits(d, loss, dlogits, logits, target, target_value, n, weight);
}
static inline void gb_sq_error(gb_device *d, float *loss, float *dpred, const float *pred, const float *target, float target_value, size_t n, double divisor) {
    d->ops->sq_error(d, loss, dpred, pred, target, target_value, n, divisor);
}
static inline void gb_cross_entropy(gb_device *d, float *loss, float *dlogits, const float *logits, const int32_t *labels, size_t rows, size_t classes, float weight) {
    d->ops->cross_entropy(d, loss, dlogits, logits, labels, rows, classes, weight);
}
static inline void gb_gaussian_kl(gb_device *d, float *loss, float *dmu, float *dlog_std, const float *mu, const float *log_std, size_t rows, size_t cols, float weight) {
    d->ops->gaussian_kl(d, loss, dmu, dlog_std, mu, log_std, rows, cols, weight);
}
static inline void gb_reparameterize_forward(gb_device *d, float *z, const float *mu, const float *log_std, const float *eps, size_t n) {
    d->ops->reparameterize_forward(d, z, mu, log_std, eps, n);
}
static inline void gb_reparameterize_backward(gb_device *d, float *dmu, float *dlog_std, const float *dz, const float *log_std, const float *eps, size_t n) {
    d->ops->reparameterize_backward(d, dmu, dlog_std, dz, log_std, eps, n);
}
static inline void gb_gradient_penalty(gb_device *d, float *loss, float *dg, const float *g, size_t rows, size_t cols, float lambda) {
    d->ops->gradient_penalty(d, loss, dg, g, rows, cols, lambda);
}
static inline void gb_clip_grad_norm(gb_device *d, float *grads, size_t n, float max_norm, float *total_norm) {
    d->ops->clip_grad_norm(d, grads, n, max_norm, total_norm);
}
static inline void gb_fourier_embedding_forward(gb_device *d, float *out, const float *t, const float *w, size_t n, size_t half) {
    d->ops->fourier_embedding_forward(d, out, t, w, n, half);
}
static inline void gb_fourier_embedding_backward(gb_device *d, float *dt, const float *dout, const float *t, const float *w, size_t n, size_t half) {
    d->ops->fourier_embedding_backward(d, dt, dout, t, w, n, half);
}
static inline void gb_sinusoidal_embedding_forward(gb_device *d, float *out, const float *t, size_t n, size_t dim) {
    d->ops->sinusoidal_embedding_forward(d, out, t, n, dim);
}
static inline void gb_sinusoidal_embedding_backward(gb_device *d, float *dt, const float *dout, const float *t, size_t n, size_t dim) {
    d->ops->sinusoidal_embedding_backward(d, dt, dout, t, n, dim);
}
static inline void gb_coupling_forward(gb_device *d, float *y, float *logdet, const float *x, const float *s, const float *t, const gb_coupling_shape *shape) {
    d->ops->coupling_forward(d, y, logdet, x, s, t, shape);
}
static inline void gb_coupling_backward(gb_device *d, float *dx, float *ds, float *dt, const float *dy, const float *dlogdet, const float *x, const float *s, const gb_coupling_shape *shape) {
    d->ops->coupling_backward(d, dx, ds, dt, dy, dlogdet, x, s, shape);
}
static inline void gb_coupling_inverse(gb_device *d, float *x, const float *y, const float *s, const float *t, const gb_coupling_shape *shape) {
    d->ops->coupling_inverse(d, x, y, s, t, shape);
}

#endif
