/* metrics/fid_file.c - FID statistics files: pytorch-fid's and clean-fid's .npz layouts, with
 * genbench's provenance members beside mu and sigma (see metrics/fid.h "Stats files"; tested
 * by tests/test_fid_stats.c and, for numpy's side, tests/test_cmd_fid_images.c). */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/npy.h"
#include "metrics/fid.h"

#define KEY_N "genbench_n"
#define KEY_PROTOCOL "genbench_protocol"
#define KEY_WEIGHTS "genbench_weights_sha256"

const char *gb_fid_layout_name(gb_fid_layout layout) {
    return layout == GB_FID_LAYOUT_CLEAN_FID ? "clean-fid" : "pytorch-fid";
}

gb_status gb_fid_stats_save(const char *path, const gb_fid_stats *s, gb_fid_layout layout) {
    size_t d = s->dim, sshape[2] = {d, d};
    float *mu32 = NULL;
    gb_npy_array arrays[5];
    const char *keys[5] = {"mu", "sigma"};
    size_t count = 2;
    if (layout == GB_FID_LAYOUT_CLEAN_FID) {
        mu32 = malloc(d * sizeof *mu32);
        if (!mu32) return gb_fail(GB_ENV, "out of memory");
        for (size_t i = 0; i < d; i++) mu32[i] = (float)s->mu[i];
        arrays[0] = gb_npy_view(GB_NPY_F32, 1, &d, mu32);
    } else {
        arrays[0] = gb_npy_view(GB_NPY_F64, 1, &d, s->mu);
    }
    arrays[1] = gb_npy_view(GB_NPY_F64, 2, sshape, s->sigma);
    int64_t n = (int64_t)s->n;
    size_t protocol_len = strlen(s->protocol), weights_len = strlen(s->weights_sha256);
    if (s->n) {
        keys[count] = KEY_N;
        arrays[count++] = gb_npy_view(GB_NPY_I64, 0, NULL, &n);
    }
    if (protocol_len) {
        keys[count] = KEY_PROTOCOL;
        arrays[count++] = gb_npy_view(GB_NPY_U8, 1, &protocol_len, (void *)s->protocol);
    }
    if (weights_len) {
        keys[count] = KEY_WEIGHTS;
        arrays[count++] = gb_npy_view(GB_NPY_U8, 1, &weights_len, (void *)s->weights_sha256);
    }
    gb_status st = gb_npz_save(path, keys, arrays, count, GB_NPZ_DEFLATED);
    free(mu32);
    return st;
}

/* A text member (uint8 [len] of printable ASCII, len < size) into out; "" when absent. */
static gb_status read_text(char *out, size_t size, const gb_npz *z, const char *key, const char *path) {
    out[0] = '\0';
    const gb_npy_array *a = gb_npz_find(z, key);
    if (!a) return GB_OK;
    const unsigned char *c = a->data;
    int ok = a->dtype == GB_NPY_U8 && a->ndim == 1 && a->shape[0] > 0 && a->shape[0] < size;
    for (size_t i = 0; ok && i < a->shape[0]; i++) ok = isprint(c[i]);
    if (!ok)
        return gb_fail(GB_INPUT, "%s: '%s' must be a uint8 array of 1 to %zu printable ASCII characters", path, key,
                       size - 1);
    memcpy(out, c, a->shape[0]);
    out[a->shape[0]] = '\0';
    return GB_OK;
}

/* The provenance members of z into out (already holding mu and sigma). */
static gb_status read_provenance(gb_fid_stats *out, const gb_npz *z, const char *path) {
    const gb_npy_array *n = gb_npz_find(z, KEY_N);
    if (n) {
        if (n->dtype != GB_NPY_I64 || n->ndim != 0 || *(const int64_t *)n->data < 1)
            return gb_fail(GB_INPUT, "%s: '%s' must be an int64 scalar >= 1 (the samples behind the statistics)", path,
                           KEY_N);
        out->n = (uint64_t)*(const int64_t *)n->data;
    }
    GB_TRY(read_text(out->protocol, sizeof out->protocol, z, KEY_PROTOCOL, path));
    GB_TRY(read_text(out->weights_sha256, sizeof out->weights_sha256, z, KEY_WEIGHTS, path));
    const char *w = out->weights_sha256;
    int ok = !w[0] || strlen(w) == 64;
    for (; ok && *w; w++) ok = isxdigit((unsigned char)*w) && !isupper((unsigned char)*w);
    if (!ok) return gb_fail(GB_INPUT, "%s: '%s' must hold 64 lowercase hex digits", path, KEY_WEIGHTS);
    return GB_OK;
}

gb_status gb_fid_stats_load(gb_fid_stats *out, const char *path, gb_fid_layout *layout) {
    return gb_fid_stats_load_keys(out, path, "mu", "sigma", layout);
}

gb_status gb_fid_stats_load_keys(gb_fid_stats *out, const char *path, const char *mu_key, const char *sigma_key,
                                 gb_fid_layout *layout) {
    memset(out, 0, sizeof *out);
    gb_npz z;
    /* only these members: a reference batch's images ('arr_0', gigabytes) are never read */
    const char *const keys[] = {mu_key, sigma_key, KEY_N, KEY_PROTOCOL, KEY_WEIGHTS};
    GB_TRY(gb_npz_load_keys(&z, path, keys, sizeof keys / sizeof keys[0]));
    const gb_npy_array *mu = gb_npz_find(&z, mu_key), *sg = gb_npz_find(&z, sigma_key);
    gb_status st = GB_OK;
    if (!mu || !sg) {
        st = gb_fail(GB_INPUT, "%s: FID stats need the keys '%s' and '%s' (as written by np.savez_compressed(path, "
                               "%s=mu, %s=sigma)); '%s' is missing",
                     path, mu_key, sigma_key, mu_key, sigma_key, mu ? sigma_key : mu_key);
    } else if ((mu->dtype != GB_NPY_F32 && mu->dtype != GB_NPY_F64) ||
               (sg->dtype != GB_NPY_F32 && sg->dtype != GB_NPY_F64)) {
        st = gb_fail(GB_INPUT, "%s: '%s' and '%s' must be float32 or float64 (got %s and %s)", path, mu_key, sigma_key,
                     gb_npy_descr(mu->dtype), gb_npy_descr(sg->dtype));
    } else if (mu->ndim != 1 || mu->shape[0] == 0) {
        st = gb_fail(GB_INPUT, "%s: '%s' must have shape (d,) with d >= 1 (it has %d dimensions)", path, mu_key,
                     mu->ndim);
    } else if (sg->ndim != 2 || sg->shape[0] != mu->shape[0] || sg->shape[1] != mu->shape[0]) {
        st = gb_fail(GB_INPUT, "%s: '%s' must have shape (%zu, %zu) to match '%s'", path, sigma_key, mu->shape[0],
                     mu->shape[0], mu_key);
    } else {
        size_t d = mu->shape[0];
        st = gb_fid_stats_alloc(out, d);
        if (st == GB_OK) {
            gb_npy_to_f64(out->mu, mu);
            gb_npy_to_f64(out->sigma, sg);
            st = gb_fid_check_finite(out->mu, d, mu_key, 0);
            if (st == GB_OK) st = gb_fid_check_finite(out->sigma, d * d, sigma_key, d);
            if (st != GB_OK) gb_fail_wrap(st, "%s", path);
        }
        if (st == GB_OK) st = read_provenance(out, &z, path);
        if (st == GB_OK) {
            if (strcmp(mu_key, "mu") == 0) snprintf(out->label, sizeof out->label, "%s", path);
            else snprintf(out->label, sizeof out->label, "%s ('%s')", path, sigma_key);
            double asym = 0.0, big = 0.0;
            for (size_t i = 0; i < d; i++)
                for (size_t j = i; j < d; j++) {
                    double a = out->sigma[i * d + j], b = out->sigma[j * d + i];
                    if (fabs(a - b) > asym) asym = fabs(a - b);
                    if (fabs(a) > big) big = fabs(a);
                    out->sigma[i * d + j] = out->sigma[j * d + i] = 0.5 * (a + b);
                }
            /* rounding-size asymmetry (a covariance formed in float32) is averaged away with a
             * warning; more than 1e-3 of the largest entry is no covariance */
            if (asym > 1e-3 * big)
                st = gb_fail(GB_INPUT,
                             "%s: '%s' is not symmetric (largest |S - S^T| %.3g, largest |S| %.3g): not a covariance "
                             "matrix",
                             path, sigma_key, asym, big);
            else if (asym > 1e-6 * big)
                gb_warn("%s: '%s' is not symmetric (largest |S - S^T| %.3g, largest |S| %.3g); using (S + S^T) / 2",
                        path, sigma_key, asym, big);
        }
        if (st == GB_OK) {
            if (layout) *layout = mu->dtype == GB_NPY_F32 ? GB_FID_LAYOUT_CLEAN_FID : GB_FID_LAYOUT_PYTORCH_FID;
        } else {
            gb_fid_stats_free(out);
        }
    }
    gb_npz_free(&z);
    return st;
}

int gb_fid_stats_warn_mismatch(const gb_fid_stats *a, const char *label_a, const gb_fid_stats *b,
                               const char *label_b) {
    int warned = 0;
    if (a->protocol[0] && b->protocol[0] && strcmp(a->protocol, b->protocol) != 0) {
        gb_warn("%s was computed under the image protocol %s but %s under %s: the preprocessing moves FID by "
                "10-28%% on CIFAR-10, so this FID compares protocols as much as images",
                label_a, a->protocol, label_b, b->protocol);
        warned++;
    }
    if (a->weights_sha256[0] && b->weights_sha256[0] && strcmp(a->weights_sha256, b->weights_sha256) != 0) {
        gb_warn("%s and %s come from different Inception weights (sha256 %.16s... and %.16s...): their features are "
                "not comparable",
                label_a, label_b, a->weights_sha256, b->weights_sha256);
        warned++;
    }
    return warned;
}
