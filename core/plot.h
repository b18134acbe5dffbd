/* core/plot.h - a small raster plotting canvas: axes, ticks, labels, title, legend, points,
 * polylines, arrows; saved as PNG through core/png.h. No plotting library, no Python.
 *
 * Coordinates: data (x, y) maps linearly (or log10 for y) onto the plot area, the interior of
 * the axes frame, columns ax .. ax + aw - 1 and rows ay .. ay + ah - 1 (gb_plot_area):
 *   px = ax + (x - xmin) / (xmax - xmin) * (aw - 1)
 *   py = ay + (ymax - y) / (ymax - ymin) * (ah - 1)      (y and the bounds in log10 when log-y)
 * and a pixel is hit when it is the nearest integer (round half up). Data marks are clipped
 * to the plot area, so they never touch the frame, margins or memory outside the canvas;
 * NaN/Inf coordinates (and y <= 0 on a log axis) are skipped.
 *
 * Order of use: new -> set_labels / set_log_y (they decide the margins, so they must come
 * before the first mark; asserted) -> points / polyline / arrow / legend -> save -> free.
 * The axes, ticks, labels, title and legend are drawn by gb_plot_render, which gb_plot_save
 * calls; gridlines only paint pixels still white, so they appear under the data.
 * Tested by tests/test_plot.c (mapping, clipping, log-y, ticks, legible example renders).
 */
#ifndef GB_PLOT_H
#define GB_PLOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    uint8_t r, g, b;
} gb_rgb;

/* Named colours; the hues are the first entries of matplotlib's tab10 palette. */
#define GB_RGB_BLACK ((gb_rgb){0x00, 0x00, 0x00})
#define GB_RGB_WHITE ((gb_rgb){0xff, 0xff, 0xff})
#define GB_RGB_GREY ((gb_rgb){0x7f, 0x7f, 0x7f})
#define GB_RGB_LIGHT_GREY ((gb_rgb){0xc7, 0xc7, 0xc7})
#define GB_RGB_BLUE ((gb_rgb){0x1f, 0x77, 0xb4})
#define GB_RGB_ORANGE ((gb_rgb){0xff, 0x7f, 0x0e})
#define GB_RGB_GREEN ((gb_rgb){0x2c, 0xa0, 0x2c})
#define GB_RGB_RED ((gb_rgb){0xd6, 0x27, 0x28})
#define GB_RGB_PURPLE ((gb_rgb){0x94, 0x67, 0xbd})

/* tab10 colour i mod 10 (blue, orange, green, red, purple, brown, pink, grey, olive, cyan). */
gb_rgb gb_palette(int i);

typedef struct gb_plot gb_plot;

/* The smallest canvas gb_plot_new accepts; margins never leave less than a usable area. */
#define GB_PLOT_MIN_WIDTH 160
#define GB_PLOT_MIN_HEIGHT 120

/* A white width x height canvas with a plot area framed by axes. title may be NULL. A range
 * with min == max is widened by 5% of |min| (or 0.5 around 0) so constant data still plots.
 * NULL (with gb_last_error set) for a canvas smaller than the minimum, a non-finite range,
 * min > max, or out of memory. */
gb_plot *gb_plot_new(int width, int height, const char *title,
                     double xmin, double xmax, double ymin, double ymax);

/* Axis labels (either may be NULL). The y label is drawn rotated, reading upwards. */
void gb_plot_set_labels(gb_plot *p, const char *xlabel, const char *ylabel);

/* log10 y axis with decade ticks. Needs ymin > 0: otherwise warns and stays linear. */
void gb_plot_set_log_y(gb_plot *p, int on);

/* Filled discs of the given pixel radius (0 = one pixel) at xy [n, 2] (x, y pairs). */
void gb_plot_points(gb_plot *p, const float *xy, size_t n, gb_rgb c, int radius);

/* Line through (x[i], y[i]), i < n, thickness in pixels (>= 1). A non-finite point breaks
 * the line into pieces instead of ending it. */
void gb_plot_polyline(gb_plot *p, const double *x, const double *y, size_t n, gb_rgb c,
                      int thickness);

/* Arrow from (x0, y0) to (x1, y1) in data coordinates with a filled head at (x1, y1) whose
 * size scales with the arrow's pixel length (3..7 px); shorter than a pixel: a dot. */
void gb_plot_arrow(gb_plot *p, double x0, double y0, double x1, double y1, gb_rgb c);

/* Adds a legend entry (a colour square and the label). The legend box is drawn at render in
 * the corner of the plot area that covers the fewest data pixels. Asserts not yet rendered. */
void gb_plot_legend(gb_plot *p, const char *label, gb_rgb c);

/* Text with its top-left corner at canvas pixel (x, y), glyph pixels scale x scale (>= 1),
 * clipped to the canvas: annotations anywhere, including the margins. */
void gb_plot_text(gb_plot *p, int x, int y, const char *text, gb_rgb c, int scale);

/* Draws axes, gridlines, ticks, tick labels, axis labels, title and legend, once (later calls
 * do nothing). Marks drawn afterwards land on top. */
void gb_plot_render(gb_plot *p);

/* gb_plot_render, then gb_png_write_rgb (atomic). */
gb_status gb_plot_save(gb_plot *p, const char *path);

/* The canvas rgb [*height, *width, 3] as it is now (decorations appear after render). */
const uint8_t *gb_plot_pixels(const gb_plot *p, int *width, int *height);

/* The plot area interior (see the mapping above); fixes the layout like a first mark does. */
void gb_plot_area(gb_plot *p, int *ax, int *ay, int *aw, int *ah);

void gb_plot_free(gb_plot *p);

/* Nice tick positions in [lo, hi]: multiples of a step 1, 2 or 5 times a power of ten, the
 * smallest step giving at most max_ticks (>= 2) ticks. Each tick is the double nearest its
 * decimal value (k * step computed so 0.6 is 0.6, and 0 is exactly 0). Writes at most
 * max_ticks values and returns the count; 0 for a non-finite or reversed range, 1 for lo == hi. */
int gb_plot_ticks(double lo, double hi, int max_ticks, double *ticks);

/* Ticks for a log axis on [lo, hi], 0 < lo < hi: powers of ten (every k-th decade when there
 * are more than max_ticks); with fewer than two decades inside, 1-2-5 multiples of powers of
 * ten; with fewer than two of those, gb_plot_ticks. Returns the count (0 if lo <= 0). */
int gb_plot_ticks_log(double lo, double hi, int max_ticks, double *ticks);

#endif
