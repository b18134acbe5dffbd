/* datasets/cub.c - CUB-200-2011 index, per-image decode + resize, threaded loaders
 * (datasets/cub.h). Tested by tests/test_datasets_images.c. */
#include "datasets/cub.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/atomic_file.h"
#include "core/sha256.h"
#include "datasets/jpeg.h"
#include "datasets/resize.h"

const gb_published_file gb_cub_archive = {
    "CUB_200_2011.tgz", "97eceeb196236b17998738112f37df78",
    "0c685df5597a8b24909f6a7c9db6d11e008733779a671760afef78feb49bf081", 1150585339};

const char *const gb_cub_cmu_deleted[8] = {
    "Clark_Nutcracker_0020_85099.jpg", "Pelagic_Cormorant_0022_23802.jpg", "Mallard_0130_76836.jpg",
    "White_Necked_Raven_0070_102645.jpg", "Western_Gull_0002_54825.jpg", "Brewer_Blackbird_0028_2682.jpg",
    "Ivory_Gull_0040_49180.jpg", "Ivory_Gull_0085_49456.jpg"};

/* ------------------------------------------------------------------ index files */

/* "<id> <rest>" lines; CR before LF and blank lines are tolerated. */
typedef struct {
    char *text, *at;
    int line;
    const char *path;
} gb_lines;

static int gb_lines_next(gb_lines *l, long *id, char **rest) {
    while (*l->at) {
        char *line = l->at, *nl = strchr(line, '\n');
        l->at = nl ? nl + 1 : line + strlen(line);
        if (nl) *nl = 0;
        l->line++;
        size_t len = strlen(line);
        if (len && line[len - 1] == '\r') line[--len] = 0;
        if (len == 0) continue;
        char *end;
        errno = 0;
        *id = strtol(line, &end, 10);
        if (end == line || *end != ' ' || errno) {
            *id = -1;
            *rest = line;
        } else {
            *rest = end + 1;
        }
        return 1;
    }
    return 0;
}

static gb_status gb_lines_open(gb_lines *l, const char *dir, const char *name, char **path_out) {
    char *path = gb_path_join(dir, name);
    unsigned char *data;
    size_t n;
    gb_status s = gb_read_file(path, &data, &n);
    if (s != GB_OK) {
        free(path);
        return gb_fail_wrap(s, "CUB-200-2011 index file missing or unreadable (extract CUB_200_2011.tgz)");
    }
    l->text = l->at = (char *)data;
    l->line = 0;
    l->path = path;
    *path_out = path;
    return GB_OK;
}

/* An integer field (the second column) in [lo, hi]. */
static gb_status gb_parse_field(const gb_lines *l, const char *text, long lo, long hi, long *v) {
    char *end;
    errno = 0;
    *v = strtol(text, &end, 10);
    if (end == text || *end != 0 || errno || *v < lo || *v > hi)
        return gb_fail(GB_INPUT, "%s line %d: value '%s' is not an integer in %ld..%ld", l->path, l->line,
                       text, lo, hi);
    return GB_OK;
}

static gb_status gb_bad_id(const gb_lines *l, long id, int count) {
    if (id < 0) return gb_fail(GB_INPUT, "%s line %d: expected '<id> <value>'", l->path, l->line);
    return gb_fail(GB_INPUT, "%s line %d: id %ld is outside 1..%d (the ids listed in images.txt)", l->path,
                   l->line, id, count);
}

void gb_cub_index_free(gb_cub_index *x) {
    if (!x) return;
    for (int i = 0; x->paths && i < x->count; i++) free(x->paths[i]);
    for (int i = 0; x->class_names && i < x->num_classes; i++) free(x->class_names[i]);
    free(x->paths);
    free(x->labels);
    free(x->is_train);
    free(x->class_names);
    free(x->images_dir);
    memset(x, 0, sizeof *x);
}

/* Count non-blank lines, to size the id tables before parsing. */
static int gb_count_lines(const char *text) {
    int n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 1 || (len == 1 && p[0] != '\r')) n++;
        p = nl ? nl + 1 : p + len;
    }
    return n;
}

static gb_status gb_read_classes(gb_cub_index *x, const char *dir) {
    gb_lines l = {0};
    char *path = NULL;
    GB_TRY(gb_lines_open(&l, dir, "classes.txt", &path));
    int n = gb_count_lines(l.text);
    x->class_names = calloc((size_t)n + 1, sizeof *x->class_names);
    GB_ASSERT(x->class_names, "out of memory");
    x->num_classes = n;
    gb_status s = GB_OK;
    long id;
    char *rest;
    while (s == GB_OK && gb_lines_next(&l, &id, &rest)) {
        if (id < 1 || id > n) s = gb_bad_id(&l, id, n);
        else if (x->class_names[id - 1])
            s = gb_fail(GB_INPUT, "%s line %d: class id %ld listed twice", path, l.line, id);
        else {
            x->class_names[id - 1] = strdup(rest);
            GB_ASSERT(x->class_names[id - 1], "out of memory");
        }
    }
    free(l.text);
    free(path);
    return s;
}

static gb_status gb_read_images(gb_cub_index *x, const char *dir) {
    gb_lines l = {0};
    char *path = NULL;
    GB_TRY(gb_lines_open(&l, dir, "images.txt", &path));
    int n = gb_count_lines(l.text);
    x->paths = calloc((size_t)n + 1, sizeof *x->paths);
    x->labels = malloc(((size_t)n + 1) * sizeof *x->labels);
    x->is_train = malloc((size_t)n + 1);
    GB_ASSERT(x->paths && x->labels && x->is_train, "out of memory");
    x->count = n;
    for (int i = 0; i < n; i++) {
        x->labels[i] = -1;
        x->is_train[i] = 255;
    }
    gb_status s = GB_OK;
    long id;
    char *rest;
    while (s == GB_OK && gb_lines_next(&l, &id, &rest)) {
        if (id < 1 || id > n) s = gb_bad_id(&l, id, n);
        else if (x->paths[id - 1])
            s = gb_fail(GB_INPUT, "%s line %d: image id %ld listed twice", path, l.line, id);
        else if (!*rest || strstr(rest, ".."))
            s = gb_fail(GB_INPUT, "%s line %d: image path '%s' is empty or leaves the images folder",
                        path, l.line, rest);
        else {
            x->paths[id - 1] = strdup(rest);
            GB_ASSERT(x->paths[id - 1], "out of memory");
        }
    }
    free(l.text);
    free(path);
    return s;
}

/* image_class_labels.txt (which = 0) or train_test_split.txt (which = 1): one value per id. */
static gb_status gb_read_per_image(gb_cub_index *x, const char *dir, const char *name, int which) {
    gb_lines l = {0};
    char *path = NULL;
    GB_TRY(gb_lines_open(&l, dir, name, &path));
    gb_status s = GB_OK;
    long id, v;
    char *rest;
    while (s == GB_OK && gb_lines_next(&l, &id, &rest)) {
        if (id < 1 || id > x->count) {
            s = gb_bad_id(&l, id, x->count);
        } else if (which == 0) {
            s = gb_parse_field(&l, rest, 1, x->num_classes, &v);
            if (s == GB_OK && x->labels[id - 1] >= 0)
                s = gb_fail(GB_INPUT, "%s line %d: image id %ld listed twice", path, l.line, id);
            if (s == GB_OK) x->labels[id - 1] = (int32_t)(v - 1);
        } else {
            s = gb_parse_field(&l, rest, 0, 1, &v);
            if (s == GB_OK && x->is_train[id - 1] != 255)
                s = gb_fail(GB_INPUT, "%s line %d: image id %ld listed twice", path, l.line, id);
            if (s == GB_OK) x->is_train[id - 1] = (uint8_t)v;
        }
    }
    for (int i = 0; s == GB_OK && i < x->count; i++)
        if ((which == 0 && x->labels[i] < 0) || (which == 1 && x->is_train[i] == 255))
            s = gb_fail(GB_INPUT, "%s: no line for image id %d (%s)", path, i + 1, x->paths[i]);
    free(l.text);
    free(path);
    return s;
}

gb_status gb_cub_index_read(gb_cub_index *x, const char *root) {
    memset(x, 0, sizeof *x);
    char *inner = gb_path_join(root, "CUB_200_2011");
    char *dir = gb_is_dir(inner) ? inner : gb_path_join(root, "");
    if (dir != inner) free(inner);
    gb_status s = gb_read_classes(x, dir);
    for (int i = 0; s == GB_OK && i < x->num_classes; i++)
        if (!x->class_names[i])
            s = gb_fail(GB_INPUT, "%s/classes.txt: class id %d is missing (ids must run 1..%d)", dir, i + 1,
                        x->num_classes);
    if (s == GB_OK) s = gb_read_images(x, dir);
    for (int i = 0; s == GB_OK && i < x->count; i++)
        if (!x->paths[i])
            s = gb_fail(GB_INPUT, "%s/images.txt: image id %d is missing (ids must run 1..%d)", dir, i + 1,
                        x->count);
    if (s == GB_OK) s = gb_read_per_image(x, dir, "image_class_labels.txt", 0);
    if (s == GB_OK) s = gb_read_per_image(x, dir, "train_test_split.txt", 1);
    if (s == GB_OK) x->images_dir = gb_path_join(dir, "images");
    free(dir);
    if (s != GB_OK) gb_cub_index_free(x);
    return s;
}

/* ------------------------------------------------------------------ one image */

/* require_size: the file must already be res x res (the flat 32x32 folder). */
static gb_status gb_cub_prepare(uint8_t *out, int res, int jpeg_quality, const char *path,
                                char sha256_hex[65], int *greyscale, int require_size) {
    GB_ASSERT(res >= 1 && jpeg_quality >= 0 && jpeg_quality <= 100, "gb_cub_prepare_image: res %d, quality %d",
              res, jpeg_quality);
    unsigned char *file;
    size_t n;
    GB_TRY(gb_read_file(path, &file, &n));
    if (sha256_hex) {
        uint8_t d[32];
        gb_sha256(file, n, d);
        gb_sha256_hex(d, sha256_hex);
    }
    uint8_t *rgb;
    int h, w, comps;
    gb_status s = gb_jpeg_decode_rgb(path, file, n, &rgb, &h, &w, &comps);
    free(file);
    GB_TRY(s);
    if (greyscale) *greyscale = comps == 1;
    if (require_size && (h != res || w != res)) {
        free(rgb);
        return gb_fail(GB_INPUT, "%s is %dx%d, expected %dx%d: the folder is not the %d-pixel set", path, w, h,
                       res, res, res);
    }
    s = gb_resize_u8_nchw(out, res, res, rgb, 1, 3, h, w, GB_RESIZE_BICUBIC);
    free(rgb);
    GB_TRY(s);
    if (jpeg_quality == 0) return GB_OK;
    /* A greyscale source stays greyscale through Pillow's resize and save. */
    uint8_t *jpg, *back;
    size_t jn;
    GB_TRY(gb_jpeg_encode(path, out, comps == 1 ? 1 : 3, res, res, jpeg_quality, &jpg, &jn));
    int bh, bw;
    s = gb_jpeg_decode_rgb(path, jpg, jn, &back, &bh, &bw, NULL);
    free(jpg);
    GB_TRY(s);
    memcpy(out, back, (size_t)3 * res * res);
    free(back);
    return GB_OK;
}

gb_status gb_cub_prepare_image(uint8_t *out, int res, int jpeg_quality, const char *path,
                               char sha256_hex[65], int *greyscale) {
    return gb_cub_prepare(out, res, jpeg_quality, path, sha256_hex, greyscale, 0);
}

/* ------------------------------------------------------------------ thread pool */

typedef struct {
    int count;
    char **paths;      /* [count] absolute paths */
    uint8_t *pixels;   /* [count, 3, res, res] */
    char (*sha)[65];   /* [count] */
    int res, quality, require_size;
    pthread_mutex_t lock;
    int next;          /* next index to claim */
    int err_index;     /* lowest failing index so far (count when none) */
    gb_status err_status;
    char err_message[1024];
} gb_cub_job;

static void *gb_cub_worker(void *arg) {
    gb_cub_job *job = arg;
    for (;;) {
        pthread_mutex_lock(&job->lock);
        int i = job->next++;
        int stop = i >= job->count || i > job->err_index;
        pthread_mutex_unlock(&job->lock);
        if (stop) break;
        size_t bytes = (size_t)3 * job->res * job->res;
        gb_status s = gb_cub_prepare(job->pixels + (size_t)i * bytes, job->res, job->quality, job->paths[i],
                                     job->sha[i], NULL, job->require_size);
        if (s != GB_OK) {
            pthread_mutex_lock(&job->lock);
            if (i < job->err_index) {
                job->err_index = i;
                job->err_status = s;
                snprintf(job->err_message, sizeof job->err_message, "%s", gb_last_error());
            }
            pthread_mutex_unlock(&job->lock);
        }
    }
    return NULL;
}

/* Decode + resize paths[0..count) into pixels on `threads` threads. */
static gb_status gb_cub_run(char **paths, int count, uint8_t *pixels, char (*sha)[65], int res,
                            int quality, int require_size, int threads) {
    if (threads <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        threads = online > 0 ? (int)online : 1;
    }
    if (threads > count) threads = count > 0 ? count : 1;
    gb_cub_job job = {.count = count, .paths = paths, .pixels = pixels, .sha = sha, .res = res,
                      .quality = quality, .require_size = require_size, .err_index = count};
    pthread_mutex_init(&job.lock, NULL);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    GB_ASSERT(tids, "out of memory");
    int started = 0;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, gb_cub_worker, &job) != 0) break;
        started = t;
    }
    gb_cub_worker(&job); /* the calling thread works too */
    for (int t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    free(tids);
    pthread_mutex_destroy(&job.lock);
    if (job.err_index < count) return gb_fail(job.err_status, "%s", job.err_message);
    return GB_OK;
}

/* ------------------------------------------------------------------ loaders */

static int gb_cub_is_cmu_deleted(const char *path) {
    const char *base = gb_base_name(path);
    for (int i = 0; i < 8; i++)
        if (strcmp(base, gb_cub_cmu_deleted[i]) == 0) return 1;
    return 0;
}

gb_cub_options gb_cub_options_cmu32(int threads) {
    gb_cub_options o = {.resolution = 32, .split = GB_CUB_ALL, .drop_cmu_greyscale = 1, .jpeg_quality = 75,
                        .threads = threads};
    return o;
}

/* Fill the set from chosen absolute paths, with their labels (NULL: unlabelled). */
static gb_status gb_cub_fill(gb_image_set *set, char **paths, const int32_t *labels, int count,
                             int num_classes, int res, int quality, int require_size, int threads,
                             gb_digest_list *digests, char **names) {
    GB_TRY(gb_image_set_alloc(set, count, 3, res, res, labels != NULL, num_classes));
    char(*sha)[65] = calloc((size_t)count + 1, sizeof *sha);
    GB_ASSERT(sha, "out of memory");
    gb_status s = gb_cub_run(paths, count, set->pixels, sha, res, quality, require_size, threads);
    if (s == GB_OK) {
        for (int i = 0; i < count; i++) {
            if (labels) set->labels[i] = labels[i];
            gb_digest_list_add(digests, sha[i], names[i]);
        }
        gb_digest_list_final(digests, set->sha256);
    } else {
        gb_image_set_free(set);
    }
    free(sha);
    return s;
}

gb_status gb_cub_load_resized(gb_image_set *set, const char *root, const gb_cub_options *o) {
    memset(set, 0, sizeof *set);
    if (o->resolution < 1 || o->jpeg_quality < 0 || o->jpeg_quality > 100)
        return gb_fail(GB_USAGE, "CUB: resolution %d / JPEG quality %d out of range (1.., 0..100)",
                       o->resolution, o->jpeg_quality);
    gb_cub_index x;
    GB_TRY(gb_cub_index_read(&x, root));
    char **paths = calloc((size_t)x.count + 1, sizeof *paths);
    char **names = calloc((size_t)x.count + 1, sizeof *names);
    int32_t *labels = calloc((size_t)x.count + 1, sizeof *labels);
    GB_ASSERT(paths && names && labels, "out of memory");
    int n = 0;
    for (int i = 0; i < x.count; i++) {
        if (o->split == GB_CUB_TRAIN && !x.is_train[i]) continue;
        if (o->split == GB_CUB_TEST && x.is_train[i]) continue;
        if (o->drop_cmu_greyscale && gb_cub_is_cmu_deleted(x.paths[i])) continue;
        paths[n] = gb_path_join(x.images_dir, x.paths[i]);
        names[n] = x.paths[i];
        labels[n] = x.labels[i];
        n++;
    }
    /* The index files are part of what was loaded: a relabelled tree gets another digest. */
    gb_digest_list digests;
    gb_digest_list_init(&digests);
    static const char *const index_files[] = {"images.txt", "image_class_labels.txt", "train_test_split.txt",
                                              "classes.txt"};
    gb_status s = GB_OK;
    char *meta_dir = gb_path_join(x.images_dir, "..");
    for (int f = 0; f < 4 && s == GB_OK; f++) {
        char *p = gb_path_join(meta_dir, index_files[f]);
        char hex[65];
        s = gb_sha256_file(p, hex);
        if (s == GB_OK) gb_digest_list_add(&digests, hex, index_files[f]);
        free(p);
    }
    free(meta_dir);
    if (s == GB_OK)
        s = gb_cub_fill(set, paths, labels, n, x.num_classes, o->resolution, o->jpeg_quality, 0, o->threads,
                        &digests, names);
    if (s == GB_OK) {
        int cmu = o->resolution == 32 && o->split == GB_CUB_ALL && o->drop_cmu_greyscale && o->jpeg_quality == 75;
        static const char *const split_names[] = {"all", "train", "test"};
        if (cmu)
            snprintf(set->identity, sizeof set->identity, "cub32");
        else if (o->jpeg_quality)
            snprintf(set->identity, sizeof set->identity, "cub200:%s:%dpx:jpeg%d", split_names[o->split],
                     o->resolution, o->jpeg_quality);
        else
            snprintf(set->identity, sizeof set->identity, "cub200:%s:%dpx", split_names[o->split], o->resolution);
    }
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
    free(names);
    free(labels);
    gb_cub_index_free(&x);
    return s;
}

static int gb_strcmp_ptr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

gb_status gb_cub_load_folder(gb_image_set *set, const char *folder, int res, int threads) {
    memset(set, 0, sizeof *set);
    GB_ASSERT(res >= 1, "gb_cub_load_folder: res %d", res);
    DIR *d = opendir(folder);
    if (!d)
        return gb_fail(GB_INPUT, "cannot open the image folder '%s': %s", folder, strerror(errno));
    int cap = 1024, n = 0;
    char **names = malloc((size_t)cap * sizeof *names);
    GB_ASSERT(names, "out of memory");
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".jpg") != 0) continue;
        if (n == cap) {
            cap *= 2;
            names = realloc(names, (size_t)cap * sizeof *names);
            GB_ASSERT(names, "out of memory");
        }
        names[n] = strdup(e->d_name);
        GB_ASSERT(names[n], "out of memory");
        n++;
    }
    closedir(d);
    gb_status s = GB_OK;
    if (n == 0) s = gb_fail(GB_INPUT, "'%s' holds no .jpg files: is it the resized CUB folder?", folder);
    qsort(names, (size_t)n, sizeof *names, gb_strcmp_ptr);
    char **paths = calloc((size_t)n + 1, sizeof *paths);
    GB_ASSERT(paths, "out of memory");
    for (int i = 0; i < n; i++) paths[i] = gb_path_join(folder, names[i]);
    if (s == GB_OK) {
        gb_digest_list digests;
        gb_digest_list_init(&digests);
        s = gb_cub_fill(set, paths, NULL, n, 0, res, 0, 1, threads, &digests, names);
    }
    if (s == GB_OK) {
        if (res == 32) snprintf(set->identity, sizeof set->identity, "cub32");
        else snprintf(set->identity, sizeof set->identity, "cub:folder:%dpx", res);
    }
    for (int i = 0; i < n; i++) {
        free(paths[i]);
        free(names[i]);
    }
    free(paths);
    free(names);
    return s;
}
