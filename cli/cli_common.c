/* cli/cli_common.c - the small helpers every command shares (declared in cli/cli.h): help
 * detection, strict integer options, options given twice, input paths checked before any work
 * starts, and what looks like a dataset split.
 * Kept out of cli/main.c so the suites that compile commands in (tests/test_cmd_*.c) can
 * compile this file in too. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../datasets/image_splits.h"
#include "cli.h"

int gb_cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

gb_status gb_cli_parse_u64(const char *option, const char *text, unsigned long long *out) {
    char *end = NULL;
    /* a digit first: strtoull alone skips blanks and takes " -1" as 2^64 - 1 */
    if (!text || !isdigit((unsigned char)*text)) return gb_fail(GB_USAGE, "%s needs a non-negative integer", option);
    errno = 0;
    *out = strtoull(text, &end, 10);
    if (*end) return gb_fail(GB_USAGE, "%s: '%s' is not a non-negative integer", option, text);
    if (errno == ERANGE) return gb_fail(GB_USAGE, "%s: '%s' is larger than %llu", option, text, ULLONG_MAX);
    return GB_OK;
}

int gb_cli_is_value(const char *arg) { return arg && !(arg[0] == '-' && arg[1] == '-'); }

gb_status gb_cli_refuse_repeated_options(int argc, char **argv, const char *repeatable) {
    for (int i = 1; i < argc; i++) {
        if (gb_cli_is_value(argv[i]) || strcmp(argv[i], "--help") == 0) continue;
        if (repeatable && strcmp(argv[i], repeatable) == 0) continue;
        for (int j = 1; j < i; j++)
            if (strcmp(argv[j], argv[i]) == 0)
                return gb_fail(GB_USAGE, "%s is given twice: give each option once (genbench does not let a later "
                                         "one override an earlier one)",
                               argv[i]);
    }
    return GB_OK;
}

gb_status gb_cli_check_dir_length(const char *option, const char *dir) {
    size_t n = strlen(dir);
    if (n > GB_CLI_MAX_DIR)
        return gb_fail(GB_USAGE, "%s: a folder name of %zu bytes is longer than the %d genbench handles", option, n,
                       GB_CLI_MAX_DIR);
    return GB_OK;
}

int gb_cli_has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

gb_status gb_cli_check_input(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return gb_fail(GB_INPUT, "%s: %s", path, strerror(errno));
    return GB_OK;
}

gb_status gb_cli_check_output_not_input(const char *option, const char *out, const char *const *inputs, int n) {
    struct stat o, in;
    if (!out || stat(out, &o) != 0) return GB_OK;
    for (int k = 0; k < n; k++)
        if (inputs[k] && stat(inputs[k], &in) == 0 && in.st_dev == o.st_dev && in.st_ino == o.st_ino)
            return gb_fail(GB_USAGE, "%s %s is input %c (%s): writing it would replace that input; name another file",
                           option, out, 'A' + k, inputs[k]);
    return GB_OK;
}

int gb_cli_is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int gb_cli_names_image_archive(const char *path) {
    struct stat st;
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".zip") == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int gb_cli_names_split(const char *arg) {
    struct stat st;
    if (stat(arg, &st) == 0) return 0;
    const char *colon = strchr(arg, ':');
    char name[32];
    if (!colon || (size_t)(colon - arg) >= sizeof name) return 0;
    memcpy(name, arg, (size_t)(colon - arg));
    name[colon - arg] = '\0';
    return gb_image_split_dataset_known(name);
}
