/* models/zsl_gan.h - the GAZSL / CIZSL networks (specs/pipelines.md 1.2, 2.2): the
 * conditional generator _netG (text) / _netG_att (attributes) and the critic _netD with its
 * WGAN head and auxiliary classifier, plus the EXACT parameter gradient of the WGAN-GP
 * penalty of that critic (forward-mode tangents, derivation in zsl_gan.c).
 *
 *   _netG (text):       rdc = rdc_text(c)           Linear(cond -> rdc), no activation
 *                       x = Tanh(main.2(LeakyReLU_0.01(main.0([z, rdc]))))
 *   _netG_att:          x = Tanh(main.2(LeakyReLU_0.01(main.0([z, att]))))
 *   _netD:              hid = ReLU(D_shared.0(x)); gan = D_gan(hid) [B, 1]; aux = D_aux(hid)
 *                       [B, n_seen] (logits)
 *
 * Parameters carry PyTorch's state-dict names (rdc_text.weight, main.0.weight, ...,
 * D_shared.0.weight, D_gan.weight, D_aux.weight, ...) in state-dict order, so a state dict
 * maps one to one onto the parameter block. Init as the original weights_init: xavier_normal
 * weights (N(0, 2 / (fan_in + fan_out))), zero biases.
 *
 * Memory: every activation lives in one arena per network, sized once for max_batch. Inputs
 * (z, the condition, the critic's input) are caller pointers that must stay unchanged from
 * forward to the matching backward. Gradient contract (DESIGN.md section 3): parameter
 * gradients accumulate, input gradients overwrite, NULL = not needed.
 *
 * Tested by tests/test_zsl_gan.c against PyTorch autograd (tests/peers/zsl_gan_ref.py),
 * including torch.autograd.grad(..., create_graph=True) of the penalty, and against float64
 * central finite differences of a float64 transcription of the penalty.
 */
#ifndef GB_ZSL_GAN_H
#define GB_ZSL_GAN_H

#include "../core/arena.h"
#include "../core/params.h"

typedef enum {
    GB_ZSL_COND_TEXT,      /* _netG: the condition goes through rdc_text first */
    GB_ZSL_COND_ATTRIBUTE, /* _netG_att: the condition is concatenated as it is */
} gb_zsl_cond_kind;

typedef struct {
    gb_zsl_cond_kind cond;
    size_t cond_dim;  /* text_dim (7551 CUB, 13217 NAB) or att_dim (85 AWA2, 102 SUN) */
    size_t rdc_dim;   /* rdc_text_dim, 1000; text only */
    size_t z_dim;     /* 100 text; 10 or 100 attributes */
    size_t h_dim;     /* 4086 in CIZSL text (the kept typo), 4096 otherwise */
    size_t x_dim;     /* visual feature dim (3584 text, 2048 GBU) */
    size_t n_seen;    /* D_aux classes */
    gb_activation d_act; /* the critic's hidden activation: ReLU in the spec */
} gb_zsl_gan_config;

/* The spec's text configuration (1.2): z 100, rdc 1000, h 4086 when cizsl != 0, else 4096
 * (ZSL_GAN's fixed value). */
gb_zsl_gan_config gb_zsl_gan_config_text(size_t text_dim, size_t x_dim, size_t n_seen, int cizsl);
/* The spec's attribute configuration (2.2): h 4096. */
gb_zsl_gan_config gb_zsl_gan_config_attribute(size_t att_dim, size_t z_dim, size_t x_dim,
                                              size_t n_seen);

/* Parameter counts from the tables alone (no allocation). */
size_t gb_zsl_netg_param_count(const gb_zsl_gan_config *cfg);
size_t gb_zsl_netd_param_count(const gb_zsl_gan_config *cfg);

/* Every linear op of one G forward and one D forward at `batch` rows, in execution order,
 * for the benchmark harness: fills min(cap, total) entries of `out` and `names` (either may be
 * NULL when cap is 0) and returns the total. Names are "netG.<layer>" / "netD.<layer>". */
size_t gb_zsl_gan_linear_shapes(const gb_zsl_gan_config *cfg, int batch, gb_linear_shape *out,
                                const char **names, size_t cap);

typedef struct {
    gb_zsl_gan_config cfg;
    size_t max_batch;
    gb_param_block params;
    gb_arena arena;
    const float *cond;          /* the last forward's condition (caller memory) */
    /* activations [max_batch, *] */
    float *rdc;                 /* [B, rdc_dim] (text only, else NULL) */
    float *cat;                 /* [B, z_dim + rdc_dim or cond_dim] */
    float *pre1, *act1;         /* [B, h] */
    float *pre2, *out;          /* [B, x_dim]: out = tanh(pre2) */
    /* backward scratch */
    float *dpre2;               /* [B, x_dim] */
    float *dact1, *dpre1;       /* [B, h] */
    float *dcat;                /* [B, in] (text only) */
    float *drdc;                /* [B, rdc_dim] (text only) */
} gb_zsl_netg;

typedef struct {
    gb_zsl_gan_config cfg;
    size_t max_batch;
    gb_param_block params;
    gb_arena arena;
    const float *x;             /* the last forward's input (caller memory) */
    float *pre, *hid;           /* [B, h] */
    float *gan;                 /* [B, 1] critic output */
    float *aux;                 /* [B, n_seen] class logits */
    /* backward scratch */
    float *dhid, *dhid_aux, *dpre; /* [B, h] */
    /* penalty: input gradient g, its penalty gradient v, the tangents and their adjoints */
    float *ones;                /* [B]: dD/d(out) = 1 per sample */
    float *g, *v;               /* [B, x_dim] */
    float *pre_t, *hid_t, *dpre_t; /* [B, h] */
} gb_zsl_netd;

/* Build the parameter tables and arenas for batches up to max_batch. Parameters are not
 * initialised: call gb_params_init(&net->params, dev, seed). */
void gb_zsl_netg_create(gb_zsl_netg *g, gb_device *dev, const gb_zsl_gan_config *cfg,
                        size_t max_batch);
void gb_zsl_netd_create(gb_zsl_netd *d, gb_device *dev, const gb_zsl_gan_config *cfg,
                        size_t max_batch);
void gb_zsl_netg_destroy(gb_zsl_netg *g, gb_device *dev);
void gb_zsl_netd_destroy(gb_zsl_netd *d, gb_device *dev);

/* G(z [B, z_dim], cond [B, cond_dim]) -> returns g->out [B, x_dim]. */
float *gb_zsl_netg_forward(gb_zsl_netg *g, gb_device *dev, size_t batch, const float *z,
                           const float *cond);
/* Backpropagate dout [B, x_dim] (d loss / d out) into the parameter gradients (+=). z and the
 * condition are data: no input gradient. */
void gb_zsl_netg_backward(gb_zsl_netg *g, gb_device *dev, size_t batch, const float *dout);

/* D(x [B, x_dim]): fills d->gan and d->aux. */
void gb_zsl_netd_forward(gb_zsl_netd *d, gb_device *dev, size_t batch, const float *x);
/* Backpropagate the two heads' output gradients (dgan [B, 1], daux [B, n_seen]; NULL: that
 * head is not in the loss) into the parameter gradients (+=) and, when dx is not NULL, the
 * input gradient dx [B, x_dim] (=), which is how the G step reaches the generator. */
void gb_zsl_netd_backward(gb_zsl_netd *d, gb_device *dev, size_t batch, const float *dgan,
                          const float *daux, float *dx);

/* The WGAN-GP penalty of the D_gan head at x_hat [B, x_dim] (the interpolates, data):
 *   loss = lambda * mean_r (||grad_x D_gan(x_hat_r)||_2 - 1)^2
 * written to `loss` (one float, backend memory), and its exact gradient with respect to
 * every critic parameter added to the parameter gradients (+=). D_aux does not enter (the
 * GAZSL code takes `disc_interpolates, _ = netD(interpolates)`), so its gradients are
 * untouched. Overwrites the forward activations (d->pre, ...). */
void gb_zsl_netd_gradient_penalty(gb_zsl_netd *d, gb_device *dev, size_t batch,
                                  const float *x_hat, float lambda, float *loss);

#endif
