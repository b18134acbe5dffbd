/* cli/cmd_run.c - `genbench list` and `genbench run <pipeline> [options]`. */
#include <stdio.h>
#include <string.h>

#include "../pipelines/pipeline.h"
#include "cli.h"
#include "run_options.h"

gb_status gb_cmd_list(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench list\nprints every registered pipeline: id, spec section, summary\n");
        return GB_OK;
    }
    for (size_t i = 0; i < gb_pipeline_count(); i++) {
        const gb_pipeline *p = gb_pipeline_at(i);
        printf("%-18s %-28s %s\n", p->id, p->spec, p->summary);
    }
    return GB_OK;
}

gb_status gb_cmd_run(int argc, char **argv) {
    if (gb_cli_wants_help(argc, argv)) {
        printf("usage: genbench run <pipeline> [options]\n%s", gb_run_options_help);
        return GB_OK;
    }
    if (argc < 2 || argv[1][0] == '-')
        return gb_fail(GB_USAGE, "run needs a pipeline id (see `genbench list`)");
    gb_run_options opt;
    GB_TRY(gb_run_options_parse(&opt, argc - 2, argv + 2, 1));
    opt.pipeline = argv[1];
    /* the whole command line, for the manifest */
    opt.argc = argc;
    opt.argv = argv;
    char out[1024];
    GB_TRY(gb_pipeline_run(&opt, out, sizeof out));
    printf("%s: results in %s\n", opt.pipeline, out);
    char path[1100];
    snprintf(path, sizeof path, "%s/metrics.csv", out);
    FILE *fp = fopen(path, "r");
    if (fp) {
        char line[512];
        while (fgets(line, sizeof line, fp)) fputs(line, stdout);
        fclose(fp);
    }
    return GB_OK;
}
