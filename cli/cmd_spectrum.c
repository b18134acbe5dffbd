/* cli/cmd_spectrum.c - `genbench spectrum A B`: the RMS log-spectral distance in dB between two
 * image sets (metrics/spectrum.h, "spectrum: genbench v1"), the up-convolution artefact check.
 *
 *   genbench spectrum A B [--csv FILE] [--device cpu|cuda|auto] [--threads N] [--data DIR]
 *       A, B: a folder of PNG/JPEG images (clean-fid's recursive listing, metrics/image_folder.h;
 *       decoded as Pillow's convert("RGB") does, metrics/fid_protocol.h: 3 planes of 0..255),
 *       a .zip archive of them (metrics/image_archive.h, read the same way),
 *       a .npy image array [n, c, h, w] or [n, h, w, c] of uint8 (0..255), float32 or float64
 *       (channels last when axis 3, and not axis 1, has 1 or 3 entries, as OpenAI's sample
 *       batches, or axis 3 at most 4 and axis 1 more; floats taken as they are, float64 rounded to float32, the spectrum's input
 *       type; non-finite values are refused naming the element), or a dataset split NAME:SPLIT[:N] from the data
 *       root (datasets/image_splits.h; uint8 planes with the dataset's own channel count; an
 *       existing path of that name wins, as for the Inception metric commands). Every image
 *       of both sets must have one size and both sets one channel count: the spectrum is
 *       defined at native resolution, nothing is resized. Prints one line per input, a line
 *       with the bins the distance uses and the definition tag, then the distance as the last
 *       line. --csv FILE writes the per-bin table
 *         k,count,power_a,power_b,ratio_db
 *       for every bin k = 0 .. n_bins-1 (DC and the corner bins beyond K too, though the
 *       distance uses only k = 1..K: a checkerboard's power sits in the last corner bin):
 *       count = full-plane frequencies in the bin, power_* = S(k) of each set, ratio_db =
 *       10 log10(power_a / power_b), empty where either power is 0; values "%.17g", so the
 *       doubles read back exactly. The file is written atomically (core/atomic_file.h) after
 *       the distance succeeded; on any error an existing FILE is left as it was.
 *
 * Work: images are read in blocks (at most SPEC_BLOCK images or SPEC_BLOCK_BYTES of pixels), so
 * a folder or an archive never sits in memory whole; an .npy is loaded whole by core/npy.h and converted a
 * block at a time. On the CPU each plane's spectrum comes from gb_spectrum_image and the planes
 * are added in plane order, then divided by the plane count: the very operations of
 * gb_spectrum_mean on the whole set (spectrum.c sums S(plane) into a zeroed accumulator in
 * plane order and divides once; gb_spectrum_image is that for one plane, where 0 + S and S / 1
 * are exact), so the result is bit-identical to one gb_spectrum_mean call. Within a block,
 * --threads slices of images decode and transform in parallel (kernels/cpu/parallel.h), each
 * slice with its own FFTW plan (plans are not shareable); the sum stays on the calling thread
 * in plane order, so any thread count gives the same bits. With --device cuda (or auto on a
 * GPU machine) the whole set goes to the GPU (n c h w floats: 600 MB for 50,000 CIFAR images;
 * a set larger than the GPU's free memory is exit 5 naming both sizes), block by block, and one
 * gb_cuda_spectrum_mean call transforms it (cuFFT: differs from the CPU by the FFTs'
 * rounding, ~1e-15 relative); the distance is computed on the host either way.
 * Exit codes: 0 ok, 2 usage, 3 bad input (missing, unreadable, mismatched or constant sets),
 * 5 environment (no GPU for --device cuda, --csv into a missing folder, out of memory).
 *
 * Compiled into tests/test_cmd_spectrum.c (with cli/cli_common.c, whose helpers it uses), which
 * checks the output against numpy (tests/peers/metrics_misc.py) and every error path.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/atomic_file.h"
#include "../core/csv.h"
#include "../core/log.h"
#include "../core/npy.h"
#include "../core/status.h"
#include "../datasets/image_splits.h"
#include "../datasets/registry.h"
#include "../kernels/cpu/parallel.h"
#include "../kernels/kernels.h"
#include "../metrics/fid_protocol.h"
#include "../metrics/image_archive.h"
#include "../metrics/image_folder.h"
#include "../metrics/spectrum.h"
#include "cli.h"
#ifdef GB_HAVE_CUDA
#include "../kernels/cuda/cuda_linalg.h"
#endif

enum { SPEC_BLOCK = 256 };
#define SPEC_BLOCK_BYTES ((size_t)64 << 20)
#define SPEC_DEFINITION "spectrum: genbench v1"

typedef enum { SET_FOLDER, SET_ARCHIVE, SET_NPY, SET_SPLIT } set_kind;

/* One input: a folder or a zip archive read image by image, or an .npy array or a dataset split
 * held whole. */
typedef struct {
    const char *path;
    set_kind kind;
    size_t n, c, h, w;  /* images [n, c, h, w] */
    char **files;       /* folder: [n] image paths in clean-fid's order */
    gb_image_archive *archive; /* archive: open, its images listed in clean-fid's order */
    char first[2048];   /* folder, archive: the first image ("dir/file", "archive:member") */
    gb_npy_array arr;   /* npy: the array as loaded */
    int channels_last;  /* npy: stored [n, h, w, c] */
    gb_image_set split; /* split: its first n images, uint8 [n, c, h, w] */
    size_t split_total; /* split: its size */
    double lo, hi;      /* the values' range: 0..255 for 8-bit data, else the array's */
} image_set;

static void image_set_free(image_set *s) {
    if (s->files) gb_image_list_free(s->files, s->n);
    gb_image_archive_close(s->archive);
    gb_npy_free(&s->arr);
    gb_image_set_free(&s->split);
    memset(s, 0, sizeof *s);
}

/* What the set's image size was read from: a folder's or an archive's first image, else the
 * input itself. */
static const char *size_source(const image_set *s) { return s->first[0] ? s->first : s->path; }

static int is_8bit(const image_set *s) { return s->kind != SET_NPY || s->arr.dtype == GB_NPY_U8; }

/* "folder", the split's identity, or the array's element type in numpy's words. */
static const char *set_kind_name(const image_set *s) {
    if (s->kind == SET_FOLDER) return "folder";
    if (s->kind == SET_ARCHIVE) return "zip archive";
    if (s->kind == SET_SPLIT) return s->split.identity;
    if (s->channels_last)
        return s->arr.dtype == GB_NPY_U8    ? "npy uint8 [n, h, w, c]"
               : s->arr.dtype == GB_NPY_F32 ? "npy float32 [n, h, w, c]"
                                            : "npy float64 [n, h, w, c]";
    return s->arr.dtype == GB_NPY_U8 ? "npy uint8" : s->arr.dtype == GB_NPY_F32 ? "npy float32" : "npy float64";
}

/* Decoded image i of a folder or an archive (RGB). */
static gb_status load_rgb(const image_set *s, size_t i, uint8_t **rgb, int *h, int *w) {
    return s->kind == SET_ARCHIVE ? gb_image_archive_load_rgb(s->archive, i, rgb, h, w)
                                  : gb_image_load_rgb(rgb, h, w, s->files[i]);
}

/* Lists the folder or the archive and decodes its first image for the size (both are read as
 * RGB). */
static gb_status open_files(image_set *s) {
    if (s->kind == SET_ARCHIVE) {
        GB_TRY(gb_image_archive_open(&s->archive, s->path));
        s->n = gb_image_archive_count(s->archive);
    } else {
        GB_TRY(gb_image_folder_list(&s->files, &s->n, s->path, GB_FID_CLEAN));
    }
    if (s->kind == SET_ARCHIVE)
        snprintf(s->first, sizeof s->first, "%s:%s", s->path, gb_image_archive_member(s->archive, 0));
    else
        snprintf(s->first, sizeof s->first, "%s", s->files[0]);
    uint8_t *rgb;
    int h, w;
    GB_TRY(load_rgb(s, 0, &rgb, &h, &w));
    free(rgb);
    s->c = 3;
    s->h = (size_t)h;
    s->w = (size_t)w;
    return GB_OK;
}

/* Floats must be finite (named by their index) and float32-representable: the range is
 * recorded for the description and the scale warning. */
static gb_status scan_float_values(image_set *s) {
    const gb_npy_array *a = &s->arr;
    const size_t *sh = a->shape, per_image = sh[1] * sh[2] * sh[3], per_row = sh[2] * sh[3];
    s->lo = INFINITY;
    s->hi = -INFINITY;
    for (size_t i = 0; i < a->count; i++) {
        double v = a->dtype == GB_NPY_F32 ? ((const float *)a->data)[i] : ((const double *)a->data)[i];
        if (!isfinite((float)v))
            return gb_fail(GB_INPUT, "%s: element [%zu, %zu, %zu, %zu] is %g: image values must be finite (and fit "
                                     "float32)",
                           s->path, i / per_image, i % per_image / per_row, i % per_row / sh[3], i % sh[3], v);
        if (v < s->lo) s->lo = v;
        if (v > s->hi) s->hi = v;
    }
    return GB_OK;
}

static gb_status open_npy(image_set *s) {
    GB_TRY(gb_npy_load(&s->arr, s->path));
    const gb_npy_array *a = &s->arr;
    if (a->ndim != 4)
        return gb_fail(GB_INPUT, "%s: an image array must be 4-D, [n, c, h, w] or [n, h, w, c] (got %d dimensions)",
                       s->path, a->ndim);
    if (a->dtype != GB_NPY_U8 && a->dtype != GB_NPY_F32 && a->dtype != GB_NPY_F64)
        return gb_fail(GB_INPUT, "%s: image arrays must be uint8 (0..255), float32 or float64 (got %s)", s->path,
                       gb_npy_descr(a->dtype));
    if (a->count == 0)
        return gb_fail(GB_INPUT, "%s: the image array [%zu, %zu, %zu, %zu] is empty", s->path, a->shape[0], a->shape[1],
                       a->shape[2], a->shape[3]);
    /* the channel axis: axis 3 when it, and not axis 1, holds 1 or 3 (the Inception commands'
     * rule, cli/metric_inputs.c), or when it holds at most 4 (RGBA) and axis 1 more; else
     * axis 1, with any channel count (the spectrum takes any) */
    const size_t *sh = a->shape;
    s->channels_last = ((sh[3] == 1 || sh[3] == 3) && !(sh[1] == 1 || sh[1] == 3)) || (sh[3] <= 4 && sh[1] > 4);
    s->n = sh[0];
    s->c = s->channels_last ? sh[3] : sh[1];
    s->h = s->channels_last ? sh[1] : sh[2];
    s->w = s->channels_last ? sh[2] : sh[3];
    return a->dtype == GB_NPY_U8 ? GB_OK : scan_float_values(s);
}

/* A dataset split's first N images (all of them without N), with its own channel count. */
static gb_status open_split(image_set *s, const char *data_root, int threads) {
    gb_image_split_ref ref;
    GB_TRY(gb_image_split_parse(&ref, s->path));
    GB_TRY(gb_image_split_load_ref(&s->split, &s->split_total, gb_data_root(data_root), &ref, threads));
    s->n = (size_t)s->split.count;
    s->c = (size_t)s->split.channels;
    s->h = (size_t)s->split.height;
    s->w = (size_t)s->split.width;
    return GB_OK;
}

static gb_status open_set(image_set *s, const char *path, const char *data_root, int threads) {
    memset(s, 0, sizeof *s);
    s->path = path;
    s->lo = 0;
    s->hi = 255;
    if (gb_cli_names_split(path)) {
        s->kind = SET_SPLIT;
        return open_split(s, data_root, threads);
    }
    const int folder = gb_cli_is_folder(path);
    if (folder || gb_cli_names_image_archive(path)) {
        s->kind = folder ? SET_FOLDER : SET_ARCHIVE;
        return open_files(s);
    }
    if (!gb_cli_has_suffix(path, ".npy"))
        return gb_fail(GB_INPUT,
                       "%s: expected a folder of PNG/JPEG images, a .zip of them or a .npy image array [n, c, h, w] "
                       "or [n, h, w, c]",
                       path);
    s->kind = SET_NPY;
    return open_npy(s);
}

/* Both sets of one channel count and one image size, with at least one complete ring. */
static gb_status check_sets(const image_set *a, const image_set *b) {
    if (a->c != b->c)
        return gb_fail(GB_INPUT, "%s has %zu channels per image but %s has %zu: a set's spectrum averages over its "
                                 "planes, so both sets need the same channels (folders are read as RGB, 3)",
                       a->path, a->c, b->path, b->c);
    if (a->h != b->h || a->w != b->w)
        return gb_fail(GB_INPUT, "%s is %zu x %zu (h x w) but %s is %zu x %zu: every image of both sets must have "
                                 "one size (the spectrum is defined at native resolution; nothing is resized)",
                       size_source(b), b->h, b->w, size_source(a), a->h, a->w);
    if (a->h < 3 || a->w < 3)
        return gb_fail(GB_INPUT, "%s: %zu x %zu images have no complete frequency ring beyond DC; the spectral "
                                 "distance needs both sides >= 3",
                       a->path, a->h, a->w);
    return GB_OK;
}

/* Image i of s as floats [c, h, w]. A folder image of another size than the first image of
 * set A (`ref`, h x w) is GB_INPUT naming both files and sizes. */
static gb_status load_image(const image_set *s, size_t i, float *out, const image_set *ref) {
    size_t chw = s->c * s->h * s->w;
    if (s->kind == SET_SPLIT) {
        for (size_t j = 0; j < chw; j++) out[j] = s->split.pixels[i * chw + j];
        return GB_OK;
    }
    if (s->kind == SET_NPY) {
        const gb_npy_array *a = &s->arr;
        if (s->channels_last) { /* planar out[ch, y, x] from stored [y, x, ch] */
            const size_t hw = s->h * s->w;
            for (size_t p = 0; p < hw; p++)
                for (size_t ch = 0; ch < s->c; ch++) {
                    size_t at = i * chw + p * s->c + ch;
                    out[ch * hw + p] = a->dtype == GB_NPY_U8    ? ((const uint8_t *)a->data)[at]
                                       : a->dtype == GB_NPY_F32 ? ((const float *)a->data)[at]
                                                                : (float)((const double *)a->data)[at];
                }
        } else if (a->dtype == GB_NPY_U8)
            for (size_t j = 0; j < chw; j++) out[j] = ((const uint8_t *)a->data)[i * chw + j];
        else if (a->dtype == GB_NPY_F32)
            memcpy(out, (const float *)a->data + i * chw, chw * sizeof *out);
        else
            for (size_t j = 0; j < chw; j++) out[j] = (float)((const double *)a->data)[i * chw + j];
        return GB_OK;
    }
    uint8_t *rgb;
    int h, w;
    GB_TRY(load_rgb(s, i, &rgb, &h, &w));
    gb_status st = GB_OK;
    if ((size_t)h != ref->h || (size_t)w != ref->w) {
        char name[2048];
        if (s->kind == SET_ARCHIVE)
            snprintf(name, sizeof name, "%s:%s", s->path, gb_image_archive_member(s->archive, i));
        else
            snprintf(name, sizeof name, "%s", s->files[i]);
        st = gb_fail(GB_INPUT, "%s is %d x %d (h x w) but %s is %zu x %zu: every image of both sets must have one "
                               "size (the spectrum is defined at native resolution; nothing is resized)",
                     name, h, w, size_source(ref), ref->h, ref->w);
    }
    else
        for (size_t j = 0; j < chw; j++) out[j] = rgb[j];
    free(rgb);
    return st;
}

/* ---- one set's spectrum ------------------------------------------------------------------ */

typedef struct {
    gb_status status;
    char message[2048]; /* gb_last_error of the slice's thread */
} slice_error;

/* A block of images [first, first + count) of a set, cut into --threads slices. */
typedef struct {
    const image_set *set, *ref;
    size_t first;
    gb_spectrum_plan **plans; /* [slices] CPU: one per slice */
    float **pix;              /* [slices] CPU: one image [c, h, w] per slice */
    double *plane_spec;       /* CPU: [count, c, n_bins] each plane's S(k) */
    size_t n_bins;
    float *staging;           /* CUDA: [count, c, h, w] the block's images; NULL on the CPU */
    slice_error *err;         /* [slices] */
} block_job;

static void block_slice(void *ctx, size_t begin, size_t end, int slice) {
    block_job *j = ctx;
    const image_set *s = j->set;
    size_t hw = s->h * s->w, chw = s->c * hw;
    for (size_t i = begin; i < end; i++) {
        float *img = j->staging ? j->staging + i * chw : j->pix[slice];
        gb_status st = load_image(s, j->first + i, img, j->ref);
        for (size_t ch = 0; st == GB_OK && !j->staging && ch < s->c; ch++) {
            st = gb_spectrum_image(j->plans[slice], j->plane_spec + (i * s->c + ch) * j->n_bins, img + ch * hw);
            if (st != GB_OK) gb_fail_wrap(st, "%s: image %zu, channel %zu", s->path, j->first + i, ch);
        }
        if (st != GB_OK) {
            /* the message slot is per thread: carry it back to the caller's */
            j->err[slice].status = st;
            snprintf(j->err[slice].message, sizeof j->err[slice].message, "%s", gb_last_error());
            return;
        }
    }
}

/* Runs the block on dev's threads; the failure of the earliest image wins (slices are
 * contiguous and ascending, and each stops at its first failure). */
static gb_status run_block(const gb_device *dev, block_job *j, size_t count, int slices) {
    for (int t = 0; t < slices; t++) j->err[t].status = GB_OK;
    gb_parallel_for(dev, count, 1, block_slice, j);
    for (int t = 0; t < slices; t++)
        if (j->err[t].status != GB_OK) return gb_fail(j->err[t].status, "%s", j->err[t].message);
    return GB_OK;
}

static size_t block_images(const image_set *s) {
    size_t bytes = s->c * s->h * s->w * sizeof(float);
    size_t b = SPEC_BLOCK_BYTES / bytes;
    if (b > SPEC_BLOCK) b = SPEC_BLOCK;
    if (b < 1) b = 1;
    return b < s->n ? b : s->n;
}

/* The CPU's per-slice state for one set: plans, pixel buffers, block spectra. */
typedef struct {
    int slices;
    gb_spectrum_plan **plans;
    float **pix;
    double *plane_spec;
    double *acc;
    slice_error *err;
} cpu_state;

static void cpu_state_free(cpu_state *c) {
    for (int t = 0; c->plans && t < c->slices; t++) gb_spectrum_plan_free(c->plans[t]);
    for (int t = 0; c->pix && t < c->slices; t++) free(c->pix[t]);
    free(c->plans);
    free(c->pix);
    free(c->plane_spec);
    free(c->acc);
    free(c->err);
}

static gb_status cpu_state_init(cpu_state *c, const image_set *s, int slices, size_t block, size_t n_bins) {
    memset(c, 0, sizeof *c);
    c->slices = slices;
    c->plans = calloc((size_t)slices, sizeof *c->plans);
    c->pix = calloc((size_t)slices, sizeof *c->pix);
    c->err = calloc((size_t)slices, sizeof *c->err);
    c->plane_spec = malloc(block * s->c * n_bins * sizeof *c->plane_spec);
    c->acc = calloc(n_bins, sizeof *c->acc);
    if (!c->plans || !c->pix || !c->err || !c->plane_spec || !c->acc)
        return gb_fail(GB_ENV, "spectrum: out of memory for %zu-image blocks of %s", block, s->path);
    /* FFTW's planner runs one thread at a time: every plan is made here, before the slices */
    for (int t = 0; t < slices; t++) {
        GB_TRY(gb_spectrum_plan_create(&c->plans[t], s->h, s->w));
        if (!(c->pix[t] = malloc(s->c * s->h * s->w * sizeof(float))))
            return gb_fail(GB_ENV, "spectrum: out of memory for %zu x %zu images", s->h, s->w);
    }
    return GB_OK;
}

/* spec [n_bins] = gb_spectrum_mean of the whole set, to the bit (see the header). */
static gb_status set_spectrum_cpu(const gb_device *dev, double *spec, const image_set *s, const image_set *ref,
                                  size_t n_bins) {
    size_t block = block_images(s);
    cpu_state c;
    gb_status st = cpu_state_init(&c, s, gb_parallel_slices(dev, block, 1), block, n_bins);
    block_job j = {.set = s, .ref = ref, .plans = c.plans, .pix = c.pix, .plane_spec = c.plane_spec,
                   .n_bins = n_bins, .err = c.err};
    for (size_t first = 0; first < s->n && st == GB_OK; first += block) {
        size_t count = s->n - first < block ? s->n - first : block;
        j.first = first;
        st = run_block(dev, &j, count, gb_parallel_slices(dev, count, 1));
        for (size_t p = 0; st == GB_OK && p < count * s->c; p++)
            for (size_t k = 0; k < n_bins; k++) c.acc[k] += c.plane_spec[p * n_bins + k];
    }
    for (size_t k = 0; st == GB_OK && k < n_bins; k++) spec[k] = c.acc[k] / (double)(s->n * s->c);
    cpu_state_free(&c);
    return st;
}

#ifdef GB_HAVE_CUDA
/* The set on the GPU, uploaded block by block (a float32 array in one copy), then one
 * gb_cuda_spectrum_mean. */
static gb_status set_spectrum_cuda(gb_device *dev, double *spec, const image_set *s, const image_set *ref) {
    size_t chw = s->c * s->h * s->w, block = block_images(s);
    const size_t bytes = s->n * chw * sizeof(float), free_bytes = gb_device_free_bytes(dev);
    if (bytes > free_bytes) /* the allocator would abort */
        return gb_fail(GB_ENV, "spectrum: the %zu images of %s need %.2f GB on the GPU, %.2f GB are free; run with "
                               "--device cpu", s->n, s->path, bytes / 1e9, free_bytes / 1e9);
    float *d = gb_dev_alloc(dev, bytes);
    gb_status st = GB_OK;
    if (s->kind == SET_NPY && s->arr.dtype == GB_NPY_F32 && !s->channels_last) {
        gb_upload(dev, d, s->arr.data, s->n * chw * sizeof *d);
    } else {
        int slices = gb_parallel_slices(dev, block, 1);
        slice_error *err = calloc((size_t)slices, sizeof *err);
        float *staging = malloc(block * chw * sizeof *staging);
        if (!err || !staging)
            st = gb_fail(GB_ENV, "spectrum: out of memory for %zu-image blocks of %s", block, s->path);
        block_job j = {.set = s, .ref = ref, .staging = staging, .err = err};
        for (size_t first = 0; first < s->n && st == GB_OK; first += block) {
            size_t count = s->n - first < block ? s->n - first : block;
            j.first = first;
            st = run_block(dev, &j, count, gb_parallel_slices(dev, count, 1));
            if (st == GB_OK) gb_upload(dev, d + first * chw, staging, count * chw * sizeof *d);
        }
        free(staging);
        free(err);
    }
    if (st == GB_OK) st = gb_cuda_spectrum_mean(dev, spec, d, s->n, s->c, s->h, s->w);
    gb_dev_free(dev, d);
    return st;
}
#endif

static gb_status set_spectrum(gb_device *dev, double *spec, const image_set *s, const image_set *ref, size_t n_bins) {
#ifdef GB_HAVE_CUDA
    if (strcmp(dev->ops->name, "cuda") == 0) return set_spectrum_cuda(dev, spec, s, ref);
#endif
    return set_spectrum_cpu(dev, spec, s, ref, n_bins);
}

/* ---- output ------------------------------------------------------------------------------- */

/* k,count,power_a,power_b,ratio_db per bin (the header comment says why every bin). */
static void write_table(FILE *fp, const gb_spectrum_plan *plan, const double *sa, const double *sb) {
    static const char *const header[] = {"k", "count", "power_a", "power_b", "ratio_db"};
    gb_csv_write_row(fp, header, 5);
    for (size_t k = 0; k < gb_spectrum_n_bins(plan); k++) {
        char kk[24], count[24], pa[32], pb[32], ratio[32] = "";
        snprintf(kk, sizeof kk, "%zu", k);
        snprintf(count, sizeof count, "%zu", gb_spectrum_bin_count(plan, k));
        snprintf(pa, sizeof pa, "%.17g", sa[k]);
        snprintf(pb, sizeof pb, "%.17g", sb[k]);
        if (sa[k] > 0 && sb[k] > 0) snprintf(ratio, sizeof ratio, "%.17g", 10.0 * log10(sa[k] / sb[k]));
        const char *row[] = {kk, count, pa, pb, ratio};
        gb_csv_write_row(fp, row, 5);
    }
}

static void describe_set(const char *label, const image_set *s) {
    const char *kind = set_kind_name(s);
    if (s->kind == SET_SPLIT)
        printf("%s: %s (%s, the first %zu of %zu images, sha256 %s, c = %zu, h = %zu, w = %zu, values 0..255)\n", label,
               s->path, kind, s->n, s->split_total, s->split.sha256[0] ? s->split.sha256 : "none", s->c, s->h, s->w);
    else if (is_8bit(s))
        printf("%s: %s (%s, n = %zu, c = %zu, h = %zu, w = %zu, values 0..255)\n", label, s->path, kind, s->n, s->c,
               s->h, s->w);
    else
        printf("%s: %s (%s, n = %zu, c = %zu, h = %zu, w = %zu, values %.6g..%.6g)\n", label, s->path, kind, s->n,
               s->c, s->h, s->w, s->lo, s->hi);
}

/* Power scales with the square of the values: a set in [0, 1] or [-1, 1] against one in
 * 0..255 differs by ~48 dB in every bin, which is a units mistake, not an artefact. */
static void warn_scale(const image_set *a, const image_set *b) {
    int unit_a = !is_8bit(a) && fmax(fabs(a->lo), fabs(a->hi)) <= 1.0;
    int unit_b = !is_8bit(b) && fmax(fabs(b->lo), fabs(b->hi)) <= 1.0;
    if (unit_a != unit_b)
        gb_warn("spectrum: %s holds values within [-1, 1] but %s does not (8-bit data is 0..255): the power scales "
                "with the square of the values, so the distance mostly measures the scale (20 log10 255 = 48 dB); "
                "bring both sets to one range first",
                unit_a ? a->path : b->path, unit_a ? b->path : a->path);
}

/* ---- the command ---------------------------------------------------------------------------- */

typedef struct {
    const char *paths[2];
    const char *csv, *device, *data_root;
    unsigned long long threads;
} spec_opts;

static gb_status parse_options(spec_opts *o, int argc, char **argv) {
    int n_paths = 0;
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (opt[0] != '-' || !opt[1]) {
            if (n_paths == 2) return gb_fail(GB_USAGE, "spectrum takes exactly two inputs (got a third: '%s')", opt);
            o->paths[n_paths++] = opt;
            continue;
        }
        if (strcmp(opt, "--csv") != 0 && strcmp(opt, "--device") != 0 && strcmp(opt, "--threads") != 0 &&
            strcmp(opt, "--data") != 0)
            return gb_fail(GB_USAGE, "unknown option '%s' (see genbench spectrum --help)", opt);
        /* `--csv --threads 2` is a missing value, not a table named "--threads" */
        if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1]))
            return gb_fail(GB_USAGE, "%s needs a value (see genbench spectrum --help)", opt);
        const char *v = argv[++i];
        if (strcmp(opt, "--csv") == 0) o->csv = v;
        else if (strcmp(opt, "--device") == 0) o->device = v;
        else if (strcmp(opt, "--data") == 0) {
            GB_TRY(gb_cli_check_dir_length(opt, v));
            o->data_root = v;
        }
        else GB_TRY(gb_cli_parse_u64(opt, v, &o->threads));
    }
    if (n_paths != 2) return gb_fail(GB_USAGE, "spectrum needs two inputs A and B (see genbench spectrum --help)");
    GB_TRY(gb_cli_check_output_not_input("--csv", o->csv, o->paths, 2));
    if (strcmp(o->device, "cpu") != 0 && strcmp(o->device, "cuda") != 0 && strcmp(o->device, "auto") != 0)
        return gb_fail(GB_USAGE, "--device: '%s' is not cpu, cuda or auto", o->device);
    if (o->threads == 0 || o->threads > 1024) return gb_fail(GB_USAGE, "--threads must be 1..1024");
    return GB_OK;
}

static void print_help(void) {
    printf("usage: genbench spectrum A B [--csv FILE] [--device cpu|cuda|auto] [--threads N] [--data DIR]\n"
           "  A, B                a folder of PNG/JPEG images (recursive, as clean-fid lists it; RGB 0..255)\n"
           "                      or a .zip archive of them,\n"
           "                      a .npy image array [n, c, h, w] or [n, h, w, c] (axis 3 of 1 or 3, or of at\n"
           "                      most 4 under a larger axis 1): uint8\n"
           "                      (0..255), float32 or float64\n"
           "                      (floats taken as they are), or a dataset split NAME:SPLIT[:N] (its first\n"
           "                      N images, uint8 with the dataset's own channels) of\n"
           "                      " GB_IMAGE_SPLIT_NAMES ";\n"
           "                      one image size and channel count throughout\n"
           "  --csv FILE          per-bin table k,count,power_a,power_b,ratio_db for every bin, DC and\n"
           "                      corners included (ratio_db = 10 log10(power_a/power_b), empty where a\n"
           "                      power is 0); written only when the distance succeeds\n"
           "  --device D          cpu (default: FFTW, the reference), cuda (cuFFT; the whole set in GPU\n"
           "                      memory; differs from cpu in the last bits) or auto (cuda when a GPU is present)\n"
           "  --threads N         CPU threads decoding and transforming images (default 2; same result for any N)\n"
           "  --data DIR          data root of the dataset splits (default $GB_DATA, else data/)\n"
           "mean azimuthal power spectrum of each set (" SPEC_DEFINITION ", metrics/spectrum.h); prints both\n"
           "inputs, the bins used, then the RMS log-spectral distance in dB over k = 1..K as the last line\n");
}

/* Both spectra, the distance and the table, once the inputs are open and agree. */
static gb_status compare_sets(const spec_opts *o, const image_set *a, const image_set *b) {
    gb_spectrum_plan *plan = NULL;
    GB_TRY(gb_spectrum_plan_create(&plan, a->h, a->w));
    size_t nb = gb_spectrum_n_bins(plan);
    double *sa = calloc(nb, sizeof *sa), *sb = calloc(nb, sizeof *sb), dist = 0.0;
    gb_atomic_file af = {0};
    gb_device dev;
    int dev_open = 0;
    gb_status st = sa && sb ? GB_OK : gb_fail(GB_ENV, "spectrum: out of memory");
    /* the output and the device first: a missing folder or GPU is found before the work */
    if (st == GB_OK && o->csv) st = gb_atomic_open(&af, o->csv);
    if (st == GB_OK) st = gb_device_open(&dev, o->device, (int)o->threads);
    dev_open = st == GB_OK;
    if (st == GB_OK) st = set_spectrum(&dev, sa, a, a, nb);
    if (st == GB_OK) st = set_spectrum(&dev, sb, b, a, nb);
    if (st == GB_OK && (st = gb_spectral_distance(&dist, plan, sa, sb)) != GB_OK)
        gb_fail_wrap(st, "set a = %s, set b = %s", a->path, b->path); /* the distance names only "set a/b" */
    if (st == GB_OK && o->csv) {
        write_table(af.fp, plan, sa, sb);
        st = gb_atomic_commit(&af);
    }
    if (st == GB_OK) {
        describe_set("A", a);
        describe_set("B", b);
        printf("bins: k = 1..%zu of 0..%zu (complete rings; DC and corners left out), %s, ",
               gb_spectrum_last_ring(plan), nb - 1, SPEC_DEFINITION);
        /* the CPU device's name speaks of OpenBLAS, which the spectrum does not use */
        if (strcmp(dev.ops->name, "cpu") == 0) printf("device cpu (%d threads)\n", dev.threads);
        else printf("device %s (%s)\n", dev.ops->name, dev.name);
        if (o->csv) printf("per-bin table written to %s\n", o->csv);
        printf("%.10g\n", dist);
    }
    gb_atomic_abort(&af);
    if (dev_open) gb_device_close(&dev);
    free(sa);
    free(sb);
    gb_spectrum_plan_free(plan);
    return st;
}

gb_status gb_cmd_spectrum(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        print_help();
        return GB_OK;
    }
    spec_opts o = {.device = "cpu", .threads = 2};
    GB_TRY(parse_options(&o, argc, argv));
    for (int k = 0; k < 2; k++) { /* both inputs exist before either is read */
        gb_image_split_ref ref;
        if (!gb_cli_names_split(o.paths[k])) GB_TRY(gb_cli_check_input(o.paths[k]));
        else {
            GB_TRY(gb_image_split_parse(&ref, o.paths[k]));
            GB_TRY(gb_image_split_check_present(gb_data_root(o.data_root), ref.dataset, ref.split));
        }
    }
    image_set a, b;
    gb_status st = open_set(&a, o.paths[0], o.data_root, (int)o.threads);
    if (st == GB_OK) st = open_set(&b, o.paths[1], o.data_root, (int)o.threads);
    else memset(&b, 0, sizeof b);
    if (st == GB_OK) st = check_sets(&a, &b);
    if (st == GB_OK) {
        warn_scale(&a, &b);
        st = compare_sets(&o, &a, &b);
    }
    image_set_free(&a);
    image_set_free(&b);
    return st;
}
