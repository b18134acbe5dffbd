/* datasets/registry.c - the dataset table and the presence / checksum checks
 * (datasets/registry.h). Every URL, size and digest below is copied from
 * /work/shared/specs/formats.md; the section is cited on each entry.
 * Tested by tests/test_datasets_synth.c and tests/smoke_data.sh.
 */
#include "datasets/registry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/md5.h"
#include "core/sha256.h"

/* formats.md 1.1: Toronto page md5, TFDS sha256 and size. The loader streams the archive, so
 * it is kept as downloaded. */
static const gb_data_file cifar10_files[] = {
    {"cifar-10-binary.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", NULL, 170052171,
     "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd", "c32a1d4ab5d03f1284b67883e8d87530",
     "formats.md 1.1 (md5: Toronto page; sha256, size: TFDS url_checksums/cifar10.txt)", 0},
};
static const char *const cifar10_needs[] = {"cifar-10-binary.tar.gz|cifar-10-batches-bin/test_batch.bin", NULL};

/* formats.md 2.3: torchvision md5s, TFDS sizes and sha256s. The S3 and GCS mirrors are the
 * defaults because yann.lecun.com is often unreachable (2.3). */
#define MNIST_S3 "https://ossci-datasets.s3.amazonaws.com/mnist/"
#define MNIST_GCS "https://storage.googleapis.com/cvdf-datasets/mnist/"
#define MNIST_SRC "formats.md 2.3 (md5: torchvision mnist.py; sha256, size: TFDS url_checksums/mnist.txt)"
static const gb_data_file mnist_files[] = {
    {"train-images-idx3-ubyte.gz", MNIST_S3 "train-images-idx3-ubyte.gz", MNIST_GCS "train-images-idx3-ubyte.gz",
     9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
     "f68b3c2dcbeaaa9fbdd348bbdeb94873", MNIST_SRC, 0},
    {"train-labels-idx1-ubyte.gz", MNIST_S3 "train-labels-idx1-ubyte.gz", MNIST_GCS "train-labels-idx1-ubyte.gz",
     28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
     "d53e105ee54ea40749a09fcbcd1e9432", MNIST_SRC, 0},
    {"t10k-images-idx3-ubyte.gz", MNIST_S3 "t10k-images-idx3-ubyte.gz", MNIST_GCS "t10k-images-idx3-ubyte.gz",
     1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
     "9fb629c4189551a2d022fa330f9573f3", MNIST_SRC, 0},
    {"t10k-labels-idx1-ubyte.gz", MNIST_S3 "t10k-labels-idx1-ubyte.gz", MNIST_GCS "t10k-labels-idx1-ubyte.gz",
     4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
     "ec29112dd5afa0611ce80d1b7f02629c", MNIST_SRC, 0},
};
/* The IDX loader takes each file gzipped or not (datasets/idx.h). */
static const char *const idx_needs[] = {
    "train-images-idx3-ubyte.gz|train-images-idx3-ubyte", "train-labels-idx1-ubyte.gz|train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte.gz|t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte.gz|t10k-labels-idx1-ubyte", NULL};

/* formats.md 2.4: torchvision md5s, TFDS sizes and sha256s. */
#define FASHION_S3 "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
#define FASHION_GH "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"
#define FASHION_SRC "formats.md 2.4 (md5: torchvision FashionMNIST; sha256, size: TFDS url_checksums/fashion_mnist.txt)"
static const gb_data_file fashion_files[] = {
    {"train-images-idx3-ubyte.gz", FASHION_S3 "train-images-idx3-ubyte.gz", FASHION_GH "train-images-idx3-ubyte.gz",
     26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
     "8d4fb7e6c68d591d4c3dfef9ec88bf0d", FASHION_SRC, 0},
    {"train-labels-idx1-ubyte.gz", FASHION_S3 "train-labels-idx1-ubyte.gz", FASHION_GH "train-labels-idx1-ubyte.gz",
     29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
     "25c81989df183df01b3e8a0aad5dffbe", FASHION_SRC, 0},
    {"t10k-images-idx3-ubyte.gz", FASHION_S3 "t10k-images-idx3-ubyte.gz", FASHION_GH "t10k-images-idx3-ubyte.gz",
     4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
     "bef4ecab320f06d8554ea6380940ec79", FASHION_SRC, 0},
    {"t10k-labels-idx1-ubyte.gz", FASHION_S3 "t10k-labels-idx1-ubyte.gz", FASHION_GH "t10k-labels-idx1-ubyte.gz",
     5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
     "bb300cfdad3c16e7a12a480ee83cd310", FASHION_SRC, 0},
};

/* formats.md 3.1: md5 from the common Cub2011 loader; TFDS sha256 and size; CaltechDATA URL
 * (the legacy vision.caltech.edu URL is dead). The loader reads the extracted tree (3.2). */
static const gb_data_file cub_files[] = {
    {"CUB_200_2011.tgz", "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1",
     "https://data.caltech.edu/api/records/65de6-vp158/files/CUB_200_2011.tgz/content", 1150585339,
     "0c685df5597a8b24909f6a7c9db6d11e008733779a671760afef78feb49bf081", "97eceeb196236b17998738112f37df78",
     "formats.md 3.1 (md5: Cub2011 loader tgz_md5; sha256, size: TFDS caltech_birds2011.txt)", 1},
};
static const char *const cub_needs[] = {
    "CUB_200_2011/images.txt", "CUB_200_2011/image_class_labels.txt", "CUB_200_2011/train_test_split.txt",
    "CUB_200_2011/classes.txt", "CUB_200_2011/images", NULL};
/* formats.md 3.5: the CMU 16-824 32x32 set is derived (Pillow resize + JPEG q75) and has no
 * published checksum; it is rebuilt from the full CUB tree, or read from a ready flat folder. */
static const char *const cub32_needs[] = {"CUB_200_2011_32|CUB_200_2011/images.txt", NULL};

/* formats.md 4a: xlsa17.zip; "I found no published md5 or sha256"; size only third-party
 * (about 879 MB), so unknown here. One archive serves the three GBU datasets. */
static const gb_data_file xlsa17_files[] = {
    {"xlsa17.zip", "http://datasets.d2.mpi-inf.mpg.de/xian/xlsa17.zip", NULL, 0, NULL, NULL,
     "formats.md 4a: no published checksum", 1},
};
static const char *const gbu_awa2_needs[] = {"xlsa17/data/AWA2/res101.mat", "xlsa17/data/AWA2/att_splits.mat", NULL};
static const char *const gbu_sun_needs[] = {"xlsa17/data/SUN/res101.mat", "xlsa17/data/SUN/att_splits.mat", NULL};
static const char *const gbu_cub_needs[] = {"xlsa17/data/CUB/res101.mat", "xlsa17/data/CUB/att_splits.mat", NULL};

/* formats.md 4b: CIZSL's Dropbox archive (ZSL_GAN's Google Drive copy needs a browser);
 * "No checksums are published." The archive's inner layout is not documented there; the
 * loaders open CUB2011/... and NABird/... under the data folder. */
static const gb_data_file gazsl_files[] = {
    {"CUB_NAB_Data.zip", "https://www.dropbox.com/s/9qovr86kgogkl6r/CUB_NAB_Data.zip?dl=1", NULL, 0, NULL, NULL,
     "formats.md 4b: no published checksum", 1},
};
static const char *const gazsl_cub_needs[] = {
    "CUB2011/CUB_Porter_7551D_TFIDF_new.mat", "CUB2011/train_test_split_easy.mat",
    "CUB2011/train_test_split_hard.mat", "CUB2011/pfc_feat_train.mat", "CUB2011/pfc_feat_test.mat",
    "CUB2011/pfc_feat_train_hard.mat", "CUB2011/pfc_feat_test_hard.mat", "CUB2011/labels_train.pkl",
    "CUB2011/labels_test.pkl", "CUB2011/labels_train_hard.pkl", "CUB2011/labels_test_hard.pkl", NULL};
static const char *const gazsl_nab_needs[] = {
    "NABird/NAB_Porter_13217D_TFIDF_new.mat", "NABird/train_test_split_NABird_easy.mat",
    "NABird/train_test_split_NABird_hard.mat", "NABird/pfc_feat_train_easy.mat", "NABird/pfc_feat_test_easy.mat",
    "NABird/pfc_feat_train_hard.mat", "NABird/pfc_feat_test_hard.mat", "NABird/labels_train.pkl",
    "NABird/labels_test.pkl", "NABird/labels_train_hard.pkl", "NABird/labels_test_hard.pkl", NULL};

/* specs/pipelines.md 6(a): the DeepLearning.AI sprites arrays. No official download URL or
 * checksum is documented anywhere in the specs, so they are copied in by hand. */
static const gb_data_file sprites_files[] = {
    {"sprites_1788_16x16.npy", NULL, NULL, 0, NULL, NULL, "pipelines.md 6(a): no URL, no checksum", 0},
    {"sprite_labels_nc_1788_16x16.npy", NULL, NULL, 0, NULL, NULL, "pipelines.md 6(a): no URL, no checksum", 0},
};
static const char *const sprites_needs[] = {"sprites_1788_16x16.npy", "sprite_labels_nc_1788_16x16.npy", NULL};

/* formats.md 5.1 and DESIGN.md 4: the pytorch-fid weights. The full SHA-256 is third-party
 * (formats.md 5.1, 9.1) but its first 8 hex digits match the torch.hub name, and DESIGN.md 4
 * adopts it: genbench refuses any other file. The exact size is not published (about 95.5 MB). */
static const gb_data_file inception_files[] = {
    {"pt_inception-2015-12-05-6726825d.pth",
     "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
     NULL, 0, "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2", NULL,
     "formats.md 5.1 (third-party sha256, prefix matches the torch.hub name; adopted by DESIGN.md 4)", 0},
};
static const char *const inception_needs[] = {"pt_inception-2015-12-05-6726825d.pth", NULL};

#define FILES(a) a, (int)(sizeof a / sizeof a[0])

static const gb_dataset_info table[] = {
    {"cifar10", "CIFAR-10, binary version (50,000 + 10,000 32x32 RGB)", "cifar10", FILES(cifar10_files),
     cifar10_needs, "shapes32", NULL, NULL},
    {"mnist", "MNIST (60,000 + 10,000 28x28 grey, IDX)", "mnist", FILES(mnist_files), idx_needs, "glyphs28", NULL,
     NULL},
    {"fashion-mnist", "Fashion-MNIST (60,000 + 10,000 28x28 grey, IDX)", "fashion-mnist", FILES(fashion_files),
     idx_needs, "glyphs28", NULL, NULL},
    {"cub", "CUB-200-2011 (11,788 images, 200 classes)", "cub", FILES(cub_files), cub_needs, "shapes32", NULL,
     NULL},
    {"cub32", "CUB-200-2011 at 32x32, CMU 16-824 recipe (11,780 images)", "cub", NULL, 0, cub32_needs, "shapes32",
     "cub", "derived from cub (Pillow bicubic + JPEG q75, formats.md 3.5); no published checksum"},
    {"gbu-awa2", "GBU / xlsa17 AWA2 (ResNet-101 features, 85 attributes)", "gbu", FILES(xlsa17_files),
     gbu_awa2_needs, "zsl-synth-att", NULL, NULL},
    {"gbu-sun", "GBU / xlsa17 SUN (ResNet-101 features, 102 attributes)", "gbu", FILES(xlsa17_files),
     gbu_sun_needs, "zsl-synth-att", NULL, NULL},
    {"gbu-cub", "GBU / xlsa17 CUB (ResNet-101 features, 312 attributes)", "gbu", FILES(xlsa17_files),
     gbu_cub_needs, "zsl-synth-att", NULL, NULL},
    {"gazsl-cub", "GAZSL / CIZSL CUB2011 (part features, TF-IDF text)", "gazsl", FILES(gazsl_files),
     gazsl_cub_needs, "zsl-synth-text", NULL,
     "also on Google Drive id 1YUcYHgv4HceHOzza8OGzMp092taKAAq1 (ZSL_GAN README); unzip so that "
     "CUB2011/ sits in the dataset folder"},
    {"gazsl-nab", "GAZSL / CIZSL NABird (part features, TF-IDF text)", "gazsl", FILES(gazsl_files),
     gazsl_nab_needs, "zsl-synth-text", NULL,
     "also on Google Drive id 1YUcYHgv4HceHOzza8OGzMp092taKAAq1 (ZSL_GAN README); unzip so that "
     "NABird/ sits in the dataset folder"},
    {"sprites", "DeepLearning.AI sprites (89,400 16x16 RGB, 5 classes, .npy)", "sprites", FILES(sprites_files),
     sprites_needs, "shapes16", NULL,
     "no public download URL is documented: copy sprites_1788_16x16.npy and sprite_labels_nc_1788_16x16.npy "
     "from the course 'How Diffusion Models Work' into the dataset folder"},
    {"inception-weights", "pytorch-fid Inception-v3 weights (FID, KID, precision/recall)", "weights",
     FILES(inception_files), inception_needs, NULL, NULL,
     "without it FID/KID are reported as not computed"},
};

const gb_dataset_info *gb_datasets(size_t *count) {
    *count = sizeof table / sizeof table[0];
    return table;
}

const gb_dataset_info *gb_dataset_find(const char *name) {
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

const char *gb_data_root(const char *cli_dir) {
    if (cli_dir && *cli_dir) return cli_dir;
    const char *env = getenv("GB_DATA");
    if (env && *env) return env;
    return "data";
}

char *gb_dataset_dir(const char *root, const gb_dataset_info *ds) {
    char *p = NULL;
    return asprintf(&p, "%s/%s", root, ds->dir) < 0 ? NULL : p;
}

char *gb_dataset_path(const char *root, const gb_dataset_info *ds, const char *rel) {
    char *p = NULL;
    return asprintf(&p, "%s/%s/%s", root, ds->dir, rel) < 0 ? NULL : p;
}

const char *gb_data_presence_name(gb_data_presence p) {
    return p == GB_DATA_PRESENT ? "present" : p == GB_DATA_PARTIAL ? "partial" : "missing";
}

static int path_exists(const char *root, const gb_dataset_info *ds, const char *rel, size_t len) {
    char *p = NULL;
    if (asprintf(&p, "%s/%s/%.*s", root, ds->dir, (int)len, rel) < 0) return 0;
    struct stat st;
    int ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

/* 1 when any '|'-separated alternative of need exists. */
static int need_met(const char *root, const gb_dataset_info *ds, const char *need) {
    const char *p = need;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (path_exists(root, ds, p, len)) return 1;
        if (!bar) return 0;
        p = bar + 1;
    }
}

gb_data_presence gb_dataset_presence(const char *root, const gb_dataset_info *ds, int *satisfied, int *total) {
    int met = 0, n = 0;
    for (const char *const *need = ds->needs; *need; need++, n++) met += need_met(root, ds, *need);
    int downloads = 0;
    for (int i = 0; i < ds->file_count; i++) downloads += path_exists(root, ds, ds->files[i].name, strlen(ds->files[i].name));
    if (satisfied) *satisfied = met;
    if (total) *total = n;
    if (met == n) return GB_DATA_PRESENT;
    return met > 0 || downloads > 0 ? GB_DATA_PARTIAL : GB_DATA_MISSING;
}

const char *gb_file_check_name(gb_file_check c) {
    switch (c) {
    case GB_FILE_OK: return "ok";
    case GB_FILE_MISSING: return "missing";
    case GB_FILE_MISMATCH: return "MISMATCH";
    default: return "unverifiable";
    }
}

gb_status gb_data_file_check(const char *path, const gb_data_file *f, gb_file_report *r) {
    memset(r, 0, sizeof *r);
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            r->check = GB_FILE_MISSING;
            return GB_OK;
        }
        return gb_fail(GB_INPUT, "%s: cannot stat (%s)", path, strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) return gb_fail(GB_INPUT, "%s: not a regular file; remove it and fetch again", path);
    r->bytes = (uint64_t)st.st_size;
    if (f->sha256) {
        snprintf(r->algorithm, sizeof r->algorithm, "sha256");
        snprintf(r->expected, sizeof r->expected, "%s", f->sha256);
        GB_TRY(gb_sha256_file(path, r->got));
        r->check = strcmp(r->got, r->expected) == 0 ? GB_FILE_OK : GB_FILE_MISMATCH;
    } else if (f->md5) {
        snprintf(r->algorithm, sizeof r->algorithm, "md5");
        snprintf(r->expected, sizeof r->expected, "%s", f->md5);
        char got[33];
        GB_TRY(gb_md5_file(path, got));
        snprintf(r->got, sizeof r->got, "%s", got);
        r->check = strcmp(r->got, r->expected) == 0 ? GB_FILE_OK : GB_FILE_MISMATCH;
    } else {
        r->check = GB_FILE_UNVERIFIABLE; /* nothing published; the size is still checked below */
    }
    if (f->bytes && r->bytes != f->bytes) r->check = GB_FILE_MISMATCH;
    return GB_OK;
}

void gb_data_url_override_var(const gb_dataset_info *ds, char *out, size_t size) {
    static const char prefix[] = "GB_DATA_URL_OVERRIDE_";
    size_t n = snprintf(out, size, "%s", prefix) >= 0 ? strlen(out) : 0;
    for (const char *p = ds->name; *p && n + 1 < size; p++) {
        char c = *p;
        if (c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
        out[n++] = c;
    }
    out[n < size ? n : size - 1] = '\0';
}
