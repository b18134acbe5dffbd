/* pipelines/registry.c - the table of every pipeline `genbench list` prints. Adding a pipeline
 * is one file in pipelines/ and one row here (README: "Adding a pipeline"). */
#include <string.h>

#include "pipeline.h"

static const gb_pipeline pipelines[] = {
    {"toy2d-langevin",
     "ScoreNet MLP + denoising score matching + annealed Langevin on the CS446 point cloud",
     "specs/pipelines.md 5.1-5.4", gb_toy2d_langevin_run},
    {"mnist-gan", "CS446 DNet/GNet GAN (BCE, non-saturating G) on MNIST (glyphs28 stand-in when absent)",
     "specs/pipelines.md 5.5", gb_mnist_gan_run},
    {"cub32-gan", "CMU ResNet GAN, BCE critic + non-saturating G, on 32x32 CUB (shapes32 stand-in when absent)",
     "specs/pipelines.md 4.1-4.4", gb_cub32_gan_run},
    {"cub32-lsgan", "CMU ResNet GAN, least-squares losses (a=0, b=c=1), on 32x32 CUB (shapes32 stand-in)",
     "specs/pipelines.md 4.1-4.4", gb_cub32_lsgan_run},
    {"cub32-wgan-gp", "CMU ResNet GAN, WGAN-GP (lambda 10, exact penalty gradient), on 32x32 CUB (shapes32 stand-in)",
     "specs/pipelines.md 4.1-4.4", gb_cub32_wgan_gp_run},
};

size_t gb_pipeline_count(void) { return sizeof pipelines / sizeof pipelines[0]; }

const gb_pipeline *gb_pipeline_at(size_t i) { return i < gb_pipeline_count() ? &pipelines[i] : NULL; }

const gb_pipeline *gb_pipeline_find(const char *id) {
    for (size_t i = 0; i < gb_pipeline_count(); i++)
        if (strcmp(pipelines[i].id, id) == 0) return &pipelines[i];
    return NULL;
}
