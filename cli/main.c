/* cli/main.c - `genbench`: dispatch to a subcommand, print the reason of a failure, exit with
 * the status code (0 ok, 1 gate failed, 2 usage, 3 input/data, 4 numerical, 5 environment). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/log.h"
#include "../core/manifest.h"
#include "cli.h"
#include "cmd_data.h"

static const char usage[] =
    "usage: genbench <command> [options]\n"
    "\n"
    "commands:\n"
    "  list                     the registered pipelines\n"
    "  run <pipeline> [opts]    train, sample and evaluate one pipeline\n"
    "  reproduce [opts]         run every pipeline, write results/summary.csv and report.html, gate\n"
    "  check [RESULTS] [opts]   compare results with reference/*.csv; exit 1 on a regression\n"
    "  bench [opts]             kernel and training-step benchmarks (ceilings, peers, --compare)\n"
    "  data <list|verify|fetch|inspect|synth>  datasets: presence, checksums, download, stand-ins\n"
    "  fid A B [opts]           FID between stats .npz, features .npy or images (folders, .zip, arrays, splits)\n"
    "  sfid A B [opts]          sFID (OpenAI's evaluator: mixed_6/conv features), inputs as fid\n"
    "  kid GEN REF [opts]       KID on features .npy or images\n"
    "  prdc GEN REAL [opts]     precision, recall, density, coverage on features .npy or images\n"
    "  isc GEN [opts]           Inception score of images or a logits .npy (torch-fidelity's protocol)\n"
    "  evaluate REF SAMPLE [opts]  IS, FID, sFID, precision, recall as OpenAI's guided-diffusion evaluator\n"
    "  spectrum A B [opts]      RMS log-spectral distance (dB) between two image sets (folders, .zip, .npy, splits)\n"
    "  version                  version, commit and build flags\n"
    "\n"
    "`genbench <command> --help` describes each command's options.\n"
    "exit codes: 0 ok, 1 gate failed, 2 usage, 3 input/data error, 4 numerical failure, 5 environment\n";

static gb_status cmd_version(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench version\nprints the version, the git commit it was built from and the build flags\n");
        return GB_OK;
    }
    printf("genbench %s (commit %s)\n", gb_version(), gb_git_commit());
    return GB_OK;
}

int main(int argc, char **argv) {
    gb_log_init_from_env();
    if (argc < 2) {
        fputs(usage, stderr);
        return GB_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return GB_OK;
    }
    static const struct {
        const char *name;
        gb_status (*fn)(int, char **);
        const char *repeatable; /* the option the command checks for repeats itself */
    } commands[] = {{"list", gb_cmd_list, NULL},         {"run", gb_cmd_run, NULL},
                    {"reproduce", gb_cmd_reproduce, NULL}, {"check", gb_cmd_check, NULL},
                    {"bench", gb_cmd_bench, NULL},         {"data", gb_cmd_data, NULL},
                    {"fid", gb_cmd_fid, NULL},             {"sfid", gb_cmd_sfid, NULL},
                    {"kid", gb_cmd_kid, NULL},             {"prdc", gb_cmd_prdc, "--protocol"},
                    {"isc", gb_cmd_isc, NULL},             {"evaluate", gb_cmd_evaluate, NULL},
                    {"spectrum", gb_cmd_spectrum, NULL},   {"version", cmd_version, NULL}};
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(cmd, commands[i].name) != 0) continue;
        /* --help wins over everything else on the line, a repeated option included */
        gb_status s = gb_cli_wants_help(argc - 1, argv + 1)
                          ? GB_OK
                          : gb_cli_refuse_repeated_options(argc - 1, argv + 1, commands[i].repeatable);
        if (s == GB_OK) s = commands[i].fn(argc - 1, argv + 1);
        if (s != GB_OK && s != GB_GATE_FAILED)
            fprintf(stderr, "genbench %s: %s: %s\n", cmd, gb_status_name(s), gb_last_error());
        return (int)s;
    }
    fprintf(stderr, "genbench: unknown command '%s'\n\n%s", cmd, usage);
    return GB_USAGE;
}
