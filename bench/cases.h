/* bench/cases.h - the benchmark case families; each appends its rows to a list.
 *
 * One function per family file (bench/cases_<family>.c). quick: only the rows a
 * seconds-long smoke run needs (CI proves the harness works; it does not gate on
 * timings).
 */
#ifndef GB_BENCH_CASES_H
#define GB_BENCH_CASES_H

#include "harness.h"

void gb_bench_add_linear_cases(gb_bench_list *list, int quick);
void gb_bench_add_step_cases(gb_bench_list *list, int quick);
void gb_bench_add_conv_cases(gb_bench_list *list, int quick);
void gb_bench_add_pointwise_cases(gb_bench_list *list, int quick);
void gb_bench_add_data_cases(gb_bench_list *list, int quick);
void gb_bench_add_fid_cases(gb_bench_list *list, int quick);
/* The VAE and U-Net layers of specs/pipelines.md 4.5 and 4.6 (models not built yet). */
void gb_bench_add_spec_cases(gb_bench_list *list, int quick);

#endif
