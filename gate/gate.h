/* gate/gate.h - compare result metrics with reference numbers (DESIGN.md section 5).
 *
 * reference/<name>.csv rows: pipeline, scale, dataset, device, metric, expected, tolerance, rule,
 * n_seeds, source. A row applies to a result when pipeline, scale and metric are equal, the
 * dataset's first word matches (e.g. "cs446", "synthetic:shapes32") and device is the result's
 * device or "any". Rules: abs |got-expected| <= tol; rel |got-expected| <= tol*|expected|;
 * at_most got <= expected + tol; at_least got >= expected - tol; none (metric "*", expected and
 * tolerance 0): this pipeline, scale and dataset knowingly have no reference numbers (a real
 * data set at the scales whose golden bands come from stand-ins, a scale compared by eye), so
 * their results are not "nothing compared" failures.
 */
#ifndef GB_GATE_H
#define GB_GATE_H

#include <stddef.h>
#include <stdio.h>

#include "../core/status.h"

/* NO_REFERENCE: a metric no reference row speaks about (not a failure by itself).
 * UNCOMPARED: a results file none of whose metrics any reference row speaks about, or one
 * with no metrics at all: the check would otherwise pass having compared nothing.
 * RUN_FAILED: the run folder holds failure.txt (its last run stopped; source: its reason line),
 *             or a run left it unfinished over previous-run/. */
typedef enum {
    GB_VERDICT_PASS,
    GB_VERDICT_FAIL,
    GB_VERDICT_MISSING,
    GB_VERDICT_NO_REFERENCE,
    GB_VERDICT_UNCOMPARED,
    GB_VERDICT_RUN_FAILED
} gb_verdict;

typedef struct {
    char pipeline[64], scale[16], device[16], seed[24], dataset[128], metric[64];
    double got;               /* NAN when missing or when the run reported NaN */
    int present;              /* the result holds this metric */
    double expected, tolerance;
    char rule[16], source[256], result_dir[1024];
    gb_verdict verdict;
} gb_gate_row;

typedef struct {
    gb_gate_row *rows;
    size_t n, cap;
    size_t n_pass, n_fail;
} gb_gate_report;

/* Gather every metrics.csv under each of `results` (directories, searched recursively, or single
 * files) and judge each metric against every reference/<name>.csv in `reference_dir`. A reference row
 * whose pipeline and scale were run but whose metric is absent is a failure (missing). A metric
 * that several reference rows speak about is judged by each (one report row per judgement),
 * so a looser row can never hide a stricter one. A metric listed twice in one metrics.csv is a
 * GB_INPUT error; a results file with nothing to compare and a folder holding failure.txt are
 * failures (UNCOMPARED, RUN_FAILED). On an error the report is left empty (nothing to free). */
gb_status gb_gate_evaluate(const char *const *results, size_t n_results, const char *reference_dir,
                           gb_gate_report *report);
/* One aligned row per metric: pipeline scale metric expected got delta verdict. */
void gb_gate_print(const gb_gate_report *report, FILE *fp);
const char *gb_verdict_name(gb_verdict v);
/* PASS, FAIL and MISSING come from a reference row (expected, rule, tolerance are set). */
int gb_verdict_has_reference(gb_verdict v);
/* Everything but PASS and NO_REFERENCE. */
int gb_verdict_fails(gb_verdict v);
void gb_gate_free(gb_gate_report *report);

#endif
