/* cli/cli.h - the subcommands of the `genbench` binary (one file each) and shared helpers.
 * Every command returns a gb_status, which main() turns into the exit code of DESIGN.md 3. */
#ifndef GB_CLI_H
#define GB_CLI_H

#include "../core/status.h"

gb_status gb_cmd_list(int argc, char **argv);
gb_status gb_cmd_run(int argc, char **argv);
gb_status gb_cmd_reproduce(int argc, char **argv);
gb_status gb_cmd_check(int argc, char **argv);
gb_status gb_cmd_bench(int argc, char **argv);
gb_status gb_cmd_fid(int argc, char **argv);
gb_status gb_cmd_sfid(int argc, char **argv);
gb_status gb_cmd_kid(int argc, char **argv);
gb_status gb_cmd_prdc(int argc, char **argv);
gb_status gb_cmd_evaluate(int argc, char **argv);

gb_status gb_cmd_isc(int argc, char **argv);
gb_status gb_cmd_spectrum(int argc, char **argv);

/* Shared helpers (cli/cli_common.c). */
/* 1 when argv holds -h or --help (commands then print their usage and return GB_OK). */
int gb_cli_wants_help(int argc, char **argv);
/* Parse an unsigned integer option value or fail with GB_USAGE naming the option: a leading
 * digit is required and overflow is refused. */
gb_status gb_cli_parse_u64(const char *option, const char *text, unsigned long long *out);
/* 1 when arg can be an option's value: not NULL and not itself an option ("--..."), so that
 * `--out --quick` is a missing value rather than a folder named "--quick". A value that must
 * start with "--" can be written as ./--name. */
int gb_cli_is_value(const char *arg);
/* GB_USAGE when an option of `genbench CMD ARGS` (argv[0] is CMD) appears twice: which of
 * `--protocol clean --protocol legacy-tf` a user meant cannot be known, and a number reported
 * under the wrong one is worse than no number. Values never start with "--" (gb_cli_is_value), so
 * every such argument is an option. `repeatable` (NULL: none) names the one option the command
 * checks itself (prdc's --protocol: one name of each of its two kinds, cli/cmd_fid.c). */
gb_status gb_cli_refuse_repeated_options(int argc, char **argv, const char *repeatable);
/* Folders given on the command line are joined with file names in fixed buffers of about
 * 1100-1400 bytes; longer ones are refused up front rather than cut short silently. */
#define GB_CLI_MAX_DIR 1000
/* GB_USAGE naming the option when dir is longer than GB_CLI_MAX_DIR bytes. */
gb_status gb_cli_check_dir_length(const char *option, const char *dir);
/* 1 when s ends with suffix. */
int gb_cli_has_suffix(const char *s, const char *suffix);
/* GB_INPUT naming path and the reason when it does not exist: bad inputs are found before any
 * work starts. */
gb_status gb_cli_check_input(const char *path);
/* 1 when path is a folder (following links). */
int gb_cli_is_folder(const char *path);
/* GB_USAGE when the output file `out` (the value of `option`) is one of the n inputs (the same
 * device and inode, however spelt): writing it would replace an input. An output that does not
 * exist yet is none of them. */
gb_status gb_cli_check_output_not_input(const char *option, const char *out, const char *const *inputs, int n);
/* 1 when path is a file whose name ends in .zip, any case, as EDM's dataset loader tells an
 * archive from a folder (metrics/image_archive.h). */
int gb_cli_names_image_archive(const char *path);
/* 1 when arg names a dataset split, NAME:SPLIT[:N] (datasets/image_splits.h): it is not an
 * existing file or folder (a path always wins), and the part before its first ':' is an image
 * dataset's name. */
int gb_cli_names_split(const char *arg);

#endif
