/* cli/cmd_reproduce.c - `genbench reproduce`: every registered pipeline at one scale, then
 * results/summary.csv, results/report.html and the gate. The exit status is the gate's: 0 when
 * every run succeeded and every metric passed, 1 when a metric regressed, otherwise the first
 * failing run's status. */
#include <stdio.h>
#include <string.h>

#include "../pipelines/pipeline.h"
#include "cli.h"
#include "../gate/gate.h"
#include "../gate/report.h"
#include "run_options.h"

const char *gb_default_reference_dir(char *buf, size_t size);

gb_status gb_cmd_reproduce(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench reproduce [options]\n"
               "runs every registered pipeline, writes results/summary.csv and results/report.html,\n"
               "then checks against reference/ (exit 1 on a regression; a run that failed exits with its\n"
               "own status). The options are run's, but --out and --resume are not taken: each pipeline\n"
               "writes into results/<pipeline>/<scale>-<device>-s<seed>.\n%s",
               gb_run_options_help);
        return GB_OK;
    }
    gb_run_options opt;
    GB_TRY(gb_run_options_parse(&opt, argc - 1, argv + 1, 0));
    opt.argc = argc;
    opt.argv = argv;
    gb_status first_failure = GB_OK;
    /* gate only what this command produced, not older runs lying in results/ */
    static char outs[64][1024];
    const char *ran[64];
    size_t n_ran = 0;
    for (size_t i = 0; i < gb_pipeline_count() && i < 64; i++) {
        opt.pipeline = gb_pipeline_at(i)->id;
        char *out = outs[i];
        gb_status s = gb_pipeline_run(&opt, out, sizeof outs[i]);
        if (s != GB_OK) {
            fprintf(stderr, "genbench reproduce: %s failed: %s: %s\n", opt.pipeline, gb_status_name(s), gb_last_error());
            if (first_failure == GB_OK) first_failure = s;
        } else {
            printf("%s: done, results in %s\n", opt.pipeline, out);
            ran[n_ran++] = out;
        }
    }
    char buf[1100];
    gb_gate_report report = {0};
    gb_status s = n_ran ? gb_gate_evaluate(ran, n_ran, gb_default_reference_dir(buf, sizeof buf), &report)
                        : gb_fail(GB_INPUT, "no pipeline produced results");
    if (s == GB_OK) s = gb_report_write_summary(&report, "results/summary.csv");
    if (s == GB_OK) s = gb_report_write_html(&report, "results/report.html");
    if (s == GB_OK) {
        gb_gate_print(&report, stdout);
        printf("wrote results/summary.csv and results/report.html\n");
        if (report.n_fail) s = GB_GATE_FAILED;
    }
    gb_gate_free(&report);
    if (first_failure != GB_OK) return first_failure;
    return s;
}
