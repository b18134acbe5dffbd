/* metrics/inception_features.c - image folders and in-memory images through the FID Inception
 * network (read inception_features.h first). */
#include "metrics/inception_features.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/progress.h"
#include "kernels/cpu/parallel.h"
#include "metrics/image_folder.h"

#define S GB_INCEPTION_SIZE

/* Where the images come from: the files of a folder or the members of a zip archive (decoded
 * here), or pixels in memory. */
typedef struct image_source {
    size_t count;
    char label[256]; /* the progress line's (a path's last component) */
    gb_fid_protocol protocol;
    /* image i -> its network input [3, 299, 299]; called on worker threads. raw: a streamed
     * source's bytes of image i (read in order before its batch is prepared), else NULL */
    gb_status (*prepare)(const struct image_source *src, size_t i, const uint8_t *raw, float *input);
    char **paths; /* a folder's files */
    gb_image_archive *archive; /* a zip archive's images */
    const uint8_t *pixels; /* in memory: [count, channels, h, w], or [count, h, w, channels] */
    gb_npy_stream *stream; /* or read from an array file, batch by batch, in the same layouts */
    int channels, h, w, channels_last;
    const char *name; /* names the images in errors: the folder, or the caller's label */
} image_source;

/* One image file -> its network input (decode, then the protocol's resize and scaling). */
static gb_status prepare_file(const image_source *src, size_t i, const uint8_t *raw, float *input) {
    (void)raw;
    uint8_t *img;
    int h, w;
    GB_TRY(gb_image_load_rgb(&img, &h, &w, src->paths[i]));
    gb_status s = gb_fid_preprocess_u8(src->protocol, input, img, h, w);
    free(img);
    return s;
}

/* One image of a zip archive -> its network input, as a file's. */
static gb_status prepare_member(const image_source *src, size_t i, const uint8_t *raw, float *input) {
    (void)raw;
    uint8_t *img;
    int h, w;
    GB_TRY(gb_image_archive_load_rgb(src->archive, i, &img, &h, &w));
    gb_status s = gb_fid_preprocess_u8(src->protocol, input, img, h, w);
    free(img);
    return s;
}

/* One uint8 image (image i of its source) -> its network input. An [h, w, c] image is made
 * planar and grey is repeated into three planes first, one image at a time: a 50,000-image
 * array of 256 x 256 (9.8 GB) is never copied whole. */
static gb_status prepare_u8(const image_source *src, size_t i, const uint8_t *img, float *input) {
    const size_t plane = (size_t)src->h * src->w, c_n = (size_t)src->channels;
    uint8_t *rgb = NULL;
    if (src->channels == 1 || src->channels_last) {
        if (!(rgb = malloc(3 * plane))) return gb_fail(GB_ENV, "out of memory preparing %s image %zu", src->name, i);
        for (size_t c = 0; c < 3; c++) {
            const size_t from = c_n == 1 ? 0 : c; /* grey: every plane from channel 0 */
            if (src->channels_last)
                for (size_t p = 0; p < plane; p++) rgb[c * plane + p] = img[p * c_n + from];
            else memcpy(rgb + c * plane, img + from * plane, plane);
        }
        img = rgb;
    }
    gb_status s = gb_fid_preprocess_u8(src->protocol, input, img, src->h, src->w);
    free(rgb);
    return s == GB_OK ? s : gb_fail_wrap(s, "%s image %zu", src->name, i);
}

static size_t image_bytes(const image_source *src) { return (size_t)src->h * src->w * (size_t)src->channels; }

/* An image of an array in memory. */
static gb_status prepare_pixels(const image_source *src, size_t i, const uint8_t *raw, float *input) {
    (void)raw;
    return prepare_u8(src, i, src->pixels + i * image_bytes(src), input);
}

/* An image of a streamed array: its bytes were read with its batch. */
static gb_status prepare_streamed(const image_source *src, size_t i, const uint8_t *raw, float *input) {
    return prepare_u8(src, i, raw, input);
}

/* A batch's images prepared in parallel: decoding costs about 0.6 ms an image on the host
 * (clean protocol, 32x32 PNGs), 30 s for 50,000 images on one core, more than the GPU's whole
 * forward. Each image has its own input slot and status, so the result does not depend on the
 * threads. */
typedef struct {
    const image_source *src;
    size_t first;
    float *inputs; /* [batch, 3, 299, 299] */
    gb_status *status;
    uint8_t *raw;  /* a streamed source's batch of images as read, else NULL */
} prepare_job;

/* The raw bytes of image `at` of a job's batch (NULL unless streamed). */
static const uint8_t *job_raw(const prepare_job *j, size_t at) {
    return j->raw ? j->raw + at * image_bytes(j->src) : NULL;
}

static void prepare_slice(void *ctx, size_t begin, size_t end, int slice) {
    (void)slice;
    const prepare_job *j = ctx;
    const size_t in_floats = 3 * (size_t)S * S;
    for (size_t i = begin; i < end; i++)
        j->status[i] = j->src->prepare(j->src, j->first + i, job_raw(j, i), j->inputs + i * in_floats);
}

/* A batch of count images: a streamed source's bytes read (in order: batches are read one
 * after another), then every image prepared on the device's threads. GB_OK, or the read's
 * error; the images' own statuses are in j->status. */
static gb_status prepare_batch(gb_inception *net, const prepare_job *j, size_t count) {
    if (j->raw) GB_TRY(gb_npy_stream_read(j->src->stream, j->raw, count * image_bytes(j->src)));
    gb_parallel_for(net->dev, count, 1, prepare_slice, (void *)j);
    return GB_OK;
}

/* One batch prepared on its own thread, while the caller runs the network on the previous
 * batch (gb_parallel_for from two threads is safe: the second caller runs inline). */
typedef struct {
    gb_inception *net;
    prepare_job job;
    size_t count;
    pthread_t thread;
    gb_status read_status; /* prepare_batch's */
    char read_error[2048]; /* its message: the error text is per thread */
} prepare_task;

static void *prepare_task_main(void *arg) {
    prepare_task *t = arg;
    t->read_status = prepare_batch(t->net, &t->job, t->count);
    if (t->read_status != GB_OK) snprintf(t->read_error, sizeof t->read_error, "%s", gb_last_error());
    return NULL;
}

static void clear_wanted(const gb_fid_wanted *want) {
    if (want->pool) *want->pool = NULL;
    if (want->logits) *want->logits = NULL;
    if (want->spatial) *want->spatial = NULL;
}

static gb_status source_outputs(const gb_fid_wanted *want, gb_inception *net, const image_source *src, int overlap) {
    clear_wanted(want);
    const size_t count = src->count, in_floats = 3 * (size_t)S * S, mb = net->max_batch;
    overlap = overlap && count > mb; /* one batch has nothing to overlap with */
    /* the forward always writes the features (pool3 when logits or sFID's rows are asked for);
     * a caller that does not keep them gets one batch's worth, overwritten batch by batch */
    const int keep_pool = want->pool != NULL;
    size_t pool_rows = keep_pool ? count : mb;
    const size_t dims = (size_t)net->dims; /* pool3's 2048, an earlier block's or sFID's (gb_inception_set_dims) */
    if ((want->logits || want->spatial) && dims != GB_INCEPTION_FEATURES)
        return gb_fail(GB_USAGE, "%s: %s needs the 2048-d pool3 features (not %zu)", src->name,
                       want->logits ? "the Inception logits" : "sFID's features beside pool3", dims);
    float *feats = malloc(pool_rows * dims * sizeof *feats);
    float *lg = want->logits ? malloc(count * GB_INCEPTION_CLASSES * sizeof *lg) : NULL;
    float *sp = want->spatial ? malloc(count * GB_INCEPTION_SPATIAL * sizeof *sp) : NULL;
    /* inputs and statuses: one batch, or two in turn when preparing overlaps the forward */
    const int slots = overlap ? 2 : 1;
    /* page-locked on a GPU: 536 MB per batch of 500 goes up at the bus's full rate */
    float *batch = gb_device_host_alloc(net->dev, slots * mb * in_floats * sizeof *batch);
    gb_status *image_status = malloc(slots * mb * sizeof *image_status);
    /* a streamed source's raw images: one batch per slot */
    uint8_t *raw = src->stream ? malloc(slots * mb * image_bytes(src)) : NULL;
    gb_status s = feats && batch && image_status && (lg || !want->logits) && (sp || !want->spatial) &&
                          (raw || !src->stream)
                      ? GB_OK
                      : gb_fail(GB_ENV, "%s: out of memory for %zu images' outputs", src->name, count);
    prepare_task next = {.net = net};
    int next_running = 0;
    /* progress on stderr when there is more than one batch (50,000 images take an hour on 2
     * CPU cores) */
    gb_progress prog;
    const int report = count > mb;
    if (report) {
        char label[96];
        const char *base = strrchr(src->label, '/'); /* a path's last component */
        snprintf(label, sizeof label, "Inception on %.80s", base && base[1] ? base + 1 : src->label);
        gb_progress_start(&prog, label, count);
    }
    for (size_t start = 0; start < count && s == GB_OK; start += mb) {
        const size_t b = count - start < mb ? count - start : mb, slot = (start / mb) % (size_t)slots;
        const prepare_job job = {src, start, batch + slot * mb * in_floats, image_status + slot * mb,
                                 raw ? raw + slot * mb * image_bytes(src) : NULL};
        if (next_running) { /* this batch was prepared during the previous forward */
            pthread_join(next.thread, NULL);
            next_running = 0;
            if ((s = next.read_status) != GB_OK) gb_fail(s, "%s", next.read_error);
        } else {
            s = prepare_batch(net, &job, b);
        }
        for (size_t i = 0; i < b && s == GB_OK; i++)
            if (job.status[i] != GB_OK) /* the earliest bad image; its message was set on a worker */
                s = src->prepare(src, start + i, job_raw(&job, i), job.inputs + i * in_floats);
        if (s != GB_OK) break;
        const size_t after = start + b;
        if (overlap && after < count) {
            const size_t other = (slot + 1) % 2;
            next.job = (prepare_job){src, after, batch + other * mb * in_floats, image_status + other * mb,
                                     raw ? raw + other * mb * image_bytes(src) : NULL};
            next.count = count - after < mb ? count - after : mb;
            next_running = pthread_create(&next.thread, NULL, prepare_task_main, &next) == 0;
        }
        gb_inception_forward_taps(net, feats + (keep_pool ? start : 0) * dims,
                                  lg ? lg + start * GB_INCEPTION_CLASSES : NULL,
                                  sp ? sp + start * GB_INCEPTION_SPATIAL : NULL, job.inputs, b);
        if (report) {
            char note[48];
            snprintf(note, sizeof note, "%.1f images/s", (double)after / (gb_now_seconds() - prog.started));
            gb_progress_update(&prog, after, note);
        }
    }
    if (report && s == GB_OK) gb_progress_finish(&prog, NULL);
    else if (report && prog.tty) fputc('\n', stderr); /* the error message starts on its own line */
    if (next_running) pthread_join(next.thread, NULL); /* defensive: the next iteration joins every task */
    gb_device_host_free(net->dev, batch);
    free(image_status);
    free(raw);
    if (s != GB_OK || !keep_pool) free(feats);
    if (s != GB_OK) {
        free(lg);
        free(sp);
        return s;
    }
    if (keep_pool) *want->pool = feats;
    if (want->logits) *want->logits = lg;
    if (want->spatial) *want->spatial = sp;
    return GB_OK;
}

static gb_status files_outputs(const gb_fid_wanted *want, gb_inception *net, char **paths, size_t count,
                               gb_fid_protocol p, const char *label, int overlap) {
    image_source src = {.count = count, .protocol = p, .prepare = prepare_file, .paths = paths, .name = label};
    snprintf(src.label, sizeof src.label, "%s", label);
    return source_outputs(want, net, &src, overlap);
}

gb_status gb_fid_folder_outputs_overlap(float **pool, float **logits, size_t *n, gb_inception *net, const char *dir,
                                        gb_fid_protocol p, int overlap) {
    if (pool) *pool = NULL;
    if (logits) *logits = NULL;
    *n = 0;
    char **paths;
    size_t count;
    GB_TRY(gb_image_folder_list(&paths, &count, dir, p));
    gb_status s = files_outputs(&(gb_fid_wanted){.pool = pool, .logits = logits}, net, paths, count, p, dir, overlap);
    if (s == GB_OK) *n = count;
    gb_image_list_free(paths, count);
    return s;
}

/* On a GPU the host prepares the next batch while the network runs; on the CPU both would share
 * the same cores, so the batches alternate. */
static int overlap_on(const gb_inception *net) { return strcmp(net->dev->ops->name, "cpu") != 0; }

gb_status gb_fid_files_outputs(const gb_fid_wanted *want, gb_inception *net, char **paths, size_t count,
                               gb_fid_protocol p, const char *label) {
    return files_outputs(want, net, paths, count, p, label, overlap_on(net));
}

gb_status gb_fid_folder_outputs(float **pool, float **logits, size_t *n, gb_inception *net, const char *dir,
                                gb_fid_protocol p) {
    return gb_fid_folder_outputs_overlap(pool, logits, n, net, dir, p, overlap_on(net));
}

gb_status gb_fid_folder_features(float **features, size_t *n, gb_inception *net, const char *dir, gb_fid_protocol p) {
    return gb_fid_folder_outputs(features, NULL, n, net, dir, p);
}

gb_status gb_fid_archive_outputs(const gb_fid_wanted *want, gb_inception *net, gb_image_archive *archive,
                                 gb_fid_protocol p, const char *label) {
    image_source src = {.count = gb_image_archive_count(archive), .protocol = p, .prepare = prepare_member,
                        .archive = archive, .name = label};
    snprintf(src.label, sizeof src.label, "%s", label);
    return source_outputs(want, net, &src, overlap_on(net));
}

/* GB_INPUT unless there is at least one image of 1 or 3 channels. */
static gb_status check_images(size_t count, int channels, int h, int w, const char *label) {
    if (count == 0 || (channels != 1 && channels != 3) || h < 1 || w < 1)
        return gb_fail(GB_INPUT, "%s: %zu images of %d x %d x %d: expected at least one image of 1 or 3 channels",
                       label, count, channels, h, w);
    return GB_OK;
}

gb_status gb_fid_images_outputs(const gb_fid_wanted *want, gb_inception *net, const uint8_t *pixels, size_t count,
                                int channels, int h, int w, int channels_last, gb_fid_protocol p, const char *label) {
    clear_wanted(want);
    GB_TRY(check_images(count, channels, h, w, label));
    image_source src = {.count = count, .protocol = p, .prepare = prepare_pixels, .pixels = pixels,
                        .channels = channels, .h = h, .w = w, .channels_last = channels_last, .name = label};
    snprintf(src.label, sizeof src.label, "%s", label);
    return source_outputs(want, net, &src, overlap_on(net));
}

gb_status gb_fid_stream_outputs(const gb_fid_wanted *want, gb_inception *net, gb_npy_stream *stream, size_t count,
                                int channels, int h, int w, int channels_last, gb_fid_protocol p, const char *label) {
    clear_wanted(want);
    GB_TRY(check_images(count, channels, h, w, label));
    image_source src = {.count = count, .protocol = p, .prepare = prepare_streamed, .stream = stream,
                        .channels = channels, .h = h, .w = w, .channels_last = channels_last, .name = label};
    snprintf(src.label, sizeof src.label, "%s", label);
    GB_TRY(source_outputs(want, net, &src, overlap_on(net)));
    gb_status s = gb_npy_stream_finish(stream); /* every image read: the member's CRC-32 is checked now */
    if (s != GB_OK) {
        float **kept[3] = {want->pool, want->logits, want->spatial};
        for (int k = 0; k < 3; k++)
            if (kept[k]) {
                free(*kept[k]);
                *kept[k] = NULL;
            }
    }
    return s;
}
