/* pipelines/run_dir.h - an output directory that already holds a run.
 *
 * A run's files are metrics.csv, manifest.txt, train.csv, checkpoint.safetensors, failure.txt
 * and its *.png plots. A fresh run (no --resume) into a directory holding any of the first
 * five must neither overwrite that earlier result while it trains (the checkpoint is written
 * as it goes) nor leave the two mixed (the old metrics.csv beside the new checkpoint, or the
 * new failure.txt, which `genbench check` would then read as one run). So the earlier run's
 * files are first moved into DIR/previous-run/ (replacing an older one there), where they
 * stay untouched until the new run succeeds; then previous-run/ and any failure.txt are
 * deleted. The gate never reads previous-run/ (gate/gate.c). --resume continues the run in
 * DIR itself and sets nothing aside.
 *
 * Tested by tests/test_run_dir.c and, end to end, by tests/smoke.sh.
 */
#ifndef GB_PIPELINES_RUN_DIR_H
#define GB_PIPELINES_RUN_DIR_H

#include "../core/status.h"

#define GB_PREVIOUS_RUN "previous-run"

/* Moves an earlier run's files in dir into dir/previous-run/; nothing when there is none. */
gb_status gb_run_dir_set_aside(const char *dir);

/* After a successful run: deletes dir/failure.txt and dir/previous-run/. */
gb_status gb_run_dir_finish(const char *dir);

#endif
