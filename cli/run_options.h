/* cli/run_options.h - the options `run` and `reproduce` share (--scale, --device, --seed, ...). */
#ifndef GB_RUN_OPTIONS_H
#define GB_RUN_OPTIONS_H

#include "../pipelines/pipeline.h"

extern const char gb_run_options_help[];

/* Parse argv (options only) into opt with defaults: scale small, device auto, seed 1, threads 2,
 * data "data", out NULL (results/...), no resume. allow_out: whether --out/--resume are accepted
 * (one run) or not (reproduce). Unknown options are GB_USAGE. */
gb_status gb_run_options_parse(gb_run_options *opt, int argc, char **argv, int allow_out);

#endif
