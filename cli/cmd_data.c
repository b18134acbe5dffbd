/* cli/cmd_data.c - `genbench data`: list, verify, fetch, inspect and synthesise datasets.
 *
 *   data list                       every registered dataset: present / partial / missing,
 *                                   and the stand-in a pipeline uses when it is missing
 *   data verify [NAME]              re-hash the downloads, compare with the published digests
 *   data fetch NAME                 curl from the official URLs, verify, unpack (datasets/fetch.h)
 *   data inspect NAME|STANDIN|PATH  load through the pipelines' loaders, print key: value lines
 *                                   (cli/data_inspect.c)
 *   data synth KIND --out DIR       write a stand-in in the real file format
 * Common option: --data DIR (else $GB_DATA, else data/). Exit codes: 0 ok, 2 usage,
 * 3 bad data / checksum mismatch, 5 environment (no curl, no network).
 * Tested by tests/smoke_data.sh.
 */
#include "cmd_data.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data_inspect.h"
#include "../core/atomic_file.h"
#include "../datasets/fetch.h"
#include "../datasets/glyphs28.h"
#include "../datasets/registry.h"
#include "../datasets/shapes32.h"
#include "../datasets/sprites.h"
#include "../datasets/zsl_synth.h"
#include "../datasets/zsl_write.h"

static const char usage[] =
    "usage: genbench data <command> [options]\n"
    "\n"
    "  list                          each dataset: present / partial / missing, and its stand-in\n"
    "  verify [NAME]                 re-hash downloaded files against the published checksums\n"
    "  fetch NAME                    download from the official URLs (curl), verify, unpack\n"
    "  inspect NAME|STANDIN|PATH     load it as a pipeline would and print key: value lines; PATH: a\n"
    "                                dataset folder or one file (.npy, .npz, IDX *-ubyte[.gz], a\n"
    "                                CIFAR-10 batch .bin or .tar.gz, .pth weights)\n"
    "  synth KIND --out DIR          write a stand-in in the real format; KIND: shapes32 (CIFAR-10\n"
    "                                binary layout), glyphs28 (gzipped IDX, as MNIST), shapes16 (the\n"
    "                                sprites .npy pair), zsl-synth-att\n"
    "                                (xlsa17 res101.mat + att_splits.mat), zsl-synth-text (GAZSL CUB2011\n"
    "                                easy-split files)\n"
    "\n"
    "options:\n"
    "  --data DIR     data root (default $GB_DATA, else data/)\n"
    "  --out DIR      synth: output folder\n"
    "  --seed S       synth / inspect of a stand-in: seed (default 0)\n"
    "  --count N      synth: shapes32 records per batch file (default 10000), glyphs28 training\n"
    "                 images (default 60000; test gets N/6), shapes16 images (default 89400),\n"
    "                 zsl-synth instances per class (30);\n"
    "                 inspect of a stand-in: images per split (default 1000) or instances per class\n"
    "\n"
    "GB_DATA_URL_OVERRIDE_<NAME> (NAME upper-cased, '-' as '_'): fetch every file of that dataset\n"
    "from <value>/<file name> instead of the official URLs; checksums are still enforced.\n"
    "exit codes: 0 ok, 2 usage, 3 bad data or checksum mismatch, 5 environment (no curl, no network)\n";

typedef struct {
    const char *data;
    const char *out;
    uint64_t seed;
    long long count; /* -1: the command's default */
    const char *args[4];
    int n_args;
} data_options;

static gb_status parse(int argc, char **argv, data_options *o) {
    memset(o, 0, sizeof *o);
    o->count = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc && gb_cli_is_value(argv[i + 1]);
        if (strcmp(a, "--data") == 0 || strcmp(a, "--out") == 0) {
            if (!has_value) return gb_fail(GB_USAGE, "%s needs a directory", a);
            GB_TRY(gb_cli_check_dir_length(a, argv[i + 1]));
            *(a[2] == 'd' ? &o->data : &o->out) = argv[++i];
        } else if (strcmp(a, "--seed") == 0 || strcmp(a, "--count") == 0) {
            unsigned long long v;
            if (!has_value) return gb_fail(GB_USAGE, "%s needs a value", a);
            GB_TRY(gb_cli_parse_u64(a, argv[++i], &v));
            if (a[2] == 's') {
                o->seed = v;
            } else {
                if (v < 1 || v > 100000000ULL) return gb_fail(GB_USAGE, "--count must be in 1..100000000");
                o->count = (long long)v;
            }
        } else if (a[0] == '-') {
            return gb_fail(GB_USAGE, "unknown option '%s' (see genbench data --help)", a);
        } else if (o->n_args < 4) {
            o->args[o->n_args++] = a;
        } else {
            return gb_fail(GB_USAGE, "too many arguments (see genbench data --help)");
        }
    }
    return GB_OK;
}

static const gb_dataset_info *find_or_usage(const char *name) {
    const gb_dataset_info *ds = gb_dataset_find(name);
    if (!ds) {
        size_t n;
        const gb_dataset_info *all = gb_datasets(&n);
        char names[512];
        size_t used = 0;
        for (size_t i = 0; i < n && used < sizeof names; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "", all[i].name);
        gb_fail(GB_USAGE, "unknown dataset '%s' (known: %s)", name, names);
    }
    return ds;
}

/* ---- list -------------------------------------------------------------------------------- */

static gb_status cmd_list(const data_options *o) {
    const char *root = gb_data_root(o->data);
    size_t n;
    const gb_dataset_info *all = gb_datasets(&n);
    printf("data root: %s\n", root);
    printf("%-18s %-8s %-6s %-22s %s\n", "dataset", "status", "needs", "folder", "when missing");
    for (size_t i = 0; i < n; i++) {
        const gb_dataset_info *ds = &all[i];
        int met, total;
        gb_data_presence p = gb_dataset_presence(root, ds, &met, &total);
        char *dir = gb_dataset_dir(root, ds);
        char frac[32];
        snprintf(frac, sizeof frac, "%d/%d", met, total);
        char fallback[128];
        if (p == GB_DATA_PRESENT) snprintf(fallback, sizeof fallback, "-");
        else if (ds->standin) snprintf(fallback, sizeof fallback, "stand-in synthetic:%s", ds->standin);
        else snprintf(fallback, sizeof fallback, "no stand-in (%s)", ds->note ? ds->note : "unavailable");
        printf("%-18s %-8s %-6s %-22s %s\n", ds->name, gb_data_presence_name(p), frac, dir ? dir : "?", fallback);
        free(dir);
    }
    return GB_OK;
}

/* ---- verify ------------------------------------------------------------------------------ */

/* Verify one dataset's downloads; counts mismatches and remembers the first for the message. */
/* hash = 0: the files were already hashed for another dataset sharing them (xlsa17.zip). */
static gb_status verify_one(const char *root, const gb_dataset_info *ds, int named, int hash, int *mismatches) {
    if (ds->derived_from) {
        printf("%s: derived from %s; its pixels have no published checksum (%s)\n", ds->name, ds->derived_from,
               ds->note);
        return verify_one(root, gb_dataset_find(ds->derived_from), named, hash, mismatches);
    }
    gb_data_presence p = gb_dataset_presence(root, ds, NULL, NULL);
    if (!hash) {
        if (p == GB_DATA_PRESENT) printf("%s: present (its archive is listed above)\n", ds->name);
        return GB_OK;
    }
    int on_disk = 0;
    for (int i = 0; i < ds->file_count; i++) {
        const gb_data_file *f = &ds->files[i];
        char *path = gb_dataset_path(root, ds, f->name);
        if (!path) return gb_fail(GB_ENV, "out of memory");
        gb_file_report r;
        gb_status s = gb_data_file_check(path, f, &r);
        if (s != GB_OK) {
            free(path);
            return s;
        }
        if (r.check != GB_FILE_MISSING) on_disk++;
        switch (r.check) {
        case GB_FILE_OK: printf("%s: ok (%s %s)\n", path, r.algorithm, r.got); break;
        case GB_FILE_UNVERIFIABLE:
            printf("%s: unverifiable (%s; %llu bytes)\n", path, f->source, (unsigned long long)r.bytes);
            break;
        case GB_FILE_MISMATCH:
            if (*mismatches == 0) {
                if (f->bytes && r.bytes != f->bytes)
                    gb_fail(GB_INPUT, "%s: size %llu, published %llu (%s %s, expected %s); delete it and run "
                            "`genbench data fetch %s`", path, (unsigned long long)r.bytes,
                            (unsigned long long)f->bytes, r.algorithm, r.got, r.expected, ds->name);
                else
                    gb_fail(GB_INPUT, "%s: %s mismatch: expected %s, got %s; delete it and run `genbench data "
                            "fetch %s`", path, r.algorithm, r.expected, r.got, ds->name);
            }
            (*mismatches)++;
            printf("%s: MISMATCH %s expected %s got %s (%llu bytes%s)\n", path, r.algorithm, r.expected, r.got,
                   (unsigned long long)r.bytes, f->bytes ? "" : ", size not published");
            break;
        case GB_FILE_MISSING:
            if (p == GB_DATA_PRESENT) printf("%s: not kept (the dataset is unpacked; nothing to hash)\n", path);
            else if (named) printf("%s: missing\n", path);
            break;
        }
        free(path);
    }
    if (p == GB_DATA_PRESENT && on_disk == 0 && ds->file_count)
        printf("%s: present but unverifiable (the downloaded files are gone; the unpacked files have no published "
               "checksums)\n", ds->name);
    if (p != GB_DATA_PRESENT && on_disk == 0) {
        if (named)
            return gb_fail(GB_INPUT, "%s is %s under %s; fetch it with `genbench data fetch %s`", ds->name,
                           gb_data_presence_name(p), root, ds->name);
        printf("%s: %s\n", ds->name, gb_data_presence_name(p));
    }
    return GB_OK;
}

static gb_status cmd_verify(const data_options *o) {
    const char *root = gb_data_root(o->data);
    int mismatches = 0;
    if (o->n_args > 1) return gb_fail(GB_USAGE, "data verify takes at most one dataset name");
    if (o->n_args == 1) {
        const gb_dataset_info *ds = find_or_usage(o->args[0]);
        if (!ds) return GB_USAGE;
        GB_TRY(verify_one(root, ds, 1, 1, &mismatches));
    } else {
        size_t n;
        const gb_dataset_info *all = gb_datasets(&n);
        for (size_t i = 0; i < n; i++) {
            /* Shared archives (xlsa17.zip, CUB_NAB_Data.zip) are hashed once. */
            int seen = 0;
            for (size_t j = 0; j < i; j++) seen |= all[j].files == all[i].files && all[i].files;
            if (all[i].derived_from) continue;
            GB_TRY(verify_one(root, &all[i], 0, !seen, &mismatches));
        }
    }
    return mismatches ? GB_INPUT : GB_OK;
}

/* ---- fetch ------------------------------------------------------------------------------- */

static gb_status cmd_fetch(const data_options *o) {
    if (o->n_args != 1) return gb_fail(GB_USAGE, "data fetch needs exactly one dataset name");
    const gb_dataset_info *ds = find_or_usage(o->args[0]);
    if (!ds) return GB_USAGE;
    return gb_data_fetch(gb_data_root(o->data), ds);
}

/* ---- inspect (cli/data_inspect.c) -------------------------------------------------------- */

static gb_status cmd_inspect(const data_options *o) {
    if (o->n_args != 1) return gb_fail(GB_USAGE, "data inspect needs one dataset name, stand-in name or path");
    return gb_data_inspect(o->args[0], o->data, o->seed, o->count);
}

/* ---- synth ------------------------------------------------------------------------------- */

static gb_status synth_zsl(gb_zsl_synth_style style, const data_options *o) {
    gb_zsl_synth_config c;
    gb_zsl_synth_default(&c, style);
    if (o->count > 0) c.per_class = (int)o->count;
    gb_zsl_set z;
    GB_TRY(gb_zsl_synth_make(&z, &c, o->seed));
    gb_status s = gb_mkdirs(o->out);
    if (s == GB_OK)
        s = style == GB_ZSL_SYNTH_ATT ? gb_zsl_write_gbu(&z, o->out) : gb_zsl_write_text(&z, o->out, "cub", "easy");
    if (s == GB_OK)
        printf("wrote %s: %s, %d classes (%d unseen), %d instances, seed %llu (%s)\n", o->out, z.identity,
               z.num_classes, z.n_unseen, z.n, (unsigned long long)o->seed,
               style == GB_ZSL_SYNTH_ATT ? "res101.mat + att_splits.mat, as xlsa17/data/<set>"
                                         : "CUB2011 easy-split files, as the GAZSL archive");
    gb_zsl_set_free(&z);
    return s;
}

static gb_status cmd_synth(const data_options *o) {
    if (o->n_args != 1)
        return gb_fail(GB_USAGE, "data synth needs one kind: shapes32, glyphs28, shapes16, zsl-synth-att or "
                       "zsl-synth-text");
    if (!o->out) return gb_fail(GB_USAGE, "data synth needs --out DIR");
    const char *kind = o->args[0];
    if (strcmp(kind, "shapes32") == 0) {
        int per_file = o->count > 0 ? (int)o->count : GB_SHAPES32_RECORDS_PER_FILE;
        GB_TRY(gb_shapes32_write_cifar_bin(o->out, o->seed, per_file));
        printf("wrote %s/cifar-10-batches-bin: 5 x %d training and %d test records (CIFAR-10 binary layout), "
               "seed %llu\n", o->out, per_file, per_file, (unsigned long long)o->seed);
        return GB_OK;
    }
    if (strcmp(kind, "glyphs28") == 0) {
        int train = o->count > 0 ? (int)o->count : 60000;
        int test = train / 6 > 0 ? train / 6 : 1;
        GB_TRY(gb_glyphs28_write_idx(o->out, o->seed, train, test));
        printf("wrote %s: %d training and %d test images (gzipped IDX, as MNIST), seed %llu\n", o->out, train, test,
               (unsigned long long)o->seed);
        return GB_OK;
    }
    if (strcmp(kind, "shapes16") == 0) {
        int count = o->count > 0 ? (int)o->count : 89400;
        GB_TRY(gb_sprites_write_standin(o->out, o->seed, count));
        printf("wrote %s: %d images as %s + %s (the sprites layout), seed %llu\n", o->out, count, GB_SPRITES_IMAGES,
               GB_SPRITES_LABELS, (unsigned long long)o->seed);
        return GB_OK;
    }
    if (strcmp(kind, "zsl-synth-att") == 0) return synth_zsl(GB_ZSL_SYNTH_ATT, o);
    if (strcmp(kind, "zsl-synth-text") == 0) return synth_zsl(GB_ZSL_SYNTH_TEXT, o);
    return gb_fail(GB_USAGE, "unknown stand-in '%s' (known: shapes32, glyphs28, shapes16, zsl-synth-att, "
                   "zsl-synth-text)", kind);
}

gb_status gb_cmd_data(int argc, char **argv) {
    if (argc < 2 || gb_cli_wants_help(argc, argv)) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? gb_fail(GB_USAGE, "data needs a command") : GB_OK;
    }
    data_options o;
    GB_TRY(parse(argc, argv, &o));
    const char *cmd = argv[1];
    if (strcmp(cmd, "list") == 0) return cmd_list(&o);
    if (strcmp(cmd, "verify") == 0) return cmd_verify(&o);
    if (strcmp(cmd, "fetch") == 0) return cmd_fetch(&o);
    if (strcmp(cmd, "inspect") == 0) return cmd_inspect(&o);
    if (strcmp(cmd, "synth") == 0) return cmd_synth(&o);
    return gb_fail(GB_USAGE, "unknown data command '%s' (list, verify, fetch, inspect, synth)", cmd);
}
