/* tests/test_gate.c - the regression gate's rules, matching and failure modes, on small files
 * written by the test (gate/gate.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gate/gate.h"

static char dir[64];

static void write_file(const char *rel, const char *text) {
    char path[512], cmd[600];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname %s)\"", path);
    cr_assert_eq(system(cmd), 0);
    FILE *fp = fopen(path, "w");
    cr_assert(fp);
    fputs(text, fp);
    fclose(fp);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/gb_gate_%d", (int)getpid());
    write_file("ref/toy.csv",
               "pipeline,scale,dataset,device,metric,expected,tolerance,rule,n_seeds,source\n"
               "toy,smoke,cs446,any,a,1.0,0.1,abs,1,golden\n"
               "toy,smoke,cs446,any,b,10,0.05,rel,1,golden\n"
               "toy,smoke,cs446,cpu,c,5,0,at_most,1,golden\n"
               "toy,smoke,cs446,cuda,c,1,0,at_most,1,golden for cuda only\n"
               "toy,smoke,cs446,any,d,2,0.5,at_least,1,golden\n"
               "toy,small,cs446,any,a,100,0,abs,1,other scale\n");
}

static void teardown(void) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}

static const char *header = "pipeline,scale,device,seed,dataset,metric,value,note\n";

/* The gate on the results folders rels (under the test folder) against ref/. */
static gb_status gate_on(const char *const *rels, size_t n, gb_gate_report *r) {
    char paths[4][512], ref[512];
    const char *p[4];
    cr_assert(n <= 4);
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, rels[i]);
        p[i] = paths[i];
    }
    snprintf(ref, sizeof ref, "%s/ref", dir);
    return gb_gate_evaluate(p, n, ref, r);
}

static gb_gate_report evaluate(const char *metrics_body, gb_status want) {
    char text[2048];
    snprintf(text, sizeof text, "%s%s", header, metrics_body);
    write_file("res/run/metrics.csv", text);
    gb_gate_report r;
    gb_status s = gate_on((const char *[]){"res"}, 1, &r);
    cr_assert_eq(s, want, "status %d: %s", s, gb_last_error());
    return r;
}

static const gb_gate_row *row(const gb_gate_report *r, const char *metric) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->rows[i].metric, metric) == 0) return &r->rows[i];
    cr_assert_fail("metric %s not in the report", metric);
    return NULL;
}

TestSuite(gate, .init = setup, .fini = teardown);

Test(gate, every_rule_passes_inside_and_fails_outside) {
    gb_gate_report r = evaluate("toy,smoke,cpu,1,cs446 sha:00,a,1.09,\n"
                                "toy,smoke,cpu,1,cs446 sha:00,b,10.6,\n"
                                "toy,smoke,cpu,1,cs446 sha:00,c,5,\n"
                                "toy,smoke,cpu,1,cs446 sha:00,d,1.4,\n"
                                "toy,smoke,cpu,1,cs446 sha:00,e,3,\n", GB_OK);
    cr_expect_eq(row(&r, "a")->verdict, GB_VERDICT_PASS);     /* |1.09-1| <= 0.1 */
    cr_expect_eq(row(&r, "b")->verdict, GB_VERDICT_FAIL);     /* 0.6 > 0.05 * 10 */
    cr_expect_eq(row(&r, "c")->verdict, GB_VERDICT_PASS);     /* cpu row: 5 <= 5; the cuda row does not apply */
    cr_expect_eq(row(&r, "d")->verdict, GB_VERDICT_FAIL);     /* 1.4 < 2 - 0.5 */
    cr_expect_eq(row(&r, "e")->verdict, GB_VERDICT_NO_REFERENCE);
    cr_expect_eq(r.n_pass, 2);
    cr_expect_eq(r.n_fail, 2);
    gb_gate_free(&r);
}

Test(gate, missing_metric_fails_and_nan_fails) {
    gb_gate_report r = evaluate("toy,smoke,cpu,1,cs446,a,nan,\n", GB_OK);
    cr_expect_eq(row(&r, "a")->verdict, GB_VERDICT_FAIL, "NaN must never pass");
    cr_expect_eq(row(&r, "b")->verdict, GB_VERDICT_MISSING);
    cr_expect_eq(row(&r, "d")->verdict, GB_VERDICT_MISSING);
    gb_gate_free(&r);
}

/* A result no reference row speaks about compares nothing: its metrics are "no reference",
 * and the file itself fails rather than passing vacuously. */
Test(gate, other_dataset_does_not_match_and_compares_nothing) {
    gb_gate_report r = evaluate("toy,smoke,cpu,1,synthetic:other,a,50,\n", GB_OK);
    cr_expect_eq(row(&r, "a")->verdict, GB_VERDICT_NO_REFERENCE);
    cr_expect_eq(row(&r, "-")->verdict, GB_VERDICT_UNCOMPARED);
    cr_expect_eq(r.n_pass, 0);
    cr_expect_eq(r.n_fail, 1);
    gb_gate_free(&r);
}

Test(gate, empty_metrics_and_empty_reference_compare_nothing) {
    gb_gate_report r = evaluate("", GB_OK);
    cr_expect_eq(row(&r, "-")->verdict, GB_VERDICT_UNCOMPARED);
    cr_expect_eq(r.n_fail, 1);
    gb_gate_free(&r);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -f %s/ref/*.csv", dir);
    cr_assert_eq(system(cmd), 0);
    r = evaluate("toy,smoke,cpu,1,cs446,a,1.0,\n", GB_OK);
    cr_expect_eq(row(&r, "-")->verdict, GB_VERDICT_UNCOMPARED);
    cr_expect_eq(r.n_fail, 1);
    gb_gate_free(&r);
}

/* Two reference rows for one metric: each judges it, whatever their order, so a looser row
 * cannot hide a failing stricter one. */
Test(gate, every_matching_reference_row_judges) {
    write_file("ref/zz_strict.csv", "pipeline,scale,dataset,device,metric,expected,tolerance,rule,n_seeds,source\n"
                                    "toy,smoke,cs446,any,a,1.0,0.01,abs,1,strict after\n");
    write_file("ref/aa_strict.csv", "pipeline,scale,dataset,device,metric,expected,tolerance,rule,n_seeds,source\n"
                                    "toy,smoke,cs446,cpu,a,1.0,0.02,abs,1,strict before\n");
    gb_gate_report r = evaluate("toy,smoke,cpu,1,cs446,a,1.05,\n", GB_OK);
    size_t judged = 0, failed = 0;
    for (size_t i = 0; i < r.n; i++)
        if (strcmp(r.rows[i].metric, "a") == 0) {
            judged++;
            failed += r.rows[i].verdict == GB_VERDICT_FAIL;
        }
    cr_expect_eq(judged, 3, "one row per judgement (the base 0.1 row and both strict rows)");
    cr_expect_eq(failed, 2, "1.05 fails both strict rows, whichever file sorts first");
    gb_gate_free(&r);
}

Test(gate, a_metric_listed_twice_is_an_input_error) {
    (void)evaluate("toy,smoke,cpu,1,cs446,a,5.0,\ntoy,smoke,cpu,1,cs446,a,1.0,\n", GB_INPUT);
    cr_expect(strstr(gb_last_error(), "'a' appears twice") && strstr(gb_last_error(), "metrics.csv"), "message: %s",
              gb_last_error());
}

/* A run folder holding failure.txt fails the gate, its first line quoted, even when an older
 * metrics.csv sits elsewhere. */
Test(gate, a_failed_run_fails) {
    write_file("res/broken/failure.txt", "status: 4 (numerical)\nreason: loss is nan at step 30\nmore\n");
    gb_gate_report r = evaluate("toy,smoke,cpu,1,cs446,a,1.0,\ntoy,smoke,cpu,1,cs446,b,10,\n"
                                "toy,smoke,cpu,1,cs446,c,5,\ntoy,smoke,cpu,1,cs446,d,2,\n",
                                GB_OK);
    const gb_gate_row *w = row(&r, "-");
    cr_expect_eq(w->verdict, GB_VERDICT_RUN_FAILED);
    cr_expect_str_eq(w->source, "loss is nan at step 30");
    cr_expect_str_eq(w->pipeline, "broken");
    cr_expect_eq(r.n_pass, 4);
    cr_expect_eq(r.n_fail, 1);
    gb_gate_free(&r);
}

Test(gate, malformed_files_are_input_errors) {
    (void)evaluate("toy,smoke,cpu,1,cs446,a,not-a-number,\n", GB_INPUT);
    cr_expect(strstr(gb_last_error(), "metrics.csv") != NULL, "message: %s", gb_last_error());
    write_file("ref/bad.csv", "pipeline,scale\ntoy,smoke\n");
    (void)evaluate("toy,smoke,cpu,1,cs446,a,1,\n", GB_INPUT);
    cr_expect(strstr(gb_last_error(), "bad.csv") != NULL && strstr(gb_last_error(), "column"), "message: %s",
              gb_last_error());
}

/* An earlier run set aside in previous-run/ (pipelines/run_dir.h) is not judged. */
Test(gate, previous_run_folders_are_not_judged) {
    write_file("res/run/previous-run/metrics.csv", "pipeline,scale,device,seed,dataset,metric,value,note\n"
                                                   "toy,smoke,cpu,1,cs446,a,99,\n");
    write_file("res/run/previous-run/failure.txt", "reason: old failure\n");
    gb_gate_report r = evaluate("toy,smoke,cpu,1,cs446,a,1.0,\ntoy,smoke,cpu,1,cs446,b,10,\n"
                                "toy,smoke,cpu,1,cs446,c,5,\ntoy,smoke,cpu,1,cs446,d,2,\n",
                                GB_OK);
    cr_expect_eq(r.n_pass, 4);
    cr_expect_eq(r.n_fail, 0);
    gb_gate_free(&r);
}

/* Reference rows are checked when loaded, not only when a result meets them. */
Test(gate, a_bad_reference_row_fails_even_unmatched) {
    write_file("ref/typo.csv", "pipeline,scale,dataset,device,metric,expected,tolerance,rule,n_seeds,source\n"
                               "other,paper,cub32,any,fid,50,10,at_mots,1,typo\n");
    (void)evaluate("toy,smoke,cpu,1,cs446,a,1.0,\n", GB_INPUT);
    cr_expect(strstr(gb_last_error(), "typo.csv") && strstr(gb_last_error(), "at_mots"), "message: %s",
              gb_last_error());
}

/* Every results argument must hold a run: a second folder without one is not silently skipped. */
Test(gate, every_results_argument_must_hold_a_run) {
    write_file("res/run/metrics.csv", "pipeline,scale,device,seed,dataset,metric,value,note\n"
                                      "toy,smoke,cpu,1,cs446,a,1.0,\n");
    write_file("empty/readme.txt", "no run here\n");
    gb_gate_report r;
    cr_expect_eq(gate_on((const char *[]){"res", "empty"}, 2, &r), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "/empty"), "message: %s", gb_last_error());
    gb_gate_free(&r);
}

/* A run killed after setting an earlier one aside leaves previous-run/ and neither metrics.csv
 * nor failure.txt: that folder fails rather than vanishing from the check. */
Test(gate, an_unfinished_run_over_an_earlier_one_fails) {
    write_file("res/killed/previous-run/metrics.csv", "pipeline,scale,device,seed,dataset,metric,value,note\n"
                                                      "toy,smoke,cpu,1,cs446,a,1.0,\n");
    write_file("res/killed/checkpoint.safetensors", "partial");
    gb_gate_report r = evaluate("toy,smoke,cpu,1,cs446,a,1.0,\ntoy,smoke,cpu,1,cs446,b,10,\n"
                                "toy,smoke,cpu,1,cs446,c,5,\ntoy,smoke,cpu,1,cs446,d,2,\n",
                                GB_OK);
    const gb_gate_row *w = row(&r, "-");
    cr_expect_eq(w->verdict, GB_VERDICT_RUN_FAILED);
    cr_expect_str_eq(w->pipeline, "killed");
    cr_expect_eq(r.n_pass, 4);
    cr_expect_eq(r.n_fail, 1);
    gb_gate_free(&r);
}

Test(gate, one_metrics_file_holds_one_run) {
    (void)evaluate("toy,smoke,cpu,1,cs446,a,1.0,\ntoy,smoke,cpu,2,cs446,a,99,\n", GB_INPUT);
    cr_expect(strstr(gb_last_error(), "another run"), "message: %s", gb_last_error());
}

/* A "none" row declares a pipeline, scale and dataset without reference numbers: its results
 * are neither judged nor "nothing compared". */
Test(gate, a_none_row_declares_no_reference_numbers) {
    write_file("ref/none.csv", "pipeline,scale,dataset,device,metric,expected,tolerance,rule,n_seeds,source\n"
                               "toy,smoke,realdata,any,*,0,0,none,0,no golden numbers on the real set\n");
    gb_gate_report r = evaluate("toy,smoke,cpu,1,realdata sha256:00,a,50,\n", GB_OK);
    cr_expect_eq(row(&r, "a")->verdict, GB_VERDICT_NO_REFERENCE);
    cr_expect_eq(r.n_fail, 0);
    cr_expect_eq(r.n, 1);
    gb_gate_free(&r);
}

/* A results folder that links runs kept elsewhere: the linked run is judged, once, even when a
 * second link reaches it and a link loops back up the tree. */
Test(gate, linked_run_folders_are_followed_once) {
    write_file("kept/run/metrics.csv", "pipeline,scale,device,seed,dataset,metric,value,note\n"
                                       "toy,smoke,cpu,1,cs446,a,1.0,\n");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/res && ln -s ../kept/run %s/res/linked && ln -s ../kept/run %s/res/again && "
             "ln -s .. %s/res/loop",
             dir, dir, dir, dir);
    cr_assert_eq(system(cmd), 0);
    gb_gate_report r;
    cr_assert_eq(gate_on((const char *[]){"res"}, 1, &r), GB_OK, "%s", gb_last_error());
    cr_expect_eq(r.n_pass, 1, "the linked run's metric a, judged once (got %zu passes)", r.n_pass);
    gb_gate_free(&r);
}
