/* tests/test_cmd_fid_images.c - dataset splits and uint8 image arrays (.npy, .npz 'arr_0') as
 * inputs of `genbench fid|kid|isc` (cli/inception_inputs.h, datasets/image_splits.h), compiled
 * in with the commands as tests/test_cmd_fid.c does. The data roots are written here in the real formats (CIFAR-10
 * binary batches, gzipped IDX) from the procedural stand-ins; the network runs on random
 * weights in the real format (tests/peers/inception_ref.py).
 *
 * The independent reference is the folder route, tested against pytorch-fid's features in
 * tests/test_cmd_fid.c: a split or an array must give the same bits as a folder of lossless PNGs
 * of the same images (grey ones written as R = G = B, which is what Pillow's convert("RGB")
 * makes of a grey file). Then the error paths: a missing dataset, a count beyond the split,
 * unknown splits, a path that looks like a split, arrays of no clear layout or the wrong dtype,
 * and network options that no input needed.
 */
#include "../cli/cli_common.c"
#include "../cli/cmd_fid.c"
#include "../cli/stats_cache.c"
#include "../cli/cmd_isc.c"
#include "../cli/inception_inputs.c"
#include "../cli/metric_inputs.c"

#include <criterion/criterion.h>
#include <glob.h>
#include <unistd.h>

#include "core/npy.h"
#include "core/png.h"
#include "core/sha256.h"
#include "datasets/cifar10.h"
#include "datasets/glyphs28.h"
#include "datasets/idx.h"
#include "datasets/shapes32.h"
#include "tests/cmd_capture.h"
#include "tests/fixture.h"
#include "tests/zip_writer.h"

/* The random weights and their hash (written by tests/peers/inception_ref.py). */
static void weights(char *w, size_t w_size, char h[65]) {
    const char *root = getenv("GB_FIXTURES");
    cr_assert(root, "GB_FIXTURES is not set");
    snprintf(w, w_size, "%s/inception/weights_zip.pth", root);
    cr_assert_eq(gb_sha256_file(w, h), GB_OK, "run tests/peers/inception_ref.py first: %s", gb_last_error());
}

/* The first n images of set as PNG files 000.png, 001.png, ... in dir (grey repeated). */
static void write_pngs(const char *dir, const gb_image_set *set, int n) {
    const int hw = set->height * set->width;
    uint8_t *rgb = malloc(3 * (size_t)hw);
    cr_assert_not_null(rgb);
    for (int i = 0; i < n; i++) {
        const uint8_t *img = set->pixels + (size_t)i * gb_image_set_image_bytes(set);
        for (int p = 0; p < hw; p++)
            for (int c = 0; c < 3; c++) rgb[3 * p + c] = img[(set->channels == 3 ? c : 0) * hw + p];
        char path[1100];
        snprintf(path, sizeof path, "%.1000s/%03d.png", dir, i);
        cr_assert_eq(gb_png_write_rgb(path, rgb, set->width, set->height), GB_OK, "%s", gb_last_error());
    }
    free(rgb);
}

/* `fid INPUT --stats-out FILE` and the statistics it wrote. */
static void stats_of(gb_fid_stats *st, const char *input, const char *root, const char *protocol) {
    char w[1024], h[65], out[] = "/tmp/gb_splits_stats_XXXXXX", last[512];
    weights(w, sizeof w, h);
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    close(fd);
    char *argv[] = {"fid",         (char *)input, "--stats-out", out,    "--data",     (char *)root, "--weights",
                    w,             "--weights-sha256", h,        "--protocol", (char *)protocol, "--batch",
                    "2",           "--device",    "cpu"};
    cr_assert_eq(run_cmd(gb_cmd_fid, argv, (int)(sizeof argv / sizeof argv[0]), last, sizeof last), GB_OK, "%s: %s", input, gb_last_error());
    cr_assert_eq(gb_fid_stats_load(st, out, NULL), GB_OK, "%s", gb_last_error());
    unlink(out);
}

static void expect_same_stats(const gb_fid_stats *a, const gb_fid_stats *b, const char *what) {
    cr_assert_eq(a->dim, b->dim);
    cr_expect_eq(a->n, b->n, "%s: n %llu against %llu", what, (unsigned long long)a->n, (unsigned long long)b->n);
    cr_expect_eq(memcmp(a->mu, b->mu, a->dim * sizeof *a->mu), 0, "%s: mu differs", what);
    cr_expect_eq(memcmp(a->sigma, b->sigma, a->dim * a->dim * sizeof *a->sigma), 0, "%s: sigma differs", what);
}

static void remove_tree(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_expect_eq(system(cmd), 0);
}

/* A data root with small CIFAR-10 and MNIST files; the user's statistics cache is pointed into
 * it too, so no test reads or writes the real ~/.cache (each test runs in its own process). */
static void make_root(char *root) {
    cr_assert_not_null(mkdtemp(root));
    char dir[256];
    snprintf(dir, sizeof dir, "%s/user-cache", root);
    cr_assert_eq(setenv("XDG_CACHE_HOME", dir, 1), 0);
    snprintf(dir, sizeof dir, "%s/cifar10", root);
    cr_assert_eq(gb_shapes32_write_cifar_bin(dir, 7, 4), GB_OK, "%s", gb_last_error());
    snprintf(dir, sizeof dir, "%s/mnist", root);
    cr_assert_eq(gb_glyphs28_write_idx(dir, 7, 6, 3), GB_OK, "%s", gb_last_error());
}

/* cifar10:train:3 (RGB, the first of five batch files) and mnist:test (grey) against folders of
 * the same images as PNG, under two protocols: the same statistics, bit for bit. */
Test(cmd_fid_images, split_equals_a_folder_of_its_pngs, .timeout = 300) {
    char root[] = "/tmp/gb_splits_root_XXXXXX", folder[] = "/tmp/gb_splits_png_XXXXXX";
    make_root(root);
    struct {
        const char *input, *protocol;
        int n;
    } cases[] = {{"cifar10:train:3", "legacy-tf", 3}, {"mnist:test", "clean", 3}};
    for (int k = 0; k < 2; k++) {
        gb_image_set set;
        if (k == 0) {
            char dir[256];
            snprintf(dir, sizeof dir, "%s/cifar10", root);
            cr_assert_eq(gb_cifar10_load(&set, dir, GB_CIFAR10_TRAIN, 4), GB_OK, "%s", gb_last_error());
        } else {
            char dir[256];
            snprintf(dir, sizeof dir, "%s/mnist", root);
            cr_assert_eq(gb_idx_load(&set, dir, "mnist", 0), GB_OK, "%s", gb_last_error());
            cr_assert_eq(set.channels, 1);
        }
        cr_assert_not_null(mkdtemp(folder));
        write_pngs(folder, &set, cases[k].n);
        gb_image_set_free(&set);
        gb_fid_stats from_split, from_folder;
        stats_of(&from_split, cases[k].input, root, cases[k].protocol);
        stats_of(&from_folder, folder, root, cases[k].protocol);
        expect_same_stats(&from_split, &from_folder, cases[k].input);
        gb_fid_stats_free(&from_split);
        gb_fid_stats_free(&from_folder);
        remove_tree(folder);
        strcpy(folder, "/tmp/gb_splits_png_XXXXXX");
    }
    remove_tree(root);
}

/* `fid SPLIT --stats-out FILE` on the cpu with the given protocol, batch and, when no_cache, --no-cache:
 * the statistics written, and stderr's and stdout's text in captured_err / captured. */
static void cached_stats_of(gb_fid_stats *st, const char *root, const char *protocol, const char *batch,
                            int no_cache) {
    char w[1024], h[65], out[] = "/tmp/gb_cache_stats_XXXXXX", last[512];
    weights(w, sizeof w, h);
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    close(fd);
    char *argv[] = {"fid",      "cifar10:train:3", "--stats-out", out,   "--data",     (char *)root,
                    "--weights", w,                "--weights-sha256", h, "--protocol", (char *)protocol,
                    "--batch",  (char *)batch,     "--device",    "cpu", "--no-cache"};
    int argc = (int)(sizeof argv / sizeof argv[0]) - (no_cache ? 0 : 1);
    cr_assert_eq(run_cmd(gb_cmd_fid, argv, argc, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_fid_stats_load(st, out, NULL), GB_OK, "%s", gb_last_error());
    unlink(out);
}

/* The number of files in the statistics cache folder `entries`, and the one path when there is one. */
static size_t files_in(const char *entries, char *one, size_t size) {
    char pattern[1300];
    snprintf(pattern, sizeof pattern, "%s/*", entries);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0) return 0;
    size_t n = g.gl_pathc;
    if (n == 1 && one) snprintf(one, size, "%s", g.gl_pathv[0]);
    globfree(&g);
    return n;
}

/* The number of files in the data root's statistics cache, and the one path when there is one. */
static size_t cache_files(const char *root, char *one, size_t size) {
    char entries[256];
    snprintf(entries, sizeof entries, "%s/cache/fid-stats", root);
    return files_in(entries, one, size);
}

/* The cache key holds the probe: the same split (same files' SHA-256) whose first image the
 * running build sees differently gets another file name. */
Test(cmd_fid_images, cache_key_holds_the_probe, .timeout = 120) {
    char root[] = "/tmp/gb_splits_root_XXXXXX", w[1024], h[65];
    gb_stats_cache_entry first, second;
    make_root(root);
    weights(w, sizeof w, h);
    gb_cli_network net = GB_CLI_NETWORK_DEFAULTS;
    net.weights = w, net.weights_sha256 = h, net.device = "cpu", net.batch = 2, net.data_root = root;
    gb_cli_input in;
    cr_assert_eq(gb_cli_input_read(&in, "cifar10:train:3", &net, "features"), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_stats_cache_locate(&first, &in, &net), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_stats_cache_locate(&second, &in, &net), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(first.in_data_root, second.in_data_root, "the key is a function of its inputs");
    cr_expect_str_eq(first.per_user, second.per_user);
    in.set.pixels[0] ^= 0x40;
    cr_assert_eq(gb_stats_cache_locate(&second, &in, &net), GB_OK, "%s", gb_last_error());
    const char *a = first.in_data_root, *b = second.in_data_root;
    cr_expect_str_neq(a, b, "the probe's features are part of the key");
    cr_expect_eq(strncmp(a, b, strlen(a) - strlen("0123456789abcdef.npz")), 0, "%s / %s", a, b);
    /* the user's cache holds the same name */
    cr_expect_str_eq(strrchr(first.per_user, '/'), strrchr(a, '/'), "%s / %s", first.per_user, a);
    gb_cli_input_free(&in);
    gb_cli_network_close(&net);
    remove_tree(root);
}

/* A split's statistics are cached under the data root (cli/stats_cache.h): the second run
 * reads the file its first run wrote and gives the same bits; --no-cache and another protocol
 * or batch size compute them again (the latter two under new names); an entry that cannot be
 * read, or records other provenance than its name stands for, is warned about, recomputed and
 * rewritten; a cache that cannot be written is a warning, not a failed measurement. */
Test(cmd_fid_images, split_statistics_cache, .timeout = 300) {
    char root[] = "/tmp/gb_splits_root_XXXXXX", entry[1024];
    make_root(root);
    gb_fid_stats first, again;
    cached_stats_of(&first, root, "clean", "2", 0);
    cr_expect_null(strstr(captured, "statistics from the cache"), "%s", captured);
    cr_assert_eq(cache_files(root, entry, sizeof entry), 1);
    cr_expect_not_null(strstr(entry, "/cache/fid-stats/cifar10-train-3-clean-"), "%s", entry);

    cached_stats_of(&again, root, "clean", "2", 0);
    cr_expect_not_null(strstr(captured, "A: cifar10:train:3 (cifar10:train, the first 3 of 20 images, sha256 "),
                       "%s", captured);
    cr_expect_not_null(strstr(captured, "; statistics from the cache, d = 2048, n = 3)"), "%s", captured);
    cr_expect_not_null(strstr(captured_err, "FID statistics of cifar10:train:3 from 3 samples in 2048 dimensions"),
                       "a cached entry warns about too few samples as a fresh one does: %s", captured_err);
    expect_same_stats(&again, &first, "from the cache");
    gb_fid_stats_free(&again);
    cached_stats_of(&again, root, "clean", "2", 1);
    cr_expect_null(strstr(captured, "statistics from the cache"), "--no-cache: %s", captured);
    expect_same_stats(&again, &first, "--no-cache");
    gb_fid_stats_free(&again);
    cr_expect_eq(cache_files(root, NULL, 0), 1, "--no-cache writes nothing");

    cached_stats_of(&again, root, "pytorch-fid", "2", 0);
    gb_fid_stats_free(&again);
    cr_expect_eq(cache_files(root, NULL, 0), 2, "another protocol, another entry");
    cached_stats_of(&again, root, "clean", "3", 0);
    cr_expect_null(strstr(captured, "statistics from the cache"), "another batch size: %s", captured);
    gb_fid_stats_free(&again);
    cr_expect_eq(cache_files(root, NULL, 0), 3, "another batch size, another entry");

    /* a damaged entry (cut short): warned about, recomputed, rewritten */
    cr_assert_eq(truncate(entry, 100), 0);
    cached_stats_of(&again, root, "clean", "2", 0);
    cr_expect_not_null(strstr(captured_err, "cannot be used"), "%s", captured_err);
    cr_expect_null(strstr(captured, "statistics from the cache"), "%s", captured);
    expect_same_stats(&again, &first, "after a damaged entry");
    gb_fid_stats_free(&again);
    gb_fid_stats reread;
    cr_expect_eq(gb_fid_stats_load(&reread, entry, NULL), GB_OK, "rewritten: %s", gb_last_error());
    gb_fid_stats_free(&reread);

    /* an entry recording other provenance than its name: not used */
    gb_fid_stats other = first;
    other.n = 99;
    cr_assert_eq(gb_fid_stats_save(entry, &other, GB_FID_LAYOUT_PYTORCH_FID), GB_OK, "%s", gb_last_error());
    cached_stats_of(&again, root, "clean", "2", 0);
    cr_expect_not_null(strstr(captured_err, "records n = 99"), "%s", captured_err);
    expect_same_stats(&again, &first, "after a mismatching entry");
    gb_fid_stats_free(&again);

    /* two inputs, one from the cache: the FID line of a fresh computation */
    char w[1024], h[65], last[512], cached_line[512];
    weights(w, sizeof w, h);
    char *two[] = {"fid", "cifar10:test", "cifar10:train:3", "--data", root, "--weights", w, "--weights-sha256", h,
                   "--batch", "2", "--device", "cpu", "--no-cache"};
    cr_assert_eq(run_cmd(gb_cmd_fid, two, 13, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_assert_eq(run_cmd(gb_cmd_fid, two, 13, cached_line, sizeof cached_line), GB_OK, "%s", gb_last_error());
    cr_expect_not_null(strstr(captured, "B: cifar10:train:3 (cifar10:train, the first 3 of 20 images, sha256 "),
                       "%s", captured);
    cr_expect_not_null(strstr(captured, "; statistics from the cache, d = 2048"), "%s", captured);
    char fresh_line[512];
    cr_assert_eq(run_cmd(gb_cmd_fid, two, 14, fresh_line, sizeof fresh_line), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(cached_line, fresh_line);

    /* sFID's features (2023-d) have entries of their own, also under fid's protocol */
    size_t before = cache_files(root, NULL, 0);
    char *legacy[] = {"fid", "cifar10:train:3", "--stats-out", "/dev/null", "--data", root, "--weights", w,
                      "--weights-sha256", h, "--batch", "2", "--device", "cpu", "--protocol", "legacy-tf"};
    cr_assert_eq(run_cmd(gb_cmd_fid, legacy, 16, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_assert_eq(run_cmd(gb_cmd_sfid, legacy, 16, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect_null(strstr(captured, "statistics from the cache"), "sfid must not read fid's entry: %s", captured);
    cr_expect_eq(cache_files(root, NULL, 0), before + 2);

    /* no cache folder can be made under the data root: the entry goes to the user's cache
     * ($XDG_CACHE_HOME here) and is read from there */
    char cmd[512], user[] = "/tmp/gb_user_cache_XXXXXX", user_entry[1200];
    cr_assert_not_null(mkdtemp(user));
    cr_assert_eq(setenv("XDG_CACHE_HOME", user, 1), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/cache' && touch '%s/cache'", root, root);
    cr_assert_eq(system(cmd), 0);
    cached_stats_of(&again, root, "clean", "2", 0);
    cr_expect_null(strstr(captured_err, "statistics cache: not written"), "%s", captured_err);
    expect_same_stats(&again, &first, "written to the user's cache");
    gb_fid_stats_free(&again);
    snprintf(cmd, sizeof cmd, "%s/genbench/fid-stats", user);
    cr_assert_eq(files_in(cmd, user_entry, sizeof user_entry), 1, "one entry in %s", cmd);
    cr_expect_not_null(strstr(user_entry, "/genbench/fid-stats/cifar10-train-3-clean-"), "%s", user_entry);
    cached_stats_of(&again, root, "clean", "2", 0);
    cr_expect_not_null(strstr(captured, "; statistics from the cache, d = 2048"), "%s", captured);
    expect_same_stats(&again, &first, "read from the user's cache");
    gb_fid_stats_free(&again);

    /* the data root writable again, holding a damaged copy of that entry: the user's copy is
     * read and the damaged one replaced by it, so the warning is not repeated on every run */
    char damaged[1400];
    snprintf(damaged, sizeof damaged, "%s/cache/fid-stats/%s", root, strrchr(user_entry, '/') + 1);
    snprintf(cmd, sizeof cmd, "rm -f '%s/cache' && mkdir -p '%s/cache/fid-stats'", root, root);
    cr_assert_eq(system(cmd), 0);
    FILE *bad = fopen(damaged, "w");
    cr_assert_not_null(bad);
    fputs("not an npz", bad);
    fclose(bad);
    cached_stats_of(&again, root, "clean", "2", 0);
    cr_expect_not_null(strstr(captured_err, "cannot be used"), "%s", captured_err);
    cr_expect_not_null(strstr(captured, "; statistics from the cache, d = 2048"), "%s", captured);
    expect_same_stats(&again, &first, "the user's copy beside a damaged one");
    gb_fid_stats_free(&again);
    cr_expect_eq(gb_fid_stats_load(&again, damaged, NULL), GB_OK, "replaced: %s", gb_last_error());
    gb_fid_stats_free(&again);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/cache' && touch '%s/cache'", root, root);
    cr_assert_eq(system(cmd), 0);

    /* neither place can be written: a warning, and the statistics all the same */
    snprintf(cmd, sizeof cmd, "%s/not-a-folder", user);
    FILE *file = fopen(cmd, "w");
    cr_assert_not_null(file);
    fclose(file);
    cr_assert_eq(setenv("XDG_CACHE_HOME", cmd, 1), 0);
    cached_stats_of(&again, root, "clean", "2", 0);
    cr_expect_not_null(strstr(captured_err, "statistics cache: not written (under the data root: "), "%s",
                       captured_err);
    expect_same_stats(&again, &first, "without a cache");
    gb_fid_stats_free(&again);
    unsetenv("XDG_CACHE_HOME");
    remove_tree(user);
    gb_fid_stats_free(&first);
    remove_tree(root);
}

/* The input line names the split, the count taken, the split's size and its SHA-256; isc and
 * kid take splits too (isc's logits from the same images as a folder's: the same score). */
Test(cmd_fid_images, describe_and_other_commands, .timeout = 300) {
    char root[] = "/tmp/gb_splits_root_XXXXXX", folder[] = "/tmp/gb_splits_png_XXXXXX", w[1024], h[65], last[512];
    make_root(root);
    weights(w, sizeof w, h);
    char *fid[] = {"fid", "cifar10:train:2", "cifar10:test", "--data", root, "--weights", w, "--weights-sha256", h,
                   "--device", "cpu"};
    cr_assert_eq(run_cmd(gb_cmd_fid, fid, 11, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect_not_null(strstr(captured, "A: cifar10:train:2 (cifar10:train, the first 2 of 20 images, sha256 "),
                       "%s", captured);
    cr_expect_not_null(strstr(captured, "B: cifar10:test (cifar10:test, the first 4 of 4 images, sha256 "), "%s",
                       captured);
    cr_expect(isfinite(strtod(last, NULL)), "%s", last);

    gb_image_set set;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/cifar10", root);
    cr_assert_eq(gb_cifar10_load(&set, dir, GB_CIFAR10_TEST, 4), GB_OK, "%s", gb_last_error());
    cr_assert_not_null(mkdtemp(folder));
    write_pngs(folder, &set, 4);
    gb_image_set_free(&set);
    char *isc_split[] = {"isc", "cifar10:test", "--splits", "2", "--data", root, "--weights", w,
                         "--weights-sha256", h, "--device", "cpu"};
    char *isc_folder[] = {"isc", folder, "--splits", "2", "--weights", w, "--weights-sha256", h, "--device", "cpu"};
    double a = run_for_value(gb_cmd_isc, isc_split, 12, NULL), b = run_for_value(gb_cmd_isc, isc_folder, 10, NULL);
    cr_expect(isfinite(a) && a == b, "isc of the split %.10g, of its PNGs %.10g", a, b);
    char *kid[] = {"kid", "cifar10:test", folder, "--subsets", "2", "--subset-size", "2", "--data", root,
                   "--weights", w, "--weights-sha256", h, "--device", "cpu"};
    cr_assert_eq(run_cmd(gb_cmd_kid, kid, 15, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect_not_null(strstr(captured, "GEN: cifar10:test (cifar10:test, the first 4 of 4 images"), "%s", captured);
    remove_tree(folder);
    remove_tree(root);
}

/* Bad splits: exit 2 for a name the table does not have or a zero count, exit 3 for a dataset
 * that is not under the data root (naming the fetch command) and for a count beyond the split. */
Test(cmd_fid_images, bad_splits, .timeout = 120) {
    char root[] = "/tmp/gb_splits_root_XXXXXX", empty[] = "/tmp/gb_splits_empty_XXXXXX", w[1024], h[65], last[512];
    make_root(root);
    cr_assert_not_null(mkdtemp(empty));
    weights(w, sizeof w, h);
    struct {
        const char *input, *root;
        gb_status want;
        const char *says;
    } cases[] = {
        {"cifar10:valid", root, GB_USAGE, "no split 'valid'"},
        {"cifar10:", root, GB_USAGE, "expected NAME:SPLIT[:N]"},
        {"cifar10:train:0", root, GB_USAGE, "N must be a positive integer"},
        {"cifar10:train:x", root, GB_USAGE, "N must be a positive integer"},
        {"cifar10:train:-1", root, GB_USAGE, "N must be a positive integer"},
        {"cifar10:test:5", root, GB_INPUT, "asks for the first 5 images, but cifar10:test holds 4"},
        {"cifar10:test", empty, GB_INPUT, "genbench data fetch cifar10"},
        {"cub32:all", empty, GB_INPUT, "genbench data fetch cub"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *argv[] = {"fid", (char *)cases[k].input, "mnist:test", "--data", (char *)cases[k].root, "--weights", w,
                        "--weights-sha256", h, "--device", "cpu"};
        cr_expect_eq(run_cmd(gb_cmd_fid, argv, 11, last, sizeof last), cases[k].want, "%s", cases[k].input);
        cr_expect_not_null(strstr(gb_last_error(), cases[k].says), "%s: %s", cases[k].input, gb_last_error());
    }
    /* the second input's split is loaded and its count checked before the first input (a
     * folder) goes through the network: with weights that do not exist, reaching the network
     * would be exit 5 */
    char folder[1100];
    snprintf(folder, sizeof folder, "%s/inception/images", getenv("GB_FIXTURES"));
    char *order[] = {"fid", folder, "cifar10:test:5", "--data", root, "--weights", "/nonexistent/w.pth",
                     "--weights-sha256", h, "--device", "cpu"};
    cr_expect_eq(run_cmd(gb_cmd_fid, order, 11, last, sizeof last), GB_INPUT, "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "holds 4"), "%s", gb_last_error());
    remove_tree(empty);
    remove_tree(root);
    /* every split the help texts list is one the table knows */
    char names[] = GB_IMAGE_SPLIT_NAMES, *entries_left, *splits_left;
    for (char *entry = strtok_r(names, ", ", &entries_left); entry; entry = strtok_r(NULL, ", ", &entries_left)) {
        char *colon = strchr(entry, ':');
        cr_assert_not_null(colon, "%s", entry);
        *colon = '\0';
        for (char *split = strtok_r(colon + 1, "|", &splits_left); split; split = strtok_r(NULL, "|", &splits_left))
            cr_expect_eq(gb_image_split_check(entry, split), GB_OK, "%s:%s: %s", entry, split, gb_last_error());
    }
}

/* A folder that exists under a split's name is that folder: run from a directory holding a
 * folder named "cifar10:test", with a data root that has no CIFAR-10 at all. */
Test(cmd_fid_images, an_existing_path_is_a_path, .timeout = 120) {
    char root[] = "/tmp/gb_splits_root_XXXXXX", cwd[] = "/tmp/gb_splits_cwd_XXXXXX", w[1024], h[65], last[512],
         back[1024];
    make_root(root);
    cr_assert_not_null(mkdtemp(cwd));
    weights(w, sizeof w, h);
    gb_image_set set;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/cifar10", root);
    cr_assert_eq(gb_cifar10_load(&set, dir, GB_CIFAR10_TEST, 4), GB_OK, "%s", gb_last_error());
    snprintf(dir, sizeof dir, "%s/cifar10:test", cwd);
    cr_assert_eq(mkdir(dir, 0755), 0);
    write_pngs(dir, &set, 2);
    gb_image_set_free(&set);
    cr_assert_not_null(getcwd(back, sizeof back));
    cr_assert_eq(chdir(cwd), 0);
    char *argv[] = {"fid", "cifar10:test", "--stats-out", "s.npz", "--data", cwd, "--weights", w,
                    "--weights-sha256", h, "--device", "cpu"};
    gb_status s = run_cmd(gb_cmd_fid, argv, 12, last, sizeof last);
    cr_assert_eq(chdir(back), 0);
    cr_expect_eq(s, GB_OK, "%s", gb_last_error());
    cr_expect_not_null(strstr(captured, "A: cifar10:test (images, protocol clean, d = 2048, n = 2)"), "%s", captured);
    remove_tree(cwd);
    remove_tree(root);
}

/* The images of set as a uint8 array file: [n, c, h, w] .npy, or [n, h, w, c] under 'arr_0' of an
 * .npz (np.savez's sample batches) when channels_last. */
static void write_array(const char *path, const gb_image_set *set, int channels_last) {
    const size_t n = (size_t)set->count, c = (size_t)set->channels, plane = (size_t)set->height * set->width;
    uint8_t *data = malloc(n * c * plane);
    cr_assert_not_null(data);
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < c; k++)
            for (size_t p = 0; p < plane; p++) {
                uint8_t v = set->pixels[(i * c + k) * plane + p];
                if (channels_last) data[(i * plane + p) * c + k] = v;
                else data[(i * c + k) * plane + p] = v;
            }
    size_t nchw[4] = {n, c, (size_t)set->height, (size_t)set->width}, nhwc[4] = {n, nchw[2], nchw[3], c};
    gb_npy_array a = gb_npy_view(GB_NPY_U8, 4, channels_last ? nhwc : nchw, data);
    if (gb_cli_has_suffix(path, ".npz")) {
        const char *key = "arr_0";
        cr_assert_eq(gb_npz_save(path, &key, &a, 1, GB_NPZ_STORED), GB_OK, "%s", gb_last_error());
    } else {
        cr_assert_eq(gb_npy_save(path, &a), GB_OK, "%s", gb_last_error());
    }
    free(data);
}

/* CIFAR-layout test images as an [n, c, h, w] .npy and an [n, h, w, c] .npz, MNIST-layout grey
 * ones as an [n, h, w, 1] .npy: the same statistics as folders of their PNGs, bit for bit; and
 * isc of the .npz gives the folder's score. */
Test(cmd_fid_images, image_arrays_equal_a_folder_of_their_pngs, .timeout = 300) {
    char root[] = "/tmp/gb_arrays_root_XXXXXX", folder[] = "/tmp/gb_arrays_png_XXXXXX", w[1024], h[65];
    make_root(root);
    weights(w, sizeof w, h);
    for (int grey = 0; grey < 2; grey++) {
        gb_image_set set;
        char dir[256];
        snprintf(dir, sizeof dir, grey ? "%s/mnist" : "%s/cifar10", root);
        if (grey) cr_assert_eq(gb_idx_load(&set, dir, "mnist", 0), GB_OK, "%s", gb_last_error());
        else cr_assert_eq(gb_cifar10_load(&set, dir, GB_CIFAR10_TEST, 4), GB_OK, "%s", gb_last_error());
        cr_assert_not_null(mkdtemp(folder));
        write_pngs(folder, &set, set.count);
        char npy[1100], npz[1100];
        snprintf(npy, sizeof npy, "%s.npy", folder);
        snprintf(npz, sizeof npz, "%s.npz", folder);
        write_array(npy, &set, grey);
        write_array(npz, &set, 1);
        gb_image_set_free(&set);
        gb_fid_stats from_folder, from_npy, from_npz;
        stats_of(&from_folder, folder, root, "clean");
        stats_of(&from_npy, npy, root, "clean");
        stats_of(&from_npz, npz, root, "clean");
        expect_same_stats(&from_npy, &from_folder, grey ? "grey [n, h, w, 1] .npy" : "[n, c, h, w] .npy");
        expect_same_stats(&from_npz, &from_folder, grey ? "grey .npz arr_0" : ".npz arr_0");
        if (!grey) {
            char *isc_npz[] = {"isc", npz, "--splits", "2", "--weights", w, "--weights-sha256", h, "--device", "cpu"};
            char *isc_dir[] = {"isc", folder, "--splits", "2", "--weights", w, "--weights-sha256", h, "--device", "cpu"};
            double a = run_for_value(gb_cmd_isc, isc_npz, 10, NULL), b = run_for_value(gb_cmd_isc, isc_dir, 10, NULL);
            cr_expect(isfinite(a) && a == b, "isc of the .npz %.10g, of its PNGs %.10g", a, b);
            cr_expect_not_null(strstr(captured, "GEN: "), "%s", captured);
        }
        gb_fid_stats_free(&from_folder);
        gb_fid_stats_free(&from_npy);
        gb_fid_stats_free(&from_npz);
        unlink(npy);
        unlink(npz);
        remove_tree(folder);
        strcpy(folder, "/tmp/gb_arrays_png_XXXXXX");
    }
    remove_tree(root);
}

/* Arrays that are not images or features: exit 3 naming the file and the rule. Network options
 * that no input needed: a warning, and the value as without them. */
Test(cmd_fid_images, bad_arrays_and_unused_options, .timeout = 120) {
    char ambiguous[] = "/tmp/gb_arrays_ambXXXXXX.npy", floats[] = "/tmp/gb_arrays_f32XXXXXX.npy",
         other[] = "/tmp/gb_arrays_keyXXXXXX.npz", feats[] = "/tmp/gb_arrays_featsXXXXXX.npy", last[512];
    int fds[4] = {mkstemps(ambiguous, 4), mkstemps(floats, 4), mkstemps(other, 4), mkstemps(feats, 4)};
    for (int i = 0; i < 4; i++) {
        cr_assert_geq(fds[i], 0);
        close(fds[i]);
    }
    static uint8_t pixels[2 * 3 * 3 * 3];
    static float values[2 * 3 * 4 * 4];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) values[i] = (float)i;
    size_t amb_shape[4] = {2, 3, 3, 3}, f_shape[4] = {2, 3, 4, 4}, feat_shape[2] = {6, 4};
    gb_npy_array amb = gb_npy_view(GB_NPY_U8, 4, amb_shape, pixels), fl = gb_npy_view(GB_NPY_F32, 4, f_shape, values),
                 ft = gb_npy_view(GB_NPY_F32, 2, feat_shape, values);
    cr_assert_eq(gb_npy_save(ambiguous, &amb), GB_OK);
    cr_assert_eq(gb_npy_save(floats, &fl), GB_OK);
    cr_assert_eq(gb_npy_save(feats, &ft), GB_OK);
    const char *key = "images";
    cr_assert_eq(gb_npz_save(other, &key, &amb, 1, GB_NPZ_STORED), GB_OK);
    struct {
        const char *path, *says;
    } cases[] = {
        {ambiguous, "1 or 3 channels on exactly one of axes 1 and 3"},
        {floats, "read as images only when it is uint8 (got <f4)"},
        {other, "neither a 'feats' array"},
    };
    for (int k = 0; k < 3; k++) {
        char *argv[] = {"kid", (char *)cases[k].path, feats, "--device", "cpu"};
        cr_expect_eq(run_cmd(gb_cmd_kid, argv, 5, last, sizeof last), GB_INPUT, "%s", cases[k].path);
        cr_expect_not_null(strstr(gb_last_error(), cases[k].says), "%s", gb_last_error());
        cr_expect_not_null(strstr(gb_last_error(), cases[k].path), "%s", gb_last_error());
    }
    /* a good image array with --input probabilities: isc's usage error comes before the network
     * (no weights under this data root: reaching it would be exit 5) */
    char images[] = "/tmp/gb_arrays_imgXXXXXX.npy";
    int fd = mkstemps(images, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    static uint8_t small[2 * 3 * 4 * 4];
    size_t small_shape[4] = {2, 3, 4, 4};
    gb_npy_array sm = gb_npy_view(GB_NPY_U8, 4, small_shape, small);
    cr_assert_eq(gb_npy_save(images, &sm), GB_OK);
    char *isc[] = {"isc", images, "--input", "probabilities", "--data", "/nonexistent-gb-data"};
    cr_expect_eq(run_cmd(gb_cmd_isc, isc, 6, last, sizeof last), GB_USAGE, "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "holds images, which give logits"), "%s", gb_last_error());
    unlink(images);
    char *plain[] = {"kid", feats, feats, "--subset-size", "3", "--subsets", "2"};
    char *with_options[] = {"kid", feats, feats, "--subset-size", "3", "--subsets", "2", "--protocol", "legacy-tf"};
    double a = run_for_value(gb_cmd_kid, plain, 7, NULL), b = run_for_value(gb_cmd_kid, with_options, 9, NULL);
    cr_expect(a == b, "KID %.10g without the options, %.10g with them", a, b);
    cr_expect_not_null(strstr(captured_err, "apply to images only"), "%s", captured_err);
    unlink(ambiguous);
    unlink(floats);
    unlink(other);
    unlink(feats);
}

/* --dims 192 on a folder: the statistics' mean is the mean of pytorch-fid's --dims 192 features
 * of the same images (tests/peers/inception_ref.py), within pool3's bound; a 64-d features file
 * against images is a dimension mismatch found before the network (no weights under this data
 * root), and matches with --dims 64; isc refuses --dims. */
Test(cmd_fid_images, dims_option, .timeout = 300) {
    char w[1024], h[65], dir[1024], out[] = "/tmp/gb_dims_stats_XXXXXX", f64[] = "/tmp/gb_dims_f64XXXXXX.npy",
                                        last[512];
    weights(w, sizeof w, h);
    snprintf(dir, sizeof dir, "%s/inception/images", getenv("GB_FIXTURES"));
    int fd = mkstemp(out);
    cr_assert_geq(fd, 0);
    close(fd);
    char *argv[] = {"fid", dir, "--stats-out", out, "--weights", w, "--weights-sha256", h, "--protocol", "pytorch-fid",
                    "--dims", "192", "--device", "cpu"};
    cr_assert_eq(run_cmd(gb_cmd_fid, argv, 14, last, sizeof last), GB_OK, "%s", gb_last_error());
    cr_expect_not_null(strstr(captured, "192-d features"), "%s", captured);
    gb_fid_stats st;
    cr_assert_eq(gb_fid_stats_load(&st, out, NULL), GB_OK, "%s", gb_last_error());
    cr_assert_eq(st.dim, 192);
    float *ref = fixture_f32("inception/pt_pool192.f32", 2 * 192);
    double worst = 0, scale = 0;
    for (int i = 0; i < 192; i++) {
        double m = 0.5 * ((double)ref[i] + ref[192 + i]);
        worst = fmax(worst, fabs(st.mu[i] - m));
        scale = fmax(scale, fabs(m));
    }
    cr_expect(worst <= 1e-4 * scale, "mu differs from pytorch-fid's --dims 192 features: %.3g (scale %.3g)", worst,
              scale);
    gb_fid_stats_free(&st);
    free(ref);
    unlink(out);

    fd = mkstemps(f64, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    float *feats = fixture_f32("inception/pt_pool64.f32", 2 * 64);
    size_t shape[2] = {2, 64};
    gb_npy_array a = gb_npy_view(GB_NPY_F32, 2, shape, feats);
    cr_assert_eq(gb_npy_save(f64, &a), GB_OK);
    char *mismatch[] = {"fid", dir, f64, "--data", "/nonexistent-gb-data"};
    cr_expect_eq(run_cmd(gb_cmd_fid, mismatch, 5, last, sizeof last), GB_INPUT, "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "has 2048 dimensions but"), "%s", gb_last_error());
    char *matched[] = {"kid", dir, f64, "--weights", w, "--weights-sha256", h, "--protocol", "pytorch-fid",
                       "--dims", "64", "--subset-size", "2", "--subsets", "1", "--device", "cpu"};
    char *feats_only[] = {"kid", f64, f64, "--subset-size", "2", "--subsets", "1"};
    /* the folder through --dims 64 gives pytorch-fid's 64-d features to ~2e-7 (above): the KID
     * of the folder against them is the KID of those features against themselves */
    double k_images = run_for_value(gb_cmd_kid, matched, 17, NULL), k_feats = run_for_value(gb_cmd_kid, feats_only, 7, NULL);
    cr_expect(fabs(k_images - k_feats) <= 1e-4 * fmax(1.0, fabs(k_feats)), "KID %.10g from the folder, %.10g from "
              "pytorch-fid's features", k_images, k_feats);
    char *isc[] = {"isc", dir, "--dims", "64"};
    cr_expect_eq(run_cmd(gb_cmd_isc, isc, 4, last, sizeof last), GB_USAGE);
    cr_expect_not_null(strstr(gb_last_error(), "--dims does not apply"), "%s", gb_last_error());
    free(feats);
    unlink(f64);
}

/* Statistics written from images record their protocol and weights (metrics/fid.h); comparing
 * them with images under another protocol warns, under the same one does not, and the input
 * line shows what the file recorded. */
Test(cmd_fid_images, stats_files_record_their_protocol, .timeout = 300) {
    char w[1024], h[65], dir[1024], out[] = "/tmp/gb_prov_stats_XXXXXX.npz", last[512];
    weights(w, sizeof w, h);
    snprintf(dir, sizeof dir, "%s/inception/images", getenv("GB_FIXTURES"));
    int fd = mkstemps(out, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    char *save[] = {"fid", dir, "--stats-out", out, "--weights", w, "--weights-sha256", h, "--protocol", "legacy-tf",
                    "--device", "cpu"};
    cr_assert_eq(run_cmd(gb_cmd_fid, save, 12, last, sizeof last), GB_OK, "%s", gb_last_error());
    gb_fid_stats st;
    cr_assert_eq(gb_fid_stats_load(&st, out, NULL), GB_OK, "%s", gb_last_error());
    cr_expect_str_eq(st.protocol, "legacy-tf");
    cr_expect_str_eq(st.weights_sha256, h);
    cr_expect_eq(st.n, 2);
    gb_fid_stats_free(&st);
    for (int same = 0; same < 2; same++) {
        char *cmp[] = {"fid", dir, out, "--weights", w, "--weights-sha256", h, "--protocol",
                       same ? "legacy-tf" : "clean", "--device", "cpu"};
        cr_assert_eq(run_cmd(gb_cmd_fid, cmp, 11, last, sizeof last), GB_OK, "%s", gb_last_error());
        int warned = strstr(captured_err, "under the image protocol") != NULL;
        cr_expect_eq(warned, !same, "protocol %s: %s", same ? "legacy-tf" : "clean", captured_err);
        cr_expect_not_null(strstr(captured, "(pytorch-fid, protocol legacy-tf, weights sha256 "), "%s", captured);
        if (same) cr_expect(fabs(strtod(last, NULL)) < 1e-6, "the same images under the same protocol: %s", last);
    }
    unlink(out);
}

/* An image array rewritten between the read step and the network (another input's network pass
 * can take minutes): the load finds a shape other than the header's and refuses it, instead of
 * reordering into a buffer of the old size. */
/* The network options of the fixture weights on the CPU (w and h hold the path and hash). */
static void fixture_network(gb_cli_network *net, char w[1024], char h[65]) {
    *net = (gb_cli_network)GB_CLI_NETWORK_DEFAULTS;
    weights(w, 1024, h);
    net->weights = w;
    net->weights_sha256 = h;
    net->device = "cpu";
}

Test(cmd_fid_images, array_rewritten_after_its_header_was_read) {
    char path[] = "/tmp/gb_rewrite_XXXXXX.npy";
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    static uint8_t big[2 * 32 * 32 * 3], small[2 * 8 * 8 * 3];
    size_t big_shape[4] = {2, 32, 32, 3}, small_shape[4] = {2, 8, 8, 3};
    gb_npy_array a = gb_npy_view(GB_NPY_U8, 4, big_shape, big), b = gb_npy_view(GB_NPY_U8, 4, small_shape, small);
    cr_assert_eq(gb_npy_save(path, &a), GB_OK);
    gb_cli_network net;
    char w[1024], h[65];
    fixture_network(&net, w, h);
    gb_cli_input in;
    cr_assert_eq(gb_cli_input_read(&in, path, &net, "features"), GB_OK, "%s", gb_last_error());
    cr_assert_eq(gb_npy_save(path, &b), GB_OK);
    gb_cli_features f;
    cr_expect_eq(gb_cli_input_rows(&f, &in, &net, 0), GB_INPUT);
    cr_expect_not_null(strstr(gb_last_error(), "rewritten"), "%s", gb_last_error());
    cr_expect_null(f.x);
    gb_cli_input_free(&in);
    gb_cli_network_close(&net);
    unlink(path);
}

/* pool3 features of one array input through gb_cli_input_read / gb_cli_input_rows; the status. */
static gb_status array_features(gb_cli_features *f, const char *path) {
    gb_cli_network net;
    char w[1024], h[65];
    fixture_network(&net, w, h);
    net.batch = 2; /* three images: two batches, the stream read in two pieces */
    gb_cli_input in;
    cr_assert_eq(gb_cli_input_read(&in, path, &net, "features"), GB_OK, "%s", gb_last_error());
    gb_status s = gb_cli_input_rows(f, &in, &net, 0);
    gb_cli_input_free(&in);
    gb_cli_network_close(&net);
    return s;
}

/* Arrays are streamed a batch at a time; a Fortran-order .npy (its bytes are not images one
 * after another) is loaded whole instead, with the same features; a stored arr_0 member with a
 * flipped pixel byte reads to its end and then fails its CRC-32: an error naming the member,
 * no features. */
Test(cmd_fid_images, streamed_arrays_fortran_order_and_damage, .timeout = 300) {
    char dir[] = "/tmp/gb_stream_XXXXXX", npz[128], fortran[128];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(npz, sizeof npz, "%s/batch.npz", dir);
    snprintf(fortran, sizeof fortran, "%s/fortran.npy", dir);
    enum { N = 3, H = 8, W = 9, C = 3 };
    static uint8_t px[N * H * W * C], fpx[N * H * W * C];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 29 + i / 7);
    size_t shape[4] = {N, H, W, C};
    gb_npy_array a = gb_npy_view(GB_NPY_U8, 4, shape, px);
    const char *key = "arr_0";
    cr_assert_eq(gb_npz_save(npz, &key, &a, 1, GB_NPZ_STORED), GB_OK, "%s", gb_last_error());
    /* the same array as numpy writes it in Fortran order: first index fastest */
    for (size_t n = 0; n < N; n++)
        for (size_t y = 0; y < H; y++)
            for (size_t x = 0; x < W; x++)
                for (size_t c = 0; c < C; c++)
                    fpx[n + N * (y + H * (x + W * c))] = px[((n * H + y) * W + x) * C + c];
    unsigned char *bytes;
    size_t len;
    cr_assert_eq(gb_npy_encode(&bytes, &len, &a), GB_OK, "%s", gb_last_error());
    char *flag = strstr((char *)bytes + 10, "'fortran_order': False");
    cr_assert_not_null(flag);
    memcpy(flag, "'fortran_order': True ", 22); /* same length: the header stays aligned */
    memcpy(bytes + len - sizeof fpx, fpx, sizeof fpx);
    FILE *fp = fopen(fortran, "wb");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(bytes, 1, len, fp), len);
    fclose(fp);
    free(bytes);

    gb_cli_features streamed, whole;
    cr_assert_eq(array_features(&streamed, npz), GB_OK, "%s", gb_last_error());
    cr_assert_eq(array_features(&whole, fortran), GB_OK, "%s", gb_last_error());
    cr_assert_eq(streamed.n, N);
    cr_expect_eq(memcmp(streamed.x, whole.x, N * streamed.d * sizeof(float)), 0,
                 "a Fortran-order array should give the C-order array's features");
    free(streamed.x);
    free(whole.x);

    /* flip a pixel byte inside the stored member: px[100..103] is a run found nowhere else */
    FILE *f = fopen(npz, "r+b");
    cr_assert_not_null(f);
    static unsigned char file[1 << 14];
    size_t n = fread(file, 1, sizeof file, f), at = 0;
    while (at + 4 <= n && memcmp(file + at, px + 100, 4) != 0) at++;
    cr_assert(at + 4 <= n, "the stored pixels were not found");
    fseek(f, (long)at, SEEK_SET);
    fputc(file[at] ^ 0x21, f);
    fclose(f);
    gb_cli_features damaged;
    cr_expect_eq(array_features(&damaged, npz), GB_INPUT, "a damaged member must fail once read");
    cr_expect_not_null(strstr(gb_last_error(), "batch.npz:arr_0.npy"), "%s", gb_last_error());
    cr_expect_not_null(strstr(gb_last_error(), "damaged"), "%s", gb_last_error());
    cr_expect_null(damaged.x);
    unlink(npz);
    unlink(fortran);
    rmdir(dir);
}

/* Each metric's row-count rule is applied to the counts known after reading, before the network
 * (the weights below do not exist: reaching the network would be exit 5). */
Test(cmd_fid_images, row_counts_checked_before_the_network) {
    char dir[] = "/tmp/gb_counts_XXXXXX", cmd[1400], feats[] = "/tmp/gb_counts_fXXXXXX.npy", last[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(cmd, sizeof cmd, "cp '%s/inception/images/a.png' '%s/'", getenv("GB_FIXTURES"), dir);
    cr_assert_eq(system(cmd), 0);
    int fd = mkstemps(feats, 4);
    cr_assert_geq(fd, 0);
    close(fd);
    static float x[3 * 2048];
    size_t shape[2] = {3, 2048};
    gb_npy_array a = gb_npy_view(GB_NPY_F32, 2, shape, x);
    cr_assert_eq(gb_npy_save(feats, &a), GB_OK);
    char png_dir[1100];
    snprintf(png_dir, sizeof png_dir, "%s", dir);
    const char *hash = "0000000000000000000000000000000000000000000000000000000000000000";
    struct {
        gb_status (*cmd)(int, char **);
        char *argv[12];
        int argc;
        gb_status want;
        const char *says;
    } cases[] = {
        {gb_cmd_fid, {"fid", png_dir, feats}, 3, GB_INPUT, "1 images; FID statistics need at least 2"},
        {gb_cmd_kid, {"kid", png_dir, feats}, 3, GB_INPUT, "1 images; KID needs at least 2 per set"},
        {gb_cmd_prdc, {"prdc", feats, feats}, 3, GB_INPUT, "3 feature rows; precision/recall with k = 3"},
        {gb_cmd_isc, {"isc", png_dir, "--splits", "2"}, 4, GB_USAGE, "2 splits for 1 rows"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char **argv = cases[k].argv;
        int argc = cases[k].argc;
        argv[argc++] = "--weights";
        argv[argc++] = "/nonexistent/w.pth";
        argv[argc++] = "--weights-sha256";
        argv[argc++] = (char *)hash;
        cr_expect_eq(run_cmd(cases[k].cmd, argv, argc, last, sizeof last), cases[k].want, "%s: %s", argv[0],
                     gb_last_error());
        cr_expect_not_null(strstr(gb_last_error(), cases[k].says), "%s: %s", argv[0], gb_last_error());
    }
    unlink(feats);
    remove_tree(dir);
}

/* The n PNG files 000.png ... of folder as a zip archive at path (libzip; deflated). */
static void zip_pngs(const char *path, const char *folder, int n) {
    zip_t *z = test_zip_open(path);
    for (int i = 0; i < n; i++) {
        char file[1100], name[32];
        snprintf(file, sizeof file, "%s/%03d.png", folder, i);
        snprintf(name, sizeof name, "samples/%03d.png", i); /* in a subfolder, as dataset_tool.py writes them */
        test_zip_add_file(z, file, name);
    }
    test_zip_close(z, path);
}

/* A zip archive of a folder's PNGs: the folder's statistics and Inception score, bit for bit,
 * and its own line in the input description. Bad archives and `isc --input probabilities` on
 * one are refused before the network (the weights of the second part do not exist). */
Test(cmd_fid_images, zip_archive_equals_its_folder, .timeout = 300) {
    char root[] = "/tmp/gb_zip_root_XXXXXX", folder[] = "/tmp/gb_zip_png_XXXXXX", zip[1100], w[1024], h[65], last[512];
    make_root(root);
    weights(w, sizeof w, h);
    gb_image_set set;
    char dir[256];
    snprintf(dir, sizeof dir, "%s/cifar10", root);
    cr_assert_eq(gb_cifar10_load(&set, dir, GB_CIFAR10_TEST, 4), GB_OK, "%s", gb_last_error());
    cr_assert_not_null(mkdtemp(folder));
    const int n = set.count;
    write_pngs(folder, &set, n);
    gb_image_set_free(&set);
    snprintf(zip, sizeof zip, "%s.ZIP", folder); /* the suffix in any case */
    zip_pngs(zip, folder, n);
    gb_fid_stats from_folder, from_zip;
    stats_of(&from_folder, folder, root, "pytorch-fid");
    stats_of(&from_zip, zip, root, "pytorch-fid");
    expect_same_stats(&from_zip, &from_folder, "zip archive");
    cr_expect_not_null(strstr(captured, "images in a zip archive, protocol pytorch-fid"), "%s", captured);
    gb_fid_stats_free(&from_folder);
    gb_fid_stats_free(&from_zip);
    char *isc_zip[] = {"isc", zip, "--splits", "2", "--weights", w, "--weights-sha256", h, "--device", "cpu"};
    char *isc_dir[] = {"isc", folder, "--splits", "2", "--weights", w, "--weights-sha256", h, "--device", "cpu"};
    double a = run_for_value(gb_cmd_isc, isc_zip, 10, NULL), b = run_for_value(gb_cmd_isc, isc_dir, 10, NULL);
    cr_expect(isfinite(a) && a == b, "isc of the zip %.10g, of its PNGs %.10g", a, b);

    const char *nowhere = "/nonexistent/w.pth";
    const char *hash = "0000000000000000000000000000000000000000000000000000000000000000";
    char *probabilities[] = {"isc", zip, "--input", "probabilities"};
    cr_expect_eq(run_cmd(gb_cmd_isc, probabilities, 4, last, sizeof last), GB_USAGE, "%s", gb_last_error());
    char empty[1100];
    snprintf(empty, sizeof empty, "%s-empty.zip", folder);
    zip_t *z = test_zip_open(empty);
    test_zip_add_bytes(z, "dataset.json", "{}", 2, 1);
    test_zip_close(z, empty);
    char *fid_empty[] = {"fid", empty, zip, "--weights", (char *)nowhere, "--weights-sha256", (char *)hash};
    cr_expect_eq(run_cmd(gb_cmd_fid, fid_empty, 7, last, sizeof last), GB_INPUT, "%s", gb_last_error());
    cr_expect(strstr(gb_last_error(), empty) && strstr(gb_last_error(), "no images"), "%s", gb_last_error());
    unlink(empty);
    unlink(zip);
    remove_tree(folder);
    remove_tree(root);
}
