/* pipelines/run_dir.h - an output directory that already holds a run.
 *
 * A run's files are metrics.csv, manifest.txt, train.csv, checkpoint.safetensors, failure.txt
 * and its *.png plots; a folder holds a run when one of the files only genbench writes is there
 * (manifest.txt, checkpoint.safetensors, failure.txt). A fresh run (no --resume) into such a
 * folder must neither overwrite an earlier good result while it trains (the checkpoint is
 * written as it goes) nor leave the two mixed (the old metrics.csv beside the new checkpoint
 * or the new failure.txt, which `genbench check` would read as one run). So:
 *   - a finished run there (metrics.csv and manifest.txt, no failure.txt) is moved into
 *     DIR/previous-run/, replacing what waited there before, and stays until the new run
 *     succeeds; then previous-run/ and any failure.txt are deleted;
 *   - an unfinished or failed run there is discarded, and previous-run/ keeps waiting, so a
 *     second failed attempt never costs the good result.
 * The gate never reads previous-run/, and reports a folder that holds one but neither
 * metrics.csv nor failure.txt (a run killed after setting the earlier one aside) as failed
 * (gate/gate.c). --resume continues the run in DIR itself and sets nothing aside.
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
