/* datasets/idx.c - strict IDX reader and MNIST/Fashion-MNIST loader (datasets/idx.h).
 * Tested by tests/test_datasets_images.c. */
#include "datasets/idx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gzip_file.h"
#include "core/sha256.h"

const gb_published_file gb_mnist_files[4] = {
    {"train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422},
    {"train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881},
    {"t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
     "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877},
    {"t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c",
     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542},
};

const gb_published_file gb_fashion_mnist_files[4] = {
    {"train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880},
    {"train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe",
     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515},
    {"t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102},
    {"t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310",
     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148},
};

/* The MNIST training images are 47,040,016 bytes; anything far beyond is the wrong file. */
enum { GB_IDX_MAX_BYTES = 256 << 20 };

static uint32_t gb_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t gb_swap32(uint32_t v) {
    return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

/* want: the dimension count the caller needs (1..3), or 0 for whatever the header says. */
static gb_status gb_idx_read(const char *path, int want, uint8_t **data, uint32_t dims[3], int *ndim_out) {
    GB_ASSERT(want >= 0 && want <= 3, "gb_idx_read: ndim %d", want);
    *data = NULL;
    uint8_t *buf;
    size_t n;
    GB_TRY(gb_gz_read_file(path, GB_IDX_MAX_BYTES, &buf, &n));
    int ndim = want ? want : (n >= 4 ? buf[3] : 1);
    size_t header = 4 + 4 * (size_t)(ndim >= 1 && ndim <= 3 ? ndim : 1);
    gb_status s = GB_OK;
    if (n < header) {
        s = gb_fail(GB_INPUT, "%s: %zu bytes, shorter than the %zu-byte IDX header: the file is "
                              "truncated (download it again)", path, n, header);
    } else if (!want && (buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08 || ndim < 1 || ndim > 3)) {
        s = gb_fail(GB_INPUT, "%s: magic %02x %02x %02x %02x at byte 0, expected 00 00 08 01..03 (an "
                              "unsigned-byte IDX file: labels *-labels-idx1-ubyte or images "
                              "*-images-idx3-ubyte)", path, buf[0], buf[1], buf[2], buf[3]);
    } else if (buf[0] != 0 || buf[1] != 0 || buf[2] != 0x08 || buf[3] != ndim) {
        s = gb_fail(GB_INPUT, "%s: magic %02x %02x %02x %02x at byte 0, expected 00 00 08 %02x (an "
                              "unsigned-byte IDX file with %d dimension%s: %s)",
                    path, buf[0], buf[1], buf[2], buf[3], ndim, ndim, ndim == 1 ? "" : "s",
                    ndim == 1 ? "a labels file, *-labels-idx1-ubyte" : "an images file, *-images-idx3-ubyte");
    } else {
        uint64_t count = 1, swapped = 1;
        for (int d = 0; d < ndim; d++) {
            dims[d] = gb_be32(buf + 4 + 4 * d);
            count *= dims[d];
            swapped *= gb_swap32(dims[d]);
            if (count > GB_IDX_MAX_BYTES) count = GB_IDX_MAX_BYTES + 1ull;
            if (swapped > GB_IDX_MAX_BYTES) swapped = GB_IDX_MAX_BYTES + 1ull;
        }
        size_t have = n - header;
        if (have != count) {
            const char *hint = have == swapped ? " (the sizes look little-endian: IDX sizes are big-endian; "
                                                 "the writer was wrong)"
                               : have < count ? " (the file is truncated: download it again)"
                                              : " (trailing bytes after the data: not an IDX file as published)";
            s = gb_fail(GB_INPUT, "%s: header at byte 4 promises %llu data bytes, the file holds %zu%s",
                        path, (unsigned long long)count, have, hint);
        }
    }
    if (s != GB_OK) {
        free(buf);
        return s;
    }
    memmove(buf, buf + header, n - header);
    *data = buf;
    if (ndim_out) *ndim_out = ndim;
    return GB_OK;
}

gb_status gb_idx_read_u8(const char *path, int ndim, uint8_t **data, uint32_t dims[3]) {
    GB_ASSERT(ndim >= 1 && ndim <= 3, "gb_idx_read_u8: ndim %d", ndim);
    return gb_idx_read(path, ndim, data, dims, NULL);
}

gb_status gb_idx_read_any_u8(const char *path, uint8_t **data, uint32_t dims[3], int *ndim) {
    return gb_idx_read(path, 0, data, dims, ndim);
}

gb_status gb_idx_load_files(gb_image_set *set, const char *images_path, const char *labels_path,
                            int num_classes, const char *identity) {
    memset(set, 0, sizeof *set);
    uint8_t *img = NULL, *lab = NULL;
    uint32_t idims[3] = {0, 0, 0}, ldims[3] = {0, 0, 0};
    gb_status s = gb_idx_read_u8(images_path, 3, &img, idims);
    if (s == GB_OK) s = gb_idx_read_u8(labels_path, 1, &lab, ldims);
    if (s == GB_OK && idims[0] != ldims[0])
        s = gb_fail(GB_INPUT, "%s holds %u images but %s holds %u labels: the files do not belong "
                              "together", images_path, idims[0], labels_path, ldims[0]);
    if (s == GB_OK && (idims[0] > INT32_MAX || idims[1] == 0 || idims[2] == 0 || idims[1] > 65535 ||
                       idims[2] > 65535))
        s = gb_fail(GB_INPUT, "%s: image sizes [%u, %u, %u] at byte 4 are not usable", images_path,
                    idims[0], idims[1], idims[2]);
    for (uint32_t i = 0; s == GB_OK && i < ldims[0]; i++)
        if (lab[i] >= num_classes)
            s = gb_fail(GB_INPUT, "%s: label %u of item %u (byte offset %u) is outside 0..%d: the file "
                                  "is corrupt", labels_path, lab[i], i, 8 + i, num_classes - 1);
    if (s == GB_OK) s = gb_image_set_alloc(set, (int)idims[0], 1, (int)idims[1], (int)idims[2], 1, num_classes);
    if (s == GB_OK) {
        memcpy(set->pixels, img, (size_t)idims[0] * idims[1] * idims[2]);
        for (uint32_t i = 0; i < ldims[0]; i++) set->labels[i] = lab[i];
        snprintf(set->identity, sizeof set->identity, "%s", identity);
        char a[65], b[65];
        s = gb_sha256_file(images_path, a);
        if (s == GB_OK) s = gb_sha256_file(labels_path, b);
        if (s == GB_OK) {
            gb_digest_list d;
            gb_digest_list_init(&d);
            gb_digest_list_add(&d, a, gb_base_name(images_path));
            gb_digest_list_add(&d, b, gb_base_name(labels_path));
            gb_digest_list_final(&d, set->sha256);
        }
        if (s != GB_OK) gb_image_set_free(set);
    }
    free(img);
    free(lab);
    return s;
}

/* <dir>/<stem>.gz when present, else <dir>/<stem>. */
static char *gb_idx_find(const char *dir, const char *stem) {
    char name[128];
    snprintf(name, sizeof name, "%s.gz", stem);
    char *p = gb_path_join(dir, name);
    if (gb_is_file(p)) return p;
    free(p);
    return gb_path_join(dir, stem);
}

gb_status gb_idx_load(gb_image_set *set, const char *dir, const char *dataset, int train) {
    const char *prefix = train ? "train" : "t10k";
    char stem[64], identity[64];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", prefix);
    char *images = gb_idx_find(dir, stem);
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", prefix);
    char *labels = gb_idx_find(dir, stem);
    snprintf(identity, sizeof identity, "%s:%s", dataset, train ? "train" : "test");
    gb_status s = gb_idx_load_files(set, images, labels, 10, identity);
    free(images);
    free(labels);
    return s;
}
