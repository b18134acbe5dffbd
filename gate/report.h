/* gate/report.h - results/summary.csv and results/report.html from a gate report. */
#ifndef GB_REPORT_H
#define GB_REPORT_H

#include "gate.h"

/* summary.csv: one row per metric with its reference and verdict (atomic write). */
gb_status gb_report_write_summary(const gb_gate_report *r, const char *path);
/* report.html: one self-contained page: the gate table, then per result directory its manifest
 * and every PNG embedded as a data: URI (atomic write). */
gb_status gb_report_write_html(const gb_gate_report *r, const char *path);

#endif
