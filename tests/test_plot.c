/* tests/test_plot.c - PNG I/O, base64, the bitmap font, ticks and the plot canvas.
 *
 * References are independent of the code under test: RFC 4648 section 10 vectors for base64;
 * PNG files assembled by hand here (chunks + zlib + CRC, no libpng) for the decoder; the
 * documented closed-form data->pixel mapping for the canvas; decimal literals for ticks.
 * The "examples" test renders one plot of each kind; with GB_PLOT_EXAMPLES=DIR set it keeps
 * them in DIR for a person to look at (otherwise it uses and removes a temporary folder).
 * Pseudo-random data uses a fixed-seed xorshift; the seed is printed on failure.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/base64.h"
#include "core/font5x7.h"
#include "core/plot.h"
#include "core/png.h"

#define SEED 0x9e3779b97f4a7c15ull

static uint64_t rng_state = SEED;

static uint64_t rng_next(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double rng_uniform(void) { return (double)(rng_next() >> 11) / 9007199254740992.0; }

static double rng_normal(void) {
    double u = rng_uniform(), v = rng_uniform();
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static char *make_temp_dir(void) {
    char *dir = strdup("/tmp/gb_test_plot.XXXXXX");
    cr_assert(mkdtemp(dir), "mkdtemp failed");
    return dir;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) remove_dir(path);
            else unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

static int count_temp_files(const char *dir) {
    DIR *d = opendir(dir);
    cr_assert(d, "opendir %s", dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)len + 1);
    cr_assert_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* ---- base64 ------------------------------------------------------------------------------- */

Test(base64, rfc4648_vectors) {
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *e = gb_base64_encode((const uint8_t *)in[i], strlen(in[i]));
        cr_assert(e);
        cr_expect_str_eq(e, out[i], "base64(\"%s\")", in[i]);
        cr_expect_eq(gb_base64_encoded_len(strlen(in[i])), strlen(out[i]));
        free(e);
    }
}

Test(base64, high_bytes) {
    const uint8_t in[3] = {0xfb, 0xff, 0xbf}; /* exercises '+' and '/' */
    char *e = gb_base64_encode(in, 3);
    cr_expect_str_eq(e, "+/+/");
    free(e);
}

/* ---- PNG ---------------------------------------------------------------------------------- */

static uint8_t *random_rgb(int w, int h) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) p[i] = (uint8_t)(rng_next() >> 56);
    return p;
}

Test(png, round_trip_odd_size) {
    char *dir = make_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/odd.png", dir);
    const int w = 37, h = 23;
    uint8_t *rgb = random_rgb(w, h);
    cr_assert_eq(gb_png_write_rgb(path, rgb, w, h), GB_OK, "%s", gb_last_error());
    uint8_t *back = NULL;
    int bw = 0, bh = 0;
    cr_assert_eq(gb_png_read_rgb(path, &back, &bw, &bh), GB_OK, "%s", gb_last_error());
    cr_assert_eq(bw, w);
    cr_assert_eq(bh, h);
    cr_expect(memcmp(rgb, back, (size_t)w * h * 3) == 0, "pixels differ after round trip (seed %llx)",
              (unsigned long long)SEED);
    cr_expect_eq(count_temp_files(dir), 0, "temporary file left behind");
    free(rgb);
    free(back);
    remove_dir(dir);
    free(dir);
}

Test(png, same_pixels_same_bytes) {
    char *dir = make_temp_dir();
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.png", dir);
    snprintf(b, sizeof b, "%s/b.png", dir);
    uint8_t *rgb = random_rgb(64, 33);
    cr_assert_eq(gb_png_write_rgb(a, rgb, 64, 33), GB_OK);
    cr_assert_eq(gb_png_write_rgb(b, rgb, 64, 33), GB_OK);
    size_t na, nb, ne;
    uint8_t *ba = read_all(a, &na), *bb = read_all(b, &nb), *be = NULL;
    cr_assert_eq(gb_png_encode_rgb(&be, &ne, rgb, 64, 33), GB_OK);
    cr_assert_eq(na, nb);
    cr_expect(memcmp(ba, bb, na) == 0, "two writes of the same pixels differ");
    cr_assert_eq(na, ne);
    cr_expect(memcmp(ba, be, na) == 0, "file bytes differ from gb_png_encode_rgb");
    cr_expect(memmem(ba, na, "tIME", 4) == NULL, "a tIME chunk makes bytes time-dependent");
    free(ba);
    free(bb);
    free(be);
    free(rgb);
    remove_dir(dir);
    free(dir);
}

/* A PNG assembled by hand: signature, IHDR, optional PLTE/tRNS, IDAT (filter 0 rows), IEND. */
typedef struct {
    uint8_t *b;
    size_t n;
} buf;

static void put_bytes(buf *o, const void *p, size_t n) {
    o->b = realloc(o->b, o->n + n);
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put_u32(buf *o, uint32_t v) {
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(o, q, 4);
}

static void put_chunk(buf *o, const char *type, const uint8_t *data, size_t n) {
    put_u32(o, (uint32_t)n);
    put_bytes(o, type, 4);
    if (n) put_bytes(o, data, n);
    uLong crc = crc32(0, (const Bytef *)type, 4);
    if (n) crc = crc32(crc, data, (uInt)n);
    put_u32(o, (uint32_t)crc);
}

static buf hand_png(int w, int h, int depth, int color, const uint8_t *rows, size_t row_bytes,
                    const uint8_t *plte, size_t nplte, const uint8_t *trns, size_t ntrns) {
    buf o = {NULL, 0};
    put_bytes(&o, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13] = {0, 0, 0, (uint8_t)w, 0, 0, 0, (uint8_t)h, (uint8_t)depth, (uint8_t)color, 0, 0, 0};
    put_chunk(&o, "IHDR", ihdr, 13);
    if (plte) put_chunk(&o, "PLTE", plte, nplte);
    if (trns) put_chunk(&o, "tRNS", trns, ntrns);
    size_t raw_n = (row_bytes + 1) * h;
    uint8_t *raw = malloc(raw_n);
    for (int y = 0; y < h; y++) {
        raw[y * (row_bytes + 1)] = 0;
        memcpy(raw + y * (row_bytes + 1) + 1, rows + y * row_bytes, row_bytes);
    }
    uLongf zn = compressBound(raw_n);
    uint8_t *z = malloc(zn);
    cr_assert_eq(compress(z, &zn, raw, raw_n), Z_OK);
    put_chunk(&o, "IDAT", z, zn);
    put_chunk(&o, "IEND", NULL, 0);
    free(raw);
    free(z);
    return o;
}

static void expect_decoded(buf png, int w, int h, const uint8_t *want, const char *what) {
    uint8_t *rgb = NULL;
    int bw, bh;
    cr_assert_eq(gb_png_decode_rgb(&rgb, &bw, &bh, png.b, png.n), GB_OK, "%s: %s", what,
                 gb_last_error());
    cr_assert_eq(bw, w, "%s", what);
    cr_assert_eq(bh, h, "%s", what);
    for (int i = 0; i < w * h * 3; i++)
        cr_expect_eq(rgb[i], want[i], "%s: byte %d is %d, want %d", what, i, rgb[i], want[i]);
    free(rgb);
    free(png.b);
}

Test(png, decodes_other_formats) {
    /* 3x2 grey 8-bit */
    const uint8_t grey[6] = {0, 50, 100, 150, 200, 255};
    uint8_t want[18];
    for (int i = 0; i < 6; i++) want[3 * i] = want[3 * i + 1] = want[3 * i + 2] = grey[i];
    expect_decoded(hand_png(3, 2, 8, 0, grey, 3, NULL, 0, NULL, 0), 3, 2, want, "grey8");

    /* 2x1 RGB 16-bit: the high byte decides after scaling (0x12ff -> 0x13, rounded). */
    const uint8_t rgb16[12] = {0x00, 0x00, 0xff, 0xff, 0x80, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
    uint8_t want16[6];
    for (int i = 0; i < 6; i++) {
        unsigned v = (unsigned)rgb16[2 * i] << 8 | rgb16[2 * i + 1];
        want16[i] = (uint8_t)((v * 255u + 32767u) / 65535u);
    }
    expect_decoded(hand_png(2, 1, 16, 2, rgb16, 12, NULL, 0, NULL, 0), 2, 1, want16, "rgb16");

    /* 4x1 palette 8-bit with a transparent entry 2 (composited over white). */
    const uint8_t plte[9] = {255, 0, 0, 0, 255, 0, 10, 20, 30};
    const uint8_t trns[3] = {255, 255, 0};
    const uint8_t idx[4] = {0, 1, 2, 1};
    const uint8_t wantp[12] = {255, 0, 0, 0, 255, 0, 255, 255, 255, 0, 255, 0};
    expect_decoded(hand_png(4, 1, 8, 3, idx, 4, plte, 9, trns, 3), 4, 1, wantp, "palette+tRNS");

    /* 2x1 RGBA 8-bit: alpha 255 is exact, alpha 0 is white, alpha 128 blends. */
    const uint8_t rgba[8] = {10, 20, 30, 255, 0, 0, 0, 128};
    const uint8_t wanta[6] = {10, 20, 30, (uint8_t)((255 * 127 + 127) / 255),
                              (uint8_t)((255 * 127 + 127) / 255), (uint8_t)((255 * 127 + 127) / 255)};
    expect_decoded(hand_png(2, 1, 8, 6, rgba, 8, NULL, 0, NULL, 0), 2, 1, wanta, "rgba8");
}

Test(png, corrupt_input_is_input_error) {
    uint8_t *rgb = NULL, *bytes = NULL;
    int w, h;
    size_t n;
    cr_assert_eq(gb_png_decode_rgb(&rgb, &w, &h, (const uint8_t *)"GIF89a....", 10), GB_INPUT);
    uint8_t *px = random_rgb(20, 20);
    cr_assert_eq(gb_png_encode_rgb(&bytes, &n, px, 20, 20), GB_OK);
    cr_expect_eq(gb_png_decode_rgb(&rgb, &w, &h, bytes, n / 2), GB_INPUT, "truncated stream");
    cr_expect(strstr(gb_last_error(), "byte"), "message names the offset: %s", gb_last_error());
    cr_expect_eq(gb_png_read_rgb("/nonexistent/x.png", &rgb, &w, &h), GB_INPUT);
    cr_expect(strstr(gb_last_error(), "/nonexistent/x.png"), "%s", gb_last_error());
    free(px);
    free(bytes);
}

Test(png, failed_write_names_path_and_leaves_no_temp) {
    char *dir = make_temp_dir();
    char path[512];
    uint8_t *rgb = random_rgb(8, 8);
    snprintf(path, sizeof path, "%s/missing/plot.png", dir);
    cr_assert_eq(gb_png_write_rgb(path, rgb, 8, 8), GB_ENV);
    cr_expect(strstr(gb_last_error(), path), "message should name %s: %s", path, gb_last_error());
    cr_expect_eq(count_temp_files(dir), 0);
    /* The target is a directory: the temporary file is written, the rename fails. */
    snprintf(path, sizeof path, "%s/taken", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_assert_eq(gb_png_write_rgb(path, rgb, 8, 8), GB_ENV);
    cr_expect(strstr(gb_last_error(), "rename"), "%s", gb_last_error());
    cr_expect_eq(count_temp_files(dir), 0, "temporary file left after a failed rename");
    struct stat st;
    cr_expect(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "the existing directory was replaced");
    free(rgb);
    remove_dir(dir);
    free(dir);
}

Test(png, replaces_existing_file) {
    char *dir = make_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/p.png", dir);
    uint8_t *a = random_rgb(5, 5), *b = random_rgb(7, 3), *back = NULL;
    cr_assert_eq(gb_png_write_rgb(path, a, 5, 5), GB_OK);
    cr_assert_eq(gb_png_write_rgb(path, b, 7, 3), GB_OK);
    int w, h;
    cr_assert_eq(gb_png_read_rgb(path, &back, &w, &h), GB_OK);
    cr_expect(w == 7 && h == 3 && memcmp(back, b, 7 * 3 * 3) == 0);
    free(a);
    free(b);
    free(back);
    remove_dir(dir);
    free(dir);
}

/* ---- grids -------------------------------------------------------------------------------- */

Test(grid, four_rgb_tiles) {
    const int n = 4, c = 3, h = 3, w = 5, cols = 3;
    float *img = malloc(sizeof(float) * n * c * h * w);
    /* Tile i, channel k holds the value whose byte is b = 60 i + 20 k + 7 (never a tie). */
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++)
            for (int j = 0; j < h * w; j++)
                img[((i * c) + k) * h * w + j] = -1.f + 2.f * (float)(60 * i + 20 * k + 7) / 255.f;
    img[0] = 7.f;   /* clamps to 255 */
    img[1] = NAN;   /* becomes 0 */
    char *dir = make_temp_dir();
    char path[512];
    snprintf(path, sizeof path, "%s/grid.png", dir);
    cr_assert_eq(gb_png_write_grid(path, img, n, c, h, w, cols, -1.f, 1.f), GB_OK, "%s", gb_last_error());
    uint8_t *rgb = NULL;
    int gw, gh;
    cr_assert_eq(gb_png_read_rgb(path, &rgb, &gw, &gh), GB_OK);
    cr_assert_eq(gw, 3 * 5 + 4 * 2);
    cr_assert_eq(gh, 2 * 3 + 3 * 2);
    for (int y = 0; y < gh; y++)
        for (int x = 0; x < gw; x++) {
            int tx = (x - 2) / 7, ty = (y - 2) / 5;
            int in_tile = x >= 2 && y >= 2 && (x - 2) % 7 < 5 && (y - 2) % 5 < 3;
            int i = ty * cols + tx;
            for (int k = 0; k < 3; k++) {
                int want = 255;
                if (in_tile && i < n) {
                    int lx = (x - 2) % 7, ly = (y - 2) % 5;
                    want = 60 * i + 20 * k + 7;
                    if (i == 0 && k == 0 && ly == 0 && lx == 0) want = 255;
                    if (i == 0 && k == 0 && ly == 0 && lx == 1) want = 0;
                }
                cr_expect_eq(rgb[(y * gw + x) * 3 + k], want, "pixel (%d,%d) channel %d", x, y, k);
            }
        }
    free(rgb);
    free(img);
    remove_dir(dir);
    free(dir);
}

Test(grid, greyscale_repeats_channel_and_cols_capped) {
    const float img[2 * 2 * 2] = {0, 0.5f, 1, 0.25f, 1, 1, 1, 1};
    uint8_t *rgb = NULL;
    int gw, gh;
    cr_assert_eq(gb_image_grid_rgb(&rgb, &gw, &gh, img, 2, 1, 2, 2, 8, 0.f, 1.f), GB_OK);
    cr_assert_eq(gw, 2 * 2 + 3 * 2, "cols larger than n is capped to n");
    cr_assert_eq(gh, 2 + 2 * 2);
    const int want[4] = {0, 128, 255, 64};
    for (int j = 0; j < 4; j++) {
        int x = 2 + j % 2, y = 2 + j / 2;
        for (int k = 0; k < 3; k++) cr_expect_eq(rgb[(y * gw + x) * 3 + k], want[j]);
    }
    free(rgb);
    cr_expect_eq(gb_image_grid_rgb(&rgb, &gw, &gh, img, 2, 2, 2, 2, 2, 0.f, 1.f), GB_USAGE);
    cr_expect_eq(gb_image_grid_rgb(&rgb, &gw, &gh, img, 2, 1, 2, 2, 2, 1.f, 1.f), GB_USAGE);
}

/* ---- font --------------------------------------------------------------------------------- */

static void glyph_rows(char c, char out[8][6]) {
    for (int r = 0; r < 8; r++) {
        for (int k = 0; k < 5; k++) out[r][k] = gb_font5x7_pixel(c, k, r) ? '#' : '.';
        out[r][5] = '\0';
    }
}

Test(font, glyph_shapes) {
    char g[8][6];
    glyph_rows('H', g);
    cr_expect_str_eq(g[0], "#...#");
    cr_expect_str_eq(g[3], "#####");
    glyph_rows('1', g);
    cr_expect_str_eq(g[6], ".###.");
    glyph_rows(' ', g);
    for (int r = 0; r < 8; r++) cr_expect_str_eq(g[r], ".....");
    /* Descenders drop into row 7, which no other glyph uses. */
    glyph_rows('g', g);
    cr_expect_str_eq(g[7], ".###.");
    cr_expect_str_eq(g[2], ".####");
    glyph_rows('9', g);
    cr_expect_str_eq(g[7], ".....");
    /* Every printable character except space has ink, and no two digits look alike. */
    for (int c = 33; c <= 126; c++) {
        int ink = 0;
        for (int r = 0; r < 8; r++)
            for (int k = 0; k < 5; k++) ink += gb_font5x7_pixel((char)c, k, r);
        cr_expect(ink > 0, "glyph %d is empty", c);
    }
    for (char a = '0'; a <= '9'; a++)
        for (char b = a + 1; b <= '9'; b++) {
            char ga[8][6], gb[8][6];
            glyph_rows(a, ga);
            glyph_rows(b, gb);
            cr_expect(memcmp(ga, gb, sizeof ga) != 0, "digits %c and %c are identical", a, b);
        }
    /* Outside 32..126 and outside the 5x7 box. */
    char q[8][6], u[8][6];
    glyph_rows('?', q);
    glyph_rows('\x01', u);
    cr_expect(memcmp(q, u, sizeof q) == 0);
    cr_expect_eq(gb_font5x7_pixel('H', 5, 0), 0);
    cr_expect_eq(gb_font5x7_pixel('H', 0, 7), 0);
    cr_expect_eq(gb_font5x7_pixel('g', 0, 8), 0);
    cr_expect_eq(gb_font5x7_pixel('H', -1, 0), 0);
}

Test(font, text_width) {
    cr_expect_eq(gb_font5x7_text_width("", 1), 0);
    cr_expect_eq(gb_font5x7_text_width("A", 1), 5);
    cr_expect_eq(gb_font5x7_text_width("abc", 1), 17);
    cr_expect_eq(gb_font5x7_text_width("abc", 2), 34);
}

/* ---- ticks -------------------------------------------------------------------------------- */

static void expect_ticks(const double *got, int n, const double *want, int nwant, const char *what) {
    cr_assert_eq(n, nwant, "%s: %d ticks, want %d", what, n, nwant);
    for (int i = 0; i < n; i++)
        cr_expect_eq(got[i], want[i], "%s: tick %d is %.17g, want %.17g", what, i, got[i], want[i]);
}

Test(ticks, linear) {
    double t[32];
    const double a[] = {0, 0.2, 0.4, 0.6, 0.8, 1};
    expect_ticks(t, gb_plot_ticks(0, 1, 6, t), a, 6, "0..1 max 6");
    const double b[] = {-2, -1, 0, 1, 2};
    expect_ticks(t, gb_plot_ticks(-2.5, 2.5, 6, t), b, 5, "-2.5..2.5 max 6");
    const double c[] = {-0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6};
    expect_ticks(t, gb_plot_ticks(-0.6, 0.6, 7, t), c, 7, "-0.6..0.6 max 7");
    const double d[] = {0, 500, 1000, 1500, 2000};
    expect_ticks(t, gb_plot_ticks(0, 2000, 5, t), d, 5, "0..2000 max 5");
    const double e[] = {0.003, 0.004, 0.005};
    expect_ticks(t, gb_plot_ticks(0.0025, 0.0051, 4, t), e, 3, "0.0025..0.0051 max 4");
    const double f[] = {0.5};
    expect_ticks(t, gb_plot_ticks(0.5, 0.5, 4, t), f, 1, "lo == hi");
    cr_expect_eq(gb_plot_ticks(NAN, 1, 4, t), 0);
    cr_expect_eq(gb_plot_ticks(2, 1, 4, t), 0);
    /* Never more than max_ticks, over many random ranges; ticks inside the range, evenly spaced. */
    for (int i = 0; i < 2000; i++) {
        double lo = (rng_uniform() - 0.5) * pow(10, 6 * rng_uniform() - 3);
        double hi = lo + pow(10, 8 * rng_uniform() - 4);
        int max = 2 + (int)(rng_uniform() * 9);
        int n = gb_plot_ticks(lo, hi, max, t);
        cr_assert(n >= 1 && n <= max, "range [%g, %g] max %d gave %d ticks (seed %llx)", lo, hi, max,
                  n, (unsigned long long)SEED);
        for (int k = 0; k < n; k++) cr_assert(t[k] >= lo - 1e-9 * (hi - lo) && t[k] <= hi + 1e-9 * (hi - lo));
        for (int k = 2; k < n; k++)
            cr_assert(fabs((t[k] - t[k - 1]) - (t[1] - t[0])) <= 1e-9 * (hi - lo));
    }
}

Test(ticks, log) {
    double t[32];
    const double a[] = {1e-3, 1e-2, 1e-1, 1, 1e1};
    expect_ticks(t, gb_plot_ticks_log(1e-3, 1e1, 8, t), a, 5, "1e-3..1e1");
    const double b[] = {1e-4, 1e-2, 1, 1e2};
    expect_ticks(t, gb_plot_ticks_log(5e-5, 300, 4, t), b, 4, "5e-5..300 max 4 (every other decade)");
    const double c[] = {0.02, 0.05, 0.1, 0.2};
    expect_ticks(t, gb_plot_ticks_log(0.015, 0.3, 6, t), c, 4, "0.015..0.3: 1-2-5 steps");
    const double d[] = {0.5, 0.6, 0.7, 0.8, 0.9};
    expect_ticks(t, gb_plot_ticks_log(0.45, 0.9, 6, t), d, 5, "0.45..0.9: linear fallback");
    cr_expect_eq(gb_plot_ticks_log(0, 1, 6, t), 0);
}

/* ---- canvas ------------------------------------------------------------------------------- */

static const uint8_t *pixel(const gb_plot *p, int x, int y) {
    int w, h;
    const uint8_t *px = gb_plot_pixels(p, &w, &h);
    cr_assert(x >= 0 && y >= 0 && x < w && y < h, "pixel (%d,%d) outside %dx%d", x, y, w, h);
    return px + ((size_t)y * w + x) * 3;
}

static int is_colour(const uint8_t *q, gb_rgb c) { return q[0] == c.r && q[1] == c.g && q[2] == c.b; }

static int count_colour(const gb_plot *p, gb_rgb c) {
    int w, h, n = 0;
    const uint8_t *px = gb_plot_pixels(p, &w, &h);
    for (int i = 0; i < w * h; i++) n += is_colour(px + 3 * i, c);
    return n;
}

Test(canvas, data_to_pixel_mapping) {
    gb_plot *p = gb_plot_new(400, 300, "map", -2.5, 2.5, -0.6, 0.6);
    cr_assert(p);
    int ax, ay, aw, ah;
    gb_plot_area(p, &ax, &ay, &aw, &ah);
    cr_assert(ax > 0 && ay > 0 && ax + aw < 400 && ay + ah < 300 && aw > 200 && ah > 150);
    /* Three points, each checked at its closed-form pixel: px = ax + (x - xmin) / 5 * (aw - 1). */
    const float xy[6] = {-2.5f, 0.6f, 2.5f, -0.6f, 0.0f, 0.3f};
    gb_plot_points(p, xy, 3, GB_RGB_RED, 0);
    cr_expect(is_colour(pixel(p, ax, ay), GB_RGB_RED), "top-left corner");
    cr_expect(is_colour(pixel(p, ax + aw - 1, ay + ah - 1), GB_RGB_RED), "bottom-right corner");
    int cx = (int)floor(ax + 0.5 * (aw - 1) + 0.5);
    int cy = (int)floor(ay + (0.6 - (double)xy[5]) / 1.2 * (ah - 1) + 0.5);
    cr_expect(is_colour(pixel(p, cx, cy), GB_RGB_RED), "(0, 0.3) at (%d,%d)", cx, cy);
    cr_expect_eq(count_colour(p, GB_RGB_RED), 3, "radius 0 marks one pixel each");
    /* Radius 2: a 5x5 square less its 4 corners, centred on the point. */
    const float one[2] = {-1.0f, 0.0f};
    gb_plot_points(p, one, 1, GB_RGB_BLUE, 2);
    cr_expect_eq(count_colour(p, GB_RGB_BLUE), 21);
    int bx = (int)floor(ax + 1.5 / 5 * (aw - 1) + 0.5), by = (int)floor(ay + 0.5 * (ah - 1) + 0.5);
    cr_expect(is_colour(pixel(p, bx + 2, by + 1), GB_RGB_BLUE));
    cr_expect(!is_colour(pixel(p, bx + 2, by + 2), GB_RGB_BLUE));
    gb_plot_free(p);
}

Test(canvas, clipping_and_non_finite) {
    gb_plot *p = gb_plot_new(200, 150, NULL, 0, 1, 0, 1);
    int ax, ay, aw, ah;
    gb_plot_area(p, &ax, &ay, &aw, &ah);
    const float bad[] = {NAN, 0.5f, 0.5f, NAN, INFINITY, 0.5f, 0.5f, -INFINITY, 1e30f, 1e30f,
                         -1e30f, 0.5f, 3.0f, 0.5f, 0.5f, -2.0f, -0.5f, -0.5f};
    gb_plot_points(p, bad, sizeof bad / sizeof bad[0] / 2, GB_RGB_RED, 3);
    const double lx[] = {NAN, 5, 1e300, -1e300}, ly[] = {0.5, NAN, 2, 3};
    gb_plot_polyline(p, lx, ly, 4, GB_RGB_RED, 3);
    gb_plot_arrow(p, 2, 2, 3, 3, GB_RGB_RED);
    gb_plot_arrow(p, NAN, 0, 0.5, 0.5, GB_RGB_RED);
    gb_plot_arrow(p, 1e300, 0.5, 2e300, 0.5, GB_RGB_RED);
    cr_expect_eq(count_colour(p, GB_RGB_RED), 0, "nothing visible may be drawn");
    /* A segment crossing the whole area from far outside is cut to the area and nothing else. */
    const double cx[] = {-1e12, 1e12}, cy[] = {0.5, 0.5};
    gb_plot_polyline(p, cx, cy, 2, GB_RGB_GREEN, 1);
    cr_expect_eq(count_colour(p, GB_RGB_GREEN), aw, "one full row of the area");
    /* A disc straddling the corner keeps only its inside quarter. */
    const float corner[2] = {0.0f, 0.0f};
    gb_plot_points(p, corner, 1, GB_RGB_BLUE, 1);
    cr_expect_eq(count_colour(p, GB_RGB_BLUE), 4);
    int w, h;
    const uint8_t *px = gb_plot_pixels(p, &w, &h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (x < ax || y < ay || x >= ax + aw || y >= ay + ah)
                cr_assert(px[(y * w + x) * 3 + 0] == 255 && px[(y * w + x) * 3 + 1] == 255 &&
                          px[(y * w + x) * 3 + 2] == 255, "mark outside the area at (%d,%d)", x, y);
    gb_plot_free(p);
}

Test(canvas, log_y_mapping) {
    gb_plot *p = gb_plot_new(300, 240, "log", 0, 10, 1e-3, 1e1);
    gb_plot_set_log_y(p, 1);
    int ax, ay, aw, ah;
    gb_plot_area(p, &ax, &ay, &aw, &ah);
    /* log10: 1e-3 -> bottom row, 1e1 -> top row, 0.1 -> halfway (2 of 4 decades up). */
    const float xy[] = {0, 1e-3f, 10, 10, 5, 0.1f, 5, 0.0f, 5, -1.0f};
    gb_plot_points(p, xy, 5, GB_RGB_RED, 0);
    cr_expect(is_colour(pixel(p, ax, ay + ah - 1), GB_RGB_RED));
    cr_expect(is_colour(pixel(p, ax + aw - 1, ay), GB_RGB_RED));
    int mx = (int)floor(ax + 0.5 * (aw - 1) + 0.5), my = (int)floor(ay + 0.5 * (ah - 1) + 0.5);
    cr_expect(is_colour(pixel(p, mx, my), GB_RGB_RED), "0.1 at (%d,%d)", mx, my);
    cr_expect_eq(count_colour(p, GB_RGB_RED), 3, "y <= 0 is skipped on a log axis");
    gb_plot_free(p);
}

Test(canvas, log_y_refused_for_nonpositive_min) {
    gb_plot *p = gb_plot_new(300, 240, NULL, 0, 1, 0, 1);
    gb_plot_set_log_y(p, 1);
    int ax, ay, aw, ah;
    gb_plot_area(p, &ax, &ay, &aw, &ah);
    const float xy[] = {0.5f, 0.5f};
    gb_plot_points(p, xy, 1, GB_RGB_RED, 0);
    int my = (int)floor(ay + 0.5 * (ah - 1) + 0.5), mx = (int)floor(ax + 0.5 * (aw - 1) + 0.5);
    cr_expect(is_colour(pixel(p, mx, my), GB_RGB_RED), "stays linear");
    gb_plot_free(p);
}

Test(canvas, bad_arguments) {
    cr_expect_null(gb_plot_new(100, 50, NULL, 0, 1, 0, 1));
    cr_expect_null(gb_plot_new(300, 200, NULL, NAN, 1, 0, 1));
    cr_expect_null(gb_plot_new(300, 200, NULL, 0, 1, 2, 1));
    cr_expect(strstr(gb_last_error(), "y range"), "%s", gb_last_error());
    gb_plot *p = gb_plot_new(300, 200, NULL, 3, 3, 0, 1);
    cr_assert_not_null(p, "a constant range is widened");
    const float xy[] = {3.0f, 0.5f};
    gb_plot_points(p, xy, 1, GB_RGB_RED, 0);
    cr_expect_eq(count_colour(p, GB_RGB_RED), 1);
    gb_plot_free(p);
}

Test(canvas, render_draws_frame_ticks_legend) {
    gb_plot *p = gb_plot_new(320, 240, "Title", 0, 1, 0, 1);
    gb_plot_set_labels(p, "x", "y");
    /* Ink in the top-right quarter: the legend must move to the top-left corner. */
    const double x[] = {0.6, 1.0}, y[] = {0.95, 0.95};
    for (int k = 0; k < 20; k++) {
        double yy[2] = {y[0] - 0.01 * k, y[1] - 0.01 * k};
        gb_plot_polyline(p, x, yy, 2, GB_RGB_GREEN, 1);
    }
    gb_plot_legend(p, "data", GB_RGB_PURPLE);
    gb_plot_render(p);
    int ax, ay, aw, ah;
    gb_plot_area(p, &ax, &ay, &aw, &ah);
    cr_expect(is_colour(pixel(p, ax - 1, ay - 1), GB_RGB_BLACK), "frame corner");
    cr_expect(is_colour(pixel(p, ax + aw, ay + ah), GB_RGB_BLACK), "frame corner");
    /* Tick mark for x = 0.5 below the frame. */
    int tx = (int)floor(ax + 0.5 * (aw - 1) + 0.5);
    cr_expect(is_colour(pixel(p, tx, ay + ah + 2), GB_RGB_BLACK), "x tick at 0.5");
    /* The legend swatch is in the left half. */
    int w, h, left = 0, right = 0;
    const uint8_t *px = gb_plot_pixels(p, &w, &h);
    for (int yy = 0; yy < h; yy++)
        for (int xx = 0; xx < w; xx++)
            if (is_colour(px + (yy * w + xx) * 3, GB_RGB_PURPLE)) *(xx < ax + aw / 2 ? &left : &right) += 1;
    cr_expect(left > 0 && right == 0, "legend swatch left %d right %d", left, right);
    gb_plot_free(p);
}

/* ---- example renders ---------------------------------------------------------------------- */

static void save_and_check(gb_plot *p, const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq(gb_plot_save(p, path), GB_OK, "%s", gb_last_error());
    uint8_t *rgb = NULL;
    int w, h, pw, ph;
    gb_plot_pixels(p, &pw, &ph);
    cr_assert_eq(gb_png_read_rgb(path, &rgb, &w, &h), GB_OK);
    cr_expect(w == pw && h == ph);
    cr_expect(memcmp(rgb, gb_plot_pixels(p, NULL, NULL), (size_t)w * h * 3) == 0);
    free(rgb);
    gb_plot_free(p);
}

Test(examples, one_of_each_kind) {
    const char *keep = getenv("GB_PLOT_EXAMPLES");
    char *dir = keep ? strdup(keep) : make_temp_dir();
    if (keep) mkdir(dir, 0755);

    /* Point cloud: data in grey-blue, samples in orange, over x in [-2.5, 2.5], y in [-0.6, 0.6]. */
    enum { N = 3000 };
    float *data = malloc(sizeof(float) * 2 * N), *samp = malloc(sizeof(float) * 2 * N);
    for (int i = 0; i < N; i++) {
        double x = -2.4 + 4.8 * rng_uniform();
        data[2 * i] = (float)x;
        data[2 * i + 1] = (float)(0.4 * sin(1.6 * x) + 0.04 * rng_normal());
        double xs = -2.4 + 4.8 * rng_uniform();
        samp[2 * i] = (float)xs;
        samp[2 * i + 1] = (float)(0.4 * sin(1.6 * xs) + 0.09 * rng_normal());
    }
    gb_plot *p = gb_plot_new(640, 360, "Samples vs data", -2.5, 2.5, -0.6, 0.6);
    gb_plot_set_labels(p, "x1", "x2");
    gb_plot_points(p, data, N, GB_RGB_BLUE, 1);
    gb_plot_points(p, samp, N / 3, GB_RGB_ORANGE, 1);
    gb_plot_legend(p, "data", GB_RGB_BLUE);
    gb_plot_legend(p, "samples", GB_RGB_ORANGE);
    save_and_check(p, dir, "points.png");

    /* Score field of a two-component Gaussian mixture on a 20x20 grid, arrows scaled to cells. */
    p = gb_plot_new(560, 560, "Score field s(x) = grad log p(x)", -2.5, 2.5, -2.5, 2.5);
    gb_plot_set_labels(p, "x1", "x2");
    for (int i = 0; i < 20; i++)
        for (int j = 0; j < 20; j++) {
            double x = -2.375 + 0.25 * i, y = -2.375 + 0.25 * j;
            double w1 = exp(-((x - 1) * (x - 1) + (y - 1) * (y - 1)) / 0.5);
            double w2 = exp(-((x + 1) * (x + 1) + (y + 1) * (y + 1)) / 0.5);
            double sx = (w1 * (1 - x) + w2 * (-1 - x)) / (w1 + w2 + 1e-300) / 0.25;
            double sy = (w1 * (1 - y) + w2 * (-1 - y)) / (w1 + w2 + 1e-300) / 0.25;
            double len = hypot(sx, sy), s = len > 0 ? 0.2 * tanh(len / 4) / len : 0;
            gb_plot_arrow(p, x, y, x + s * sx, y + s * sy, GB_RGB_BLUE);
        }
    save_and_check(p, dir, "score_field.png");

    /* Langevin trajectories towards the two modes. */
    p = gb_plot_new(560, 560, "Langevin trajectories", -2.5, 2.5, -2.5, 2.5);
    gb_plot_set_labels(p, "x1", "x2");
    for (int t = 0; t < 6; t++) {
        double x[200], y[200];
        x[0] = -2.2 + 4.4 * rng_uniform();
        y[0] = -2.2 + 4.4 * rng_uniform();
        for (int k = 1; k < 200; k++) {
            double w1 = exp(-((x[k - 1] - 1) * (x[k - 1] - 1) + (y[k - 1] - 1) * (y[k - 1] - 1)) / 0.5);
            double w2 = exp(-((x[k - 1] + 1) * (x[k - 1] + 1) + (y[k - 1] + 1) * (y[k - 1] + 1)) / 0.5);
            double sx = (w1 * (1 - x[k - 1]) + w2 * (-1 - x[k - 1])) / (w1 + w2 + 1e-300) / 0.25;
            double sy = (w1 * (1 - y[k - 1]) + w2 * (-1 - y[k - 1])) / (w1 + w2 + 1e-300) / 0.25;
            double eps = 0.002;
            x[k] = x[k - 1] + eps * sx + sqrt(2 * eps) * rng_normal();
            y[k] = y[k - 1] + eps * sy + sqrt(2 * eps) * rng_normal();
        }
        gb_plot_polyline(p, x, y, 200, gb_palette(t), 1);
        const float start[2] = {(float)x[0], (float)y[0]};
        gb_plot_points(p, start, 1, GB_RGB_BLACK, 2);
    }
    gb_plot_legend(p, "start", GB_RGB_BLACK);
    save_and_check(p, dir, "langevin.png");

    /* Loss curves on a log y axis. */
    enum { S = 2000 };
    double *step = malloc(sizeof(double) * S), *tr = malloc(sizeof(double) * S),
           *va = malloc(sizeof(double) * S);
    for (int i = 0; i < S; i++) {
        step[i] = i;
        tr[i] = 2.0 * exp(-i / 250.0) + 0.004 * (1 + 0.3 * rng_normal());
        va[i] = 2.2 * exp(-i / 300.0) + 0.02;
    }
    p = gb_plot_new(640, 360, "Training loss", 0, S, 1e-3, 1e1);
    gb_plot_set_labels(p, "step", "loss");
    gb_plot_set_log_y(p, 1);
    gb_plot_polyline(p, step, tr, S, GB_RGB_BLUE, 1);
    gb_plot_polyline(p, step, va, S, GB_RGB_ORANGE, 2);
    gb_plot_legend(p, "train", GB_RGB_BLUE);
    gb_plot_legend(p, "validation", GB_RGB_ORANGE);
    save_and_check(p, dir, "loss.png");

    /* A 4x4 grid of 3x28x28 tiles in [-1, 1]: coloured discs on gradients. */
    float *img = malloc(sizeof(float) * 16 * 3 * 28 * 28);
    for (int n = 0; n < 16; n++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 28; y++)
                for (int x = 0; x < 28; x++) {
                    double r = hypot(x - 13.5, y - 13.5);
                    double v = r < 4 + n / 2 ? (c == n % 3 ? 1 : -1) : -1 + 2.0 * (x + y) / 54 * (c == 2);
                    img[((n * 3 + c) * 28 + y) * 28 + x] = (float)v;
                }
    char path[512];
    snprintf(path, sizeof path, "%s/grid.png", dir);
    cr_expect_eq(gb_png_write_grid(path, img, 16, 3, 28, 28, 4, -1.f, 1.f), GB_OK);

    /* Every glyph at scale 1 and 2, for looking at the font. */
    p = gb_plot_new(640, 200, NULL, 0, 1, 0, 1);
    gb_plot_render(p);
    char line[40];
    for (int row = 0; row < 3; row++) {
        int k = 0;
        for (int d = 32 + 32 * row; d < 64 + 32 * row && d <= 126; d++) line[k++] = (char)d;
        line[k] = '\0';
        gb_plot_text(p, 70, 20 + 12 * row, line, GB_RGB_BLACK, 1);
        gb_plot_text(p, 70, 70 + 20 * row, line, GB_RGB_RED, 2);
    }
    save_and_check(p, dir, "font.png");

    free(data);
    free(samp);
    free(step);
    free(tr);
    free(va);
    free(img);
    if (!keep) remove_dir(dir);
    free(dir);
}
