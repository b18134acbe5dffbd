/* metrics/image_archive.c - the images of a zip archive, listed as clean-fid lists them and
 * decoded as a folder's files are (read image_archive.h first). */
#include "metrics/image_archive.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/zip_read.h"
#include "metrics/fid_protocol.h"
#include "metrics/image_folder.h"

#define ARCHIVE_ADVICE "re-create the archive (zip -r, or dataset_tool.py)"

typedef struct {
    char *name;
    zip_uint64_t index;
} member;

struct gb_image_archive {
    char *path;
    zip_t *za;
    size_t archive_bytes;
    member *images; /* sorted by name */
    size_t count;
    pthread_mutex_t lock; /* around every libzip call after opening */
};

static int by_name(const void *a, const void *b) {
    return strcmp(((const member *)a)->name, ((const member *)b)->name);
}

/* The archive's images, sorted; GB_INPUT for a refused format. (A name that appears twice was
 * refused when the archive was opened: core/zip_read.h.) */
static gb_status list_images(gb_image_archive *a) {
    zip_int64_t entries = zip_get_num_entries(a->za, 0);
    if (entries < 0) return gb_fail(GB_INPUT, "%s: unreadable zip directory (%s)", a->path, zip_strerror(a->za));
    if (!(a->images = calloc(entries > 0 ? (size_t)entries : 1, sizeof *a->images)))
        return gb_fail(GB_ENV, "%s: out of memory listing the archive", a->path);
    for (zip_int64_t i = 0; i < entries; i++) {
        const char *name = zip_get_name(a->za, (zip_uint64_t)i, 0);
        if (!name)
            return gb_fail(GB_INPUT, "%s: member %lld: unreadable central-directory entry (%s); " ARCHIVE_ADVICE,
                           a->path, (long long)i, zip_strerror(a->za));
        gb_image_file_class c = gb_image_archive_member_class(name);
        if (c == GB_IMAGE_FILE_REFUSED)
            return gb_fail(GB_INPUT, "%s:%s: %s images are not read by genbench (clean-fid would count it); convert "
                                     "the archive's images to PNG",
                           a->path, name, strrchr(name, '.'));
        if (c != GB_IMAGE_FILE_READ) continue;
        if (!(a->images[a->count].name = strdup(name)))
            return gb_fail(GB_ENV, "%s: out of memory listing the archive", a->path);
        a->images[a->count++].index = (zip_uint64_t)i;
    }
    if (a->count == 0)
        return gb_fail(GB_INPUT, "%s: no images (*.png, *.jpg, *.jpeg, any case, at any depth) in the zip archive",
                       a->path);
    qsort(a->images, a->count, sizeof *a->images, by_name);
    return GB_OK;
}

gb_status gb_image_archive_open(gb_image_archive **archive, const char *path) {
    *archive = NULL;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return gb_fail(GB_INPUT, "%s: not a readable file (a zip archive of images was expected)", path);
    gb_image_archive *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return gb_fail(GB_ENV, "%s: out of memory", path);
    }
    a->archive_bytes = (size_t)st.st_size;
    pthread_mutex_init(&a->lock, NULL);
    gb_status s = gb_zip_open(&a->za, path, "zip archive", ARCHIVE_ADVICE);
    if (s == GB_OK) s = list_images(a);
    if (s != GB_OK) {
        gb_image_archive_close(a);
        return s;
    }
    *archive = a;
    return GB_OK;
}

size_t gb_image_archive_count(const gb_image_archive *archive) { return archive->count; }

const char *gb_image_archive_member(const gb_image_archive *archive, size_t i) { return archive->images[i].name; }

gb_status gb_image_archive_load_rgb(gb_image_archive *archive, size_t i, uint8_t **chw, int *h, int *w) {
    *chw = NULL;
    if (i >= archive->count)
        return gb_fail(GB_USAGE, "%s: image %zu of %zu requested", archive->path, i, archive->count);
    char where[2048];
    snprintf(where, sizeof where, "%s:%s", archive->path, archive->images[i].name);
    unsigned char *bytes;
    size_t n;
    pthread_mutex_lock(&archive->lock);
    gb_status s = gb_zip_read_member(&bytes, &n, archive->za, archive->images[i].index, archive->archive_bytes, where,
                                     ARCHIVE_ADVICE);
    pthread_mutex_unlock(&archive->lock);
    GB_TRY(s);
    s = gb_image_decode_rgb(chw, h, w, where, bytes, n);
    free(bytes);
    return s;
}

void gb_image_archive_close(gb_image_archive *archive) {
    if (!archive) return;
    if (archive->za) zip_discard(archive->za);
    for (size_t i = 0; archive->images && i < archive->count; i++) free(archive->images[i].name);
    free(archive->images);
    pthread_mutex_destroy(&archive->lock);
    free(archive->path);
    free(archive);
}
