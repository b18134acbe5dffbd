/* core/font5x7.h - a compact bitmap font for plot text: printable ASCII (32..126).
 *
 * Each glyph is 5x7 pixels in a 6x8 cell (one column and one row of spacing). Capitals and
 * digits fill rows 0..6; lowercase letters use rows 2..6, and the tails of g p q y drop into
 * row 7, so a glyph may touch the whole cell height. The glyphs were drawn for genbench. Drawing onto a canvas is the
 * caller's job (core/plot.c); this file only answers "is this pixel set".
 * Tested by tests/test_plot.c (glyph shapes, widths, unknown characters).
 */
#ifndef GB_FONT5X7_H
#define GB_FONT5X7_H

#define GB_FONT_GLYPH_W 5
#define GB_FONT_GLYPH_H 8 /* rows a glyph may use, descenders included */
#define GB_FONT_CAP_H 7   /* height of capitals and digits, for centring labels */
#define GB_FONT_CELL_W 6
#define GB_FONT_CELL_H 8

/* 1 when pixel (col 0..4, row 0..7) of c's glyph is set, else 0 (also outside the glyph).
 * Characters outside 32..126 draw as '?'. */
int gb_font5x7_pixel(char c, int col, int row);

/* Width in pixels of text drawn at integer scale s >= 1: the cells, less the spacing column
 * after the last character (0 for ""). */
int gb_font5x7_text_width(const char *text, int scale);

#endif
