/* cli/cmd_check.c - `genbench check [RESULTS] [--reference DIR]`: the regression gate. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../core/manifest.h"
#include "cli.h"
#include "../gate/gate.h"

/* reference/ of the current directory, else of the source checkout. */
const char *gb_default_reference_dir(char *buf, size_t size) {
    if (access("reference", R_OK) == 0) return "reference";
    snprintf(buf, size, "%s/reference", gb_source_dir());
    return buf;
}

gb_status gb_cmd_check(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench check [RESULTS...] [--reference DIR]\n"
               "  RESULTS          a results directory (searched for metrics.csv) or one metrics.csv (default results)\n"
               "  --reference DIR  reference CSV files (default reference)\n"
               "prints expected / got / delta / verdict per metric; exits 1 when any metric regressed\n");
        return GB_OK;
    }
    const char *results[64] = {"results"};
    size_t n_results = 0;
    char buf[1100];
    const char *reference = gb_default_reference_dir(buf, sizeof buf);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reference") == 0) {
            if (i + 1 >= argc || !gb_cli_is_value(argv[i + 1]))
                return gb_fail(GB_USAGE, "--reference needs a directory");
            reference = argv[++i];
        } else if (argv[i][0] == '-') {
            return gb_fail(GB_USAGE, "unknown option '%s' (see --help)", argv[i]);
        } else if (n_results < 64) {
            results[n_results++] = argv[i];
        } else {
            return gb_fail(GB_USAGE, "at most 64 result paths");
        }
    }
    gb_gate_report report;
    gb_status s = gb_gate_evaluate(results, n_results ? n_results : 1, reference, &report);
    if (s == GB_OK) {
        gb_gate_print(&report, stdout);
        if (report.n_fail) s = GB_GATE_FAILED;
    }
    gb_gate_free(&report);
    return s;
}
