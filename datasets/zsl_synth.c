/* datasets/zsl_synth.c - the zsl-synth stand-ins (see datasets/zsl_synth.h for the model).
 * Arithmetic is in double with a fixed loop order and Philox draws addressed by index, so a
 * seed gives the same bytes on every run. Tested by tests/test_datasets_zsl.c.
 */
#include "datasets/zsl_synth.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/philox.h"

void gb_zsl_synth_default(gb_zsl_synth_config *c, gb_zsl_synth_style style) {
    memset(c, 0, sizeof *c);
    c->style = style;
    c->num_classes = style == GB_ZSL_SYNTH_ATT ? 50 : 40;
    c->n_unseen = 10;
    c->desc_dim = style == GB_ZSL_SYNTH_ATT ? 85 : 1000;
    c->feat_dim = 64;
    c->per_class = 30;
    c->test_seen_frac = style == GB_ZSL_SYNTH_ATT ? 0.2f : 0.0f;
    c->noise = 1.0f;
    c->latent_dim = 8;
    c->hidden = 64;
    c->gain = 1.5f;
}

static gb_status validate(const gb_zsl_synth_config *c) {
    if (c->style != GB_ZSL_SYNTH_ATT && c->style != GB_ZSL_SYNTH_TEXT)
        return gb_fail(GB_USAGE, "zsl-synth: unknown style %d", (int)c->style);
    if (c->n_unseen < 1 || c->num_classes - c->n_unseen < 2)
        return gb_fail(GB_USAGE, "zsl-synth: num_classes %d with n_unseen %d leaves too few classes (need >= 2 seen, "
                       ">= 1 unseen)", c->num_classes, c->n_unseen);
    if (c->desc_dim < 1 || c->feat_dim < 1 || c->latent_dim < 1 || c->hidden < 1 || c->per_class < 1)
        return gb_fail(GB_USAGE, "zsl-synth: desc_dim %d, feat_dim %d, latent_dim %d, hidden %d and per_class %d must "
                       "be positive", c->desc_dim, c->feat_dim, c->latent_dim, c->hidden, c->per_class);
    if (!(c->test_seen_frac >= 0 && c->test_seen_frac < 1) || (c->test_seen_frac > 0 && c->per_class < 2))
        return gb_fail(GB_USAGE, "zsl-synth: test_seen_frac %g must lie in [0, 1) and needs per_class >= 2",
                       (double)c->test_seen_frac);
    if (!(c->noise >= 0) || !(c->gain > 0) || c->topic_words < 0 || c->class_words < 0)
        return gb_fail(GB_USAGE, "zsl-synth: noise %g must be >= 0, gain %g > 0, topic/class words >= 0",
                       (double)c->noise, (double)c->gain);
    double n = (double)c->num_classes * c->per_class;
    if (n * c->feat_dim > 2147483647.0 || (double)c->num_classes * c->desc_dim > 2147483647.0 ||
        (double)c->hidden * c->desc_dim > 2147483647.0)
        return gb_fail(GB_USAGE, "zsl-synth: sizes beyond 2^31 values");
    return GB_OK;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static gb_stream open_stream(const gb_zsl_synth_config *c, uint64_t seed, const char *part) {
    return gb_stream_openf(seed, "zsl-synth/%s/%s", c->style == GB_ZSL_SYNTH_ATT ? "att" : "text", part);
}

/* Attribute rows: sigmoid(2 U z_c / sqrt(k) + u0), then L2-normalised. */
static void att_descriptions(const gb_zsl_synth_config *c, uint64_t seed, const float *z, double *desc) {
    int C = c->num_classes, A = c->desc_dim, k = c->latent_dim;
    gb_stream su = open_stream(c, seed, "desc/u"), sb = open_stream(c, seed, "desc/bias");
    for (int j = 0; j < A; j++) {
        float u[64], bias;
        gb_stream_normal(&sb, &bias, 1);
        for (int t0 = 0; t0 < k; t0 += 64) {
            int m = k - t0 < 64 ? k - t0 : 64;
            gb_stream_normal(&su, u, (size_t)m);
            for (int ci = 0; ci < C; ci++) {
                double s = 0;
                for (int t = 0; t < m; t++) s += (double)u[t] * z[(size_t)ci * k + t0 + t];
                desc[(size_t)ci * A + j] += s;
            }
        }
        for (int ci = 0; ci < C; ci++) {
            double *v = &desc[(size_t)ci * A + j];
            *v = 1.0 / (1.0 + exp(-(2.0 * *v / sqrt((double)k) + bias)));
        }
    }
}

/* TF-IDF rows of topic mixtures (see the header). */
static void text_descriptions(const gb_zsl_synth_config *c, uint64_t seed, const float *z, double *tf) {
    int C = c->num_classes, V = c->desc_dim, k = c->latent_dim;
    int tw = c->topic_words ? c->topic_words : (V / 40 > 0 ? V / 40 : 1);
    int cw = c->class_words ? c->class_words : (V / 100 > 0 ? V / 100 : 1);
    gb_stream sw = open_stream(c, seed, "desc/topic-words"), sv = open_stream(c, seed, "desc/topic-weights");
    gb_stream cwds = open_stream(c, seed, "desc/class-words"), cv = open_stream(c, seed, "desc/class-weights");
    for (int t = 0; t < k; t++)
        for (int i = 0; i < tw; i++) {
            uint32_t w = gb_stream_below(&sw, (uint32_t)V);
            double weight = gb_stream_uniform_range(&sv, 0.5f, 1.5f);
            for (int ci = 0; ci < C; ci++) {
                double a = z[(size_t)ci * k + t];
                if (a > 0) tf[(size_t)ci * V + w] += a * weight;
            }
        }
    for (int ci = 0; ci < C; ci++)
        for (int i = 0; i < cw; i++) {
            uint32_t w = gb_stream_below(&cwds, (uint32_t)V);
            tf[(size_t)ci * V + w] += gb_stream_uniform_range(&cv, 0.2f, 1.0f);
        }
    for (int w = 0; w < V; w++) { /* smooth idf, as scikit-learn's TfidfTransformer */
        int df = 0;
        for (int ci = 0; ci < C; ci++) df += tf[(size_t)ci * V + w] > 0;
        double idf = log((1.0 + C) / (1.0 + df)) + 1.0;
        for (int ci = 0; ci < C; ci++) tf[(size_t)ci * V + w] *= idf;
    }
}

/* Class means mu_c = W2 tanh(gain W1 (sqrt(A) d_c) + b1), standardised per dim over classes. */
static void class_means(const gb_zsl_synth_config *c, uint64_t seed, const float *desc, double *mu) {
    int C = c->num_classes, A = c->desc_dim, H = c->hidden, D = c->feat_dim;
    double *h = calloc((size_t)C * H, sizeof *h);
    float *row = malloc((size_t)(A > H ? A : H) * sizeof *row);
    gb_stream s1 = open_stream(c, seed, "net/w1"), sb = open_stream(c, seed, "net/b1"),
              s2 = open_stream(c, seed, "net/w2");
    for (int j = 0; j < H; j++) {
        gb_stream_normal(&s1, row, (size_t)A);
        float b;
        gb_stream_normal(&sb, &b, 1);
        for (int ci = 0; ci < C; ci++) {
            double s = 0;
            for (int a = 0; a < A; a++) s += (double)row[a] * desc[(size_t)ci * A + a];
            /* W1 ~ N(0, 1/A) times sqrt(A) d: the two scales cancel */
            h[(size_t)ci * H + j] = tanh(c->gain * s + 0.5 * b);
        }
    }
    for (int j = 0; j < D; j++) {
        gb_stream_normal(&s2, row, (size_t)H);
        double mean = 0, sq = 0;
        for (int ci = 0; ci < C; ci++) {
            double s = 0;
            for (int t = 0; t < H; t++) s += (double)row[t] * h[(size_t)ci * H + t];
            mu[(size_t)ci * D + j] = s;
            mean += s;
        }
        mean /= C;
        for (int ci = 0; ci < C; ci++) sq += (mu[(size_t)ci * D + j] - mean) * (mu[(size_t)ci * D + j] - mean);
        double sd = sqrt(sq / C);
        for (int ci = 0; ci < C; ci++) mu[(size_t)ci * D + j] = sd > 0 ? (mu[(size_t)ci * D + j] - mean) / sd : 0;
    }
    free(h);
    free(row);
}

gb_status gb_zsl_synth_make(gb_zsl_set *set, const gb_zsl_synth_config *c, uint64_t seed) {
    memset(set, 0, sizeof *set);
    GB_TRY(validate(c));
    int C = c->num_classes, A = c->desc_dim, D = c->feat_dim, k = c->latent_dim, P = c->per_class;
    int U = c->n_unseen, S = C - U, N = C * P;
    int n_ts = c->style == GB_ZSL_SYNTH_ATT ? (int)(P * (double)c->test_seen_frac + 0.5) : 0;
    if (n_ts > P - 1) n_ts = P - 1;
    float *z = malloc((size_t)C * k * sizeof *z);
    double *desc = calloc((size_t)C * A, sizeof *desc), *mu = malloc((size_t)C * D * sizeof *mu);
    uint32_t *perm = malloc((size_t)(N > C ? N : C) * sizeof *perm);
    set->features = malloc((size_t)N * D * sizeof *set->features);
    set->labels = malloc((size_t)N * sizeof *set->labels);
    set->class_desc = malloc((size_t)C * A * sizeof *set->class_desc);
    set->seen = malloc((size_t)S * sizeof *set->seen);
    set->unseen = malloc((size_t)U * sizeof *set->unseen);
    set->train = malloc((size_t)N * sizeof *set->train);
    set->test_seen = malloc((size_t)N * sizeof *set->test_seen);
    set->test_unseen = malloc((size_t)N * sizeof *set->test_unseen);
    gb_status st = GB_OK;
    if (!z || !desc || !mu || !perm || !set->features || !set->labels || !set->class_desc || !set->seen ||
        !set->unseen || !set->train || !set->test_seen || !set->test_unseen) {
        st = gb_fail(GB_ENV, "zsl-synth: out of memory for %d instances x %d dims", N, D);
        goto out;
    }
    set->n = N;
    set->dim = D;
    set->num_classes = C;
    set->att_dim = A;
    set->n_seen = S;
    set->n_unseen = U;

    gb_stream sc = open_stream(c, seed, "classes");
    gb_stream_permutation(&sc, perm, (size_t)C);
    for (int i = 0; i < S; i++) set->seen[i] = (int32_t)perm[i];
    for (int i = 0; i < U; i++) set->unseen[i] = (int32_t)perm[S + i];
    qsort(set->seen, (size_t)S, sizeof *set->seen, cmp_i32);
    qsort(set->unseen, (size_t)U, sizeof *set->unseen, cmp_i32);

    gb_stream sz = open_stream(c, seed, "latent");
    gb_stream_normal(&sz, z, (size_t)C * k);
    if (c->style == GB_ZSL_SYNTH_ATT) att_descriptions(c, seed, z, desc);
    else text_descriptions(c, seed, z, desc);
    for (int ci = 0; ci < C; ci++) {
        double nrm = 0;
        for (int a = 0; a < A; a++) nrm += desc[(size_t)ci * A + a] * desc[(size_t)ci * A + a];
        nrm = sqrt(nrm);
        for (int a = 0; a < A; a++)
            set->class_desc[(size_t)ci * A + a] = (float)(nrm > 0 ? desc[(size_t)ci * A + a] / nrm : 0);
    }
    class_means(c, seed, set->class_desc, mu);

    /* Rows: att = all instances in a random order; text = seen instances in a random order,
     * then unseen ones. Instance j of class ci is "slot" ci * P + j; seen slots j < n_ts are
     * test_seen. */
    uint8_t *is_seen = calloc((size_t)C, 1);
    if (!is_seen) {
        st = gb_fail(GB_ENV, "zsl-synth: out of memory");
        goto out;
    }
    for (int i = 0; i < S; i++) is_seen[set->seen[i]] = 1;
    gb_stream so = open_stream(c, seed, "order");
    uint32_t *slots = malloc((size_t)N * sizeof *slots);
    if (!slots) {
        free(is_seen);
        st = gb_fail(GB_ENV, "zsl-synth: out of memory");
        goto out;
    }
    if (c->style == GB_ZSL_SYNTH_ATT) {
        gb_stream_permutation(&so, perm, (size_t)N);
        for (int r = 0; r < N; r++) slots[r] = perm[r];
    } else {
        int m = 0;
        for (int pass = 1; pass >= 0; pass--) { /* seen slots first, then unseen, each shuffled */
            int start = m;
            for (int ci = 0; ci < C; ci++)
                if (is_seen[ci] == pass)
                    for (int j = 0; j < P; j++) slots[m++] = (uint32_t)(ci * P + j);
            gb_stream_permutation(&so, perm, (size_t)(m - start));
            for (int i = 0; i < m - start; i++) perm[i] = slots[start + (int)perm[i]];
            memcpy(slots + start, perm, (size_t)(m - start) * sizeof *slots);
        }
    }
    gb_stream sn = open_stream(c, seed, "noise");
    for (int r = 0; r < N; r++) {
        int ci = (int)(slots[r] / (uint32_t)P), j = (int)(slots[r] % (uint32_t)P);
        set->labels[r] = ci;
        for (int d = 0; d < D; d++)
            set->features[(size_t)r * D + d] =
                (float)(mu[(size_t)ci * D + d] + c->noise * (double)gb_philox_normal_at(sn.key, (uint64_t)r * D + d));
        if (!is_seen[ci]) set->test_unseen[set->n_test_unseen++] = r;
        else if (j < n_ts) set->test_seen[set->n_test_seen++] = r;
        else set->train[set->n_train++] = r;
    }
    free(slots);
    free(is_seen);
    if (!set->n_test_seen) {
        free(set->test_seen);
        set->test_seen = NULL;
    }
    snprintf(set->identity, sizeof set->identity, "synthetic:zsl-synth-%s", c->style == GB_ZSL_SYNTH_ATT ? "att" : "text");
    st = gb_zsl_set_check(set, NULL);
out:
    free(z);
    free(desc);
    free(mu);
    free(perm);
    if (st != GB_OK) gb_zsl_set_free(set);
    return st;
}
