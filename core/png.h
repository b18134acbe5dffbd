/* core/png.h - PNG files in and out (through libpng), and image grids of model samples.
 *
 * Pixels are RGB8, row-major, no alpha: rgb [height, width, 3]. Encoding is deterministic
 * (fixed zlib settings, no tIME or other time-dependent chunk), so the same pixels give the
 * same bytes with the same libpng/zlib. Files are written atomically: the bytes go to
 * "<dir>/.<base>.tmp.<pid>", which is flushed, fsync'd and renamed over <path>, so a failed or
 * killed write never leaves a half-written PNG where a good one was.
 * Tested by tests/test_plot.c (round trip at odd sizes, byte determinism, grid layout,
 * failed writes that name the path and leave no temporary file).
 */
#ifndef GB_PNG_H
#define GB_PNG_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* rgb [height, width, 3] -> PNG file at path, atomically. GB_USAGE for a bad size, GB_ENV
 * when the file cannot be written (the message names path and the temporary file). */
gb_status gb_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height);

/* rgb [height, width, 3] -> malloc'd PNG bytes [*n] (caller frees *bytes). */
gb_status gb_png_encode_rgb(uint8_t **bytes, size_t *n, const uint8_t *rgb, int width, int height);

/* PNG bytes [n] -> malloc'd rgb [*height, *width, 3] (caller frees *rgb). Any PNG colour type
 * and bit depth: palettes and grey expand to RGB, 16-bit scales to 8-bit, alpha is composited
 * over white. GB_INPUT for a corrupt or truncated stream. */
gb_status gb_png_decode_rgb(uint8_t **rgb, int *width, int *height, const uint8_t *bytes, size_t n);

/* gb_png_decode_rgb on the contents of a file; the message names the path. */
gb_status gb_png_read_rgb(const char *path, uint8_t **rgb, int *width, int *height);

/* The border between grid tiles, in pixels, and its colour (white). */
#define GB_GRID_BORDER 2
#define GB_GRID_BORDER_VALUE 255

/* Tiles images [n, channels, h, w] (NCHW, channels 1 or 3, values in [lo, hi]) laid out
 * row-major in min(cols, n) columns and ceil(n / cols) rows, with a GB_GRID_BORDER pixel
 * border around and between tiles -> malloc'd rgb [*height, *width, 3] (caller frees).
 * A value v becomes round(255 * (v - lo) / (hi - lo)) clamped to [0, 255]; NaN becomes 0.
 * Greyscale tiles repeat the one channel into R, G, B. Empty cells of the last row are border.
 * width = cols * w + (cols + 1) * GB_GRID_BORDER, likewise height with rows and h. */
gb_status gb_image_grid_rgb(uint8_t **rgb, int *width, int *height, const float *images, int n,
                            int channels, int h, int w, int cols, float lo, float hi);

/* gb_image_grid_rgb, then gb_png_write_rgb to path. */
gb_status gb_png_write_grid(const char *path, const float *images, int n, int channels, int h, int w,
                            int cols, float lo, float hi);

#endif
