/* core/plot.c - the plot canvas: layout, data marks (points, lines, arrows) and decorations
 * (axes, ticks, labels, title, legend). Tick selection is in core/plot_ticks.c, glyphs in
 * core/font5x7.c, PNG output in core/png.c.
 *
 * Every mark is clipped twice: segments and shapes are first cut to the plot area in floating
 * point (so far-away data never becomes a huge or overflowing integer loop), then each pixel
 * write checks the area bounds. Tested by tests/test_plot.c.
 */
#include "core/plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/font5x7.h"
#include "core/log.h"
#include "core/png.h"

#define GB_PLOT_MAX_TICKS 32
#define GB_PLOT_PAD 6      /* space between the canvas edge, labels and the axes */
#define GB_PLOT_TICK_LEN 4 /* tick marks point outwards from the frame */
#define GB_PLOT_GRID ((gb_rgb){0xe8, 0xe8, 0xe8})
#define GB_PLOT_LEGEND_ROW 11
/* Mark sizes are clamped so a wild argument costs bounded time (and r * r cannot overflow). */
#define GB_PLOT_MAX_MARK 64

typedef struct {
    char *label;
    gb_rgb c;
} gb_plot_legend_entry;

struct gb_plot {
    int width, height;
    uint8_t *px; /* [height, width, 3] */
    char *title, *xlabel, *ylabel;
    double xmin, xmax, ymin, ymax;
    int log_y;
    int frozen, rendered;
    int ax, ay, aw, ah; /* plot area interior */
    int title_scale;
    int nxt, nyt;
    double xt[GB_PLOT_MAX_TICKS], yt[GB_PLOT_MAX_TICKS];
    gb_plot_legend_entry *legend; /* [nlegend] */
    size_t nlegend;
};

gb_rgb gb_palette(int i) {
    static const gb_rgb tab10[10] = {
        {0x1f, 0x77, 0xb4}, {0xff, 0x7f, 0x0e}, {0x2c, 0xa0, 0x2c}, {0xd6, 0x27, 0x28},
        {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2}, {0x7f, 0x7f, 0x7f},
        {0xbc, 0xbd, 0x22}, {0x17, 0xbe, 0xcf}};
    return tab10[((i % 10) + 10) % 10];
}

/* ---- pixels ------------------------------------------------------------------------------- */

static void gb_put(gb_plot *p, int x, int y, gb_rgb c) {
    if (x < 0 || y < 0 || x >= p->width || y >= p->height) return;
    uint8_t *q = p->px + ((size_t)y * (size_t)p->width + (size_t)x) * 3;
    q[0] = c.r;
    q[1] = c.g;
    q[2] = c.b;
}

static int gb_in_area(const gb_plot *p, int x, int y) {
    return x >= p->ax && y >= p->ay && x < p->ax + p->aw && y < p->ay + p->ah;
}

static void gb_put_area(gb_plot *p, int x, int y, gb_rgb c) {
    if (gb_in_area(p, x, y)) gb_put(p, x, y, c);
}

static int gb_is_white(const gb_plot *p, int x, int y) {
    const uint8_t *q = p->px + ((size_t)y * (size_t)p->width + (size_t)x) * 3;
    return q[0] == 255 && q[1] == 255 && q[2] == 255;
}

static void gb_fill_rect(gb_plot *p, int x, int y, int w, int h, gb_rgb c) {
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++) gb_put(p, i, j, c);
}

/* ---- text --------------------------------------------------------------------------------- */

static void gb_draw_text(gb_plot *p, int x, int y, const char *s, gb_rgb c, int scale) {
    for (int i = 0; s[i]; i++)
        for (int row = 0; row < GB_FONT_GLYPH_H; row++)
            for (int col = 0; col < GB_FONT_GLYPH_W; col++)
                if (gb_font5x7_pixel(s[i], col, row))
                    gb_fill_rect(p, x + (i * GB_FONT_CELL_W + col) * scale, y + row * scale,
                                 scale, scale, c);
}

void gb_plot_text(gb_plot *p, int x, int y, const char *text, gb_rgb c, int scale) {
    GB_ASSERT(p && text, "null argument");
    gb_draw_text(p, x, y, text, c, scale < 1 ? 1 : scale);
}

/* Text turned 90 degrees counter-clockwise, reading upwards from (x, y_bottom). */
static void gb_draw_text_up(gb_plot *p, int x, int y_bottom, const char *s, gb_rgb c) {
    for (int i = 0; s[i]; i++)
        for (int row = 0; row < GB_FONT_GLYPH_H; row++)
            for (int col = 0; col < GB_FONT_GLYPH_W; col++)
                if (gb_font5x7_pixel(s[i], col, row))
                    gb_put(p, x + row, y_bottom - (i * GB_FONT_CELL_W + col), c);
}

/* Left edge that centres a text of width w on cx, kept inside the canvas where it fits. */
static int gb_centre_on(const gb_plot *p, int cx, int w) {
    int x = cx - w / 2;
    if (x + w > p->width) x = p->width - w;
    return x < 0 ? 0 : x;
}

/* ---- layout ------------------------------------------------------------------------------- */

static void gb_tick_label(char *buf, size_t cap, double v) { snprintf(buf, cap, "%g", v); }

static int gb_max_label_width(const double *t, int n) {
    int w = 0;
    char buf[32];
    for (int i = 0; i < n; i++) {
        gb_tick_label(buf, sizeof buf, t[i]);
        int tw = gb_font5x7_text_width(buf, 1);
        if (tw > w) w = tw;
    }
    return w;
}

static int gb_clamp_ticks(int n) {
    if (n < 2) return 2;
    return n > GB_PLOT_MAX_TICKS ? GB_PLOT_MAX_TICKS : n;
}

static int gb_x_ticks(gb_plot *p, int aw) {
    return gb_plot_ticks(p->xmin, p->xmax, gb_clamp_ticks(aw / 64 + 1), p->xt);
}

/* Margins follow from the title, the labels and the widest tick label, so the layout is fixed
 * once (before the first mark); the mapping of earlier marks could not change afterwards. */
static void gb_plot_freeze(gb_plot *p) {
    if (p->frozen) return;
    p->frozen = 1;
    const int pad = GB_PLOT_PAD, tick = GB_PLOT_TICK_LEN;
    p->title_scale = 2;
    if (p->title && gb_font5x7_text_width(p->title, 2) > p->width - 2 * pad) p->title_scale = 1;
    /* Without a title, leave half a tick label of room above the top tick. */
    int top = p->title ? pad + GB_FONT_CELL_H * p->title_scale + pad : pad + GB_FONT_CELL_H / 2;
    int bottom = tick + 3 + GB_FONT_CELL_H + (p->xlabel ? pad + GB_FONT_CELL_H : 0) + pad;
    p->ay = top;
    p->ah = p->height - top - bottom;
    int max_y = gb_clamp_ticks(p->ah / 36 + 1);
    if (p->log_y) p->nyt = gb_plot_ticks_log(p->ymin, p->ymax, max_y, p->yt);
    else p->nyt = gb_plot_ticks(p->ymin, p->ymax, max_y, p->yt);
    int left = pad + (p->ylabel ? GB_FONT_CELL_H + pad : 0) + gb_max_label_width(p->yt, p->nyt) +
               3 + tick;
    p->nxt = gb_x_ticks(p, p->width - left - 2 * pad);
    int right = gb_max_label_width(p->xt, p->nxt) / 2 + 2;
    if (right < 2 * pad) right = 2 * pad;
    p->ax = left;
    p->aw = p->width - left - right;
    p->nxt = gb_x_ticks(p, p->aw);
}

void gb_plot_area(gb_plot *p, int *ax, int *ay, int *aw, int *ah) {
    gb_plot_freeze(p);
    *ax = p->ax;
    *ay = p->ay;
    *aw = p->aw;
    *ah = p->ah;
}

/* ---- mapping ------------------------------------------------------------------------------ */

static double gb_map_x(const gb_plot *p, double x) {
    return p->ax + (x - p->xmin) / (p->xmax - p->xmin) * (p->aw - 1);
}

/* NaN for y <= 0 on a log axis, which callers skip like any non-finite value. */
static double gb_map_y(const gb_plot *p, double y) {
    double t;
    if (p->log_y) {
        if (!(y > 0)) return NAN;
        t = (log10(p->ymax) - log10(y)) / (log10(p->ymax) - log10(p->ymin));
    } else {
        t = (p->ymax - y) / (p->ymax - p->ymin);
    }
    return p->ay + t * (p->ah - 1);
}

/* 1 when pixel-space (fx, fy) is finite and within `reach` pixels of the plot area. */
static int gb_near_area(const gb_plot *p, double fx, double fy, int reach) {
    return isfinite(fx) && isfinite(fy) && fx >= p->ax - reach - 1 && fx <= p->ax + p->aw + reach &&
           fy >= p->ay - reach - 1 && fy <= p->ay + p->ah + reach;
}

/* The nearest pixel, or 0 when the point cannot touch the area within `reach` (then it must
 * not be converted to int either: it may be huge). */
static int gb_to_pixel(const gb_plot *p, double fx, double fy, int reach, int *x, int *y) {
    if (!gb_near_area(p, fx, fy, reach)) return 0;
    *x = (int)floor(fx + 0.5);
    *y = (int)floor(fy + 0.5);
    return 1;
}

/* ---- marks -------------------------------------------------------------------------------- */

static void gb_disc(gb_plot *p, int cx, int cy, int r, gb_rgb c) {
    /* r*r + r rounds the disc: r = 1 is a 3x3 square, r = 2 a 5x5 square less its corners. */
    for (int dy = -r; dy <= r; dy++)
        for (int dx = -r; dx <= r; dx++)
            if (dx * dx + dy * dy <= r * r + r) gb_put_area(p, cx + dx, cy + dy, c);
}

static int gb_clamp_mark(int v, int lo) {
    if (v < lo) return lo;
    return v > GB_PLOT_MAX_MARK ? GB_PLOT_MAX_MARK : v;
}

void gb_plot_points(gb_plot *p, const float *xy, size_t n, gb_rgb c, int radius) {
    GB_ASSERT(p && (xy || n == 0), "null argument");
    gb_plot_freeze(p);
    radius = gb_clamp_mark(radius, 0);
    for (size_t i = 0; i < n; i++) {
        int x, y;
        if (gb_to_pixel(p, gb_map_x(p, xy[2 * i]), gb_map_y(p, xy[2 * i + 1]), radius, &x, &y))
            gb_disc(p, x, y, radius, c);
    }
}

/* Liang-Barsky: cuts the segment to [xl, xr] x [yt, yb]; 0 when nothing is left. */
static int gb_clip_segment(double *x0, double *y0, double *x1, double *y1, double xl, double yt,
                           double xr, double yb) {
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    const double pp[4] = {-dx, dx, -dy, dy};
    const double qq[4] = {*x0 - xl, xr - *x0, *y0 - yt, yb - *y0};
    for (int i = 0; i < 4; i++) {
        if (pp[i] == 0) {
            if (qq[i] < 0) return 0;
            continue;
        }
        double r = qq[i] / pp[i];
        if (pp[i] < 0) {
            if (r > t1) return 0;
            if (r > t0) t0 = r;
        } else {
            if (r < t0) return 0;
            if (r < t1) t1 = r;
        }
    }
    double ax = *x0, ay = *y0;
    *x0 = ax + t0 * dx;
    *y0 = ay + t0 * dy;
    *x1 = ax + t1 * dx;
    *y1 = ay + t1 * dy;
    return 1;
}

/* Bresenham between pixel-space endpoints, stamping a thickness x thickness square. */
static void gb_segment(gb_plot *p, double fx0, double fy0, double fx1, double fy1, gb_rgb c,
                       int thickness) {
    if (!isfinite(fx0) || !isfinite(fy0) || !isfinite(fx1) || !isfinite(fy1)) return;
    double m = thickness + 1;
    if (!gb_clip_segment(&fx0, &fy0, &fx1, &fy1, p->ax - m, p->ay - m, p->ax + p->aw + m,
                         p->ay + p->ah + m))
        return;
    int x0 = (int)floor(fx0 + 0.5), y0 = (int)floor(fy0 + 0.5);
    int x1 = (int)floor(fx1 + 0.5), y1 = (int)floor(fy1 + 0.5);
    int lo = -(thickness - 1) / 2, hi = thickness / 2;
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        for (int j = lo; j <= hi; j++)
            for (int i = lo; i <= hi; i++) gb_put_area(p, x0 + i, y0 + j, c);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

void gb_plot_polyline(gb_plot *p, const double *x, const double *y, size_t n, gb_rgb c,
                      int thickness) {
    GB_ASSERT(p && ((x && y) || n == 0), "null argument");
    gb_plot_freeze(p);
    thickness = gb_clamp_mark(thickness, 1);
    for (size_t i = 0; i + 1 < n; i++)
        gb_segment(p, gb_map_x(p, x[i]), gb_map_y(p, y[i]), gb_map_x(p, x[i + 1]),
                   gb_map_y(p, y[i + 1]), c, thickness);
    /* A lone finite point between breaks still shows. */
    if (n == 1) {
        int px, py;
        if (gb_to_pixel(p, gb_map_x(p, x[0]), gb_map_y(p, y[0]), 0, &px, &py))
            gb_put_area(p, px, py, c);
    }
}

/* Filled triangle by edge functions over its bounding box cut to the plot area. */
static void gb_triangle(gb_plot *p, const double tx[3], const double ty[3], gb_rgb c) {
    double xlo = fmin(tx[0], fmin(tx[1], tx[2])), xhi = fmax(tx[0], fmax(tx[1], tx[2]));
    double ylo = fmin(ty[0], fmin(ty[1], ty[2])), yhi = fmax(ty[0], fmax(ty[1], ty[2]));
    xlo = fmax(xlo, p->ax);
    ylo = fmax(ylo, p->ay);
    xhi = fmin(xhi, p->ax + p->aw - 1);
    yhi = fmin(yhi, p->ay + p->ah - 1);
    if (!(xlo <= xhi && ylo <= yhi)) return;
    double area = (tx[1] - tx[0]) * (ty[2] - ty[0]) - (ty[1] - ty[0]) * (tx[2] - tx[0]);
    if (area == 0) return;
    for (int y = (int)ceil(ylo); y <= (int)floor(yhi); y++)
        for (int x = (int)ceil(xlo); x <= (int)floor(xhi); x++) {
            int inside = 1;
            for (int k = 0; k < 3 && inside; k++) {
                int k1 = (k + 1) % 3;
                double e = (tx[k1] - tx[k]) * (y - ty[k]) - (ty[k1] - ty[k]) * (x - tx[k]);
                /* Same sign as the area (orientation-independent), edges included. */
                if (e * area < 0) inside = 0;
            }
            if (inside) gb_put_area(p, x, y, c);
        }
}

void gb_plot_arrow(gb_plot *p, double x0, double y0, double x1, double y1, gb_rgb c) {
    GB_ASSERT(p, "null argument");
    gb_plot_freeze(p);
    double sx = gb_map_x(p, x0), sy = gb_map_y(p, y0), ex = gb_map_x(p, x1), ey = gb_map_y(p, y1);
    if (!isfinite(sx) || !isfinite(sy) || !isfinite(ex) || !isfinite(ey)) return;
    double dx = ex - sx, dy = ey - sy, len = hypot(dx, dy);
    if (len < 1) {
        int px, py;
        if (gb_to_pixel(p, sx, sy, 0, &px, &py)) gb_put_area(p, px, py, c);
        return;
    }
    double head = fmin(7.0, fmax(3.0, 0.35 * len)), ux = dx / len, uy = dy / len;
    double bx = ex - ux * head, by = ey - uy * head, half = 0.5 * head;
    gb_segment(p, sx, sy, bx, by, c, 1);
    /* A head whose tip lies beyond its own size outside the area cannot show; skipping it also
     * keeps astronomically large coordinates out of the triangle arithmetic. */
    if (!gb_near_area(p, ex, ey, (int)head + 1)) return;
    const double tx[3] = {ex, bx - uy * half, bx + uy * half};
    const double ty[3] = {ey, by + ux * half, by - ux * half};
    gb_triangle(p, tx, ty, c);
}

/* ---- decorations -------------------------------------------------------------------------- */

static void gb_draw_grid_and_axes(gb_plot *p) {
    const gb_rgb black = GB_RGB_BLACK;
    int x_l = p->ax - 1, x_r = p->ax + p->aw, y_t = p->ay - 1, y_b = p->ay + p->ah;
    char buf[32];
    for (int i = 0; i < p->nxt; i++) {
        int x = (int)floor(gb_map_x(p, p->xt[i]) + 0.5);
        for (int y = p->ay; y < p->ay + p->ah; y++)
            if (gb_is_white(p, x, y)) gb_put(p, x, y, GB_PLOT_GRID);
        gb_fill_rect(p, x, y_b + 1, 1, GB_PLOT_TICK_LEN, black);
        gb_tick_label(buf, sizeof buf, p->xt[i]);
        int w = gb_font5x7_text_width(buf, 1);
        gb_draw_text(p, gb_centre_on(p, x, w), y_b + 1 + GB_PLOT_TICK_LEN + 3, buf, black, 1);
    }
    for (int i = 0; i < p->nyt; i++) {
        int y = (int)floor(gb_map_y(p, p->yt[i]) + 0.5);
        for (int x = p->ax; x < p->ax + p->aw; x++)
            if (gb_is_white(p, x, y)) gb_put(p, x, y, GB_PLOT_GRID);
        gb_fill_rect(p, x_l - GB_PLOT_TICK_LEN, y, GB_PLOT_TICK_LEN, 1, black);
        gb_tick_label(buf, sizeof buf, p->yt[i]);
        int w = gb_font5x7_text_width(buf, 1);
        gb_draw_text(p, x_l - GB_PLOT_TICK_LEN - 3 - w, y - GB_FONT_CAP_H / 2, buf, black, 1);
    }
    gb_fill_rect(p, x_l, y_t, x_r - x_l + 1, 1, black);
    gb_fill_rect(p, x_l, y_b, x_r - x_l + 1, 1, black);
    gb_fill_rect(p, x_l, y_t, 1, y_b - y_t + 1, black);
    gb_fill_rect(p, x_r, y_t, 1, y_b - y_t + 1, black);
}

static void gb_draw_titles(gb_plot *p) {
    const gb_rgb black = GB_RGB_BLACK;
    int centre_x = p->ax + p->aw / 2;
    if (p->title) {
        int w = gb_font5x7_text_width(p->title, p->title_scale);
        gb_draw_text(p, gb_centre_on(p, centre_x, w), GB_PLOT_PAD, p->title, black, p->title_scale);
    }
    if (p->xlabel) {
        int w = gb_font5x7_text_width(p->xlabel, 1);
        int y = p->ay + p->ah + 1 + GB_PLOT_TICK_LEN + 3 + GB_FONT_CELL_H + GB_PLOT_PAD;
        gb_draw_text(p, gb_centre_on(p, centre_x, w), y, p->xlabel, black, 1);
    }
    if (p->ylabel) {
        int w = gb_font5x7_text_width(p->ylabel, 1);
        int bottom = p->ay + p->ah / 2 + w / 2;
        if (bottom >= p->height) bottom = p->height - 1;
        gb_draw_text_up(p, GB_PLOT_PAD, bottom, p->ylabel, black);
    }
}

static long gb_count_ink(const gb_plot *p, int x, int y, int w, int h) {
    long n = 0;
    for (int j = y; j < y + h; j++)
        for (int i = x; i < x + w; i++)
            if (gb_in_area(p, i, j) && !gb_is_white(p, i, j)) n++;
    return n;
}

static void gb_draw_legend(gb_plot *p) {
    if (p->nlegend == 0) return;
    const int inner = 5, swatch = 8, gap = 5, margin = 6;
    int text_w = 0;
    for (size_t i = 0; i < p->nlegend; i++) {
        int w = gb_font5x7_text_width(p->legend[i].label, 1);
        if (w > text_w) text_w = w;
    }
    int bw = inner + swatch + gap + text_w + inner;
    int bh = inner + (int)p->nlegend * GB_PLOT_LEGEND_ROW - (GB_PLOT_LEGEND_ROW - GB_FONT_CAP_H) +
             inner;
    /* Corners in order of preference: top right, top left, bottom right, bottom left. */
    int xs[4] = {p->ax + p->aw - margin - bw, p->ax + margin, p->ax + p->aw - margin - bw,
                 p->ax + margin};
    int ys[4] = {p->ay + margin, p->ay + margin, p->ay + p->ah - margin - bh,
                 p->ay + p->ah - margin - bh};
    int best = 0;
    long best_ink = -1;
    for (int k = 0; k < 4; k++) {
        long ink = gb_count_ink(p, xs[k], ys[k], bw, bh);
        if (best_ink < 0 || ink < best_ink) {
            best_ink = ink;
            best = k;
        }
    }
    int x = xs[best], y = ys[best];
    gb_fill_rect(p, x, y, bw, bh, GB_RGB_WHITE);
    gb_fill_rect(p, x, y, bw, 1, GB_RGB_GREY);
    gb_fill_rect(p, x, y + bh - 1, bw, 1, GB_RGB_GREY);
    gb_fill_rect(p, x, y, 1, bh, GB_RGB_GREY);
    gb_fill_rect(p, x + bw - 1, y, 1, bh, GB_RGB_GREY);
    for (size_t i = 0; i < p->nlegend; i++) {
        int row_y = y + inner + (int)i * GB_PLOT_LEGEND_ROW;
        gb_fill_rect(p, x + inner, row_y + (GB_FONT_CAP_H - swatch) / 2, swatch,
                     swatch - 1, p->legend[i].c);
        gb_draw_text(p, x + inner + swatch + gap, row_y, p->legend[i].label, GB_RGB_BLACK, 1);
    }
}

void gb_plot_render(gb_plot *p) {
    GB_ASSERT(p, "null argument");
    if (p->rendered) return;
    gb_plot_freeze(p);
    p->rendered = 1;
    /* The legend picks its corner from the data alone, before gridlines add ink everywhere. */
    gb_draw_legend(p);
    gb_draw_grid_and_axes(p);
    gb_draw_titles(p);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static char *gb_dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    GB_ASSERT(d, "out of memory copying a %zu-byte label", n);
    memcpy(d, s, n);
    return d;
}

/* Optional texts (title, axis labels): NULL and "" both mean none and take no margin. */
static char *gb_dup_optional(const char *s) { return s && s[0] ? gb_dup(s) : NULL; }

static int gb_fix_range(double *lo, double *hi, const char *axis) {
    if (!isfinite(*lo) || !isfinite(*hi) || *lo > *hi) {
        gb_fail(GB_USAGE, "plot: %s range [%g, %g] must be finite with min <= max", axis, *lo, *hi);
        return 0;
    }
    if (*lo == *hi) {
        double d = *lo == 0 ? 0.5 : 0.05 * fabs(*lo);
        *lo -= d;
        *hi += d;
    }
    return 1;
}

gb_plot *gb_plot_new(int width, int height, const char *title, double xmin, double xmax,
                     double ymin, double ymax) {
    if (width < GB_PLOT_MIN_WIDTH || height < GB_PLOT_MIN_HEIGHT || width > 16384 ||
        height > 16384) {
        gb_fail(GB_USAGE, "plot: canvas %dx%d is outside %dx%d .. 16384x16384", width, height,
                GB_PLOT_MIN_WIDTH, GB_PLOT_MIN_HEIGHT);
        return NULL;
    }
    if (!gb_fix_range(&xmin, &xmax, "x") || !gb_fix_range(&ymin, &ymax, "y")) return NULL;
    gb_plot *p = calloc(1, sizeof *p);
    uint8_t *px = malloc((size_t)width * (size_t)height * 3);
    if (!p || !px) {
        free(p);
        free(px);
        gb_fail(GB_ENV, "plot: out of memory for a %dx%d canvas", width, height);
        return NULL;
    }
    memset(px, 255, (size_t)width * (size_t)height * 3);
    p->width = width;
    p->height = height;
    p->px = px;
    p->title = gb_dup_optional(title);
    p->xmin = xmin;
    p->xmax = xmax;
    p->ymin = ymin;
    p->ymax = ymax;
    return p;
}

void gb_plot_set_labels(gb_plot *p, const char *xlabel, const char *ylabel) {
    GB_ASSERT(p && !p->frozen, "set axis labels before the first mark");
    free(p->xlabel);
    free(p->ylabel);
    p->xlabel = gb_dup_optional(xlabel);
    p->ylabel = gb_dup_optional(ylabel);
}

void gb_plot_set_log_y(gb_plot *p, int on) {
    GB_ASSERT(p && !p->frozen, "set the y scale before the first mark");
    if (on && !(p->ymin > 0)) {
        gb_warn("plot: log y needs ymin > 0 (got %g); keeping a linear y axis", p->ymin);
        return;
    }
    p->log_y = on != 0;
}

void gb_plot_legend(gb_plot *p, const char *label, gb_rgb c) {
    GB_ASSERT(p && label && !p->rendered, "legend entries come before render/save");
    gb_plot_legend_entry *e = realloc(p->legend, (p->nlegend + 1) * sizeof *e);
    GB_ASSERT(e, "out of memory for a legend entry");
    p->legend = e;
    p->legend[p->nlegend].label = gb_dup(label);
    p->legend[p->nlegend].c = c;
    p->nlegend++;
}

gb_status gb_plot_save(gb_plot *p, const char *path) {
    GB_ASSERT(p && path, "null argument");
    gb_plot_render(p);
    return gb_png_write_rgb(path, p->px, p->width, p->height);
}

const uint8_t *gb_plot_pixels(const gb_plot *p, int *width, int *height) {
    GB_ASSERT(p, "null argument");
    if (width) *width = p->width;
    if (height) *height = p->height;
    return p->px;
}

void gb_plot_free(gb_plot *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nlegend; i++) free(p->legend[i].label);
    free(p->legend);
    free(p->title);
    free(p->xlabel);
    free(p->ylabel);
    free(p->px);
    free(p);
}
