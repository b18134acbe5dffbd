/* cli/run_options.c - parse the options shared by `run` and `reproduce`. */
#include "run_options.h"

#include <string.h>

#include "../datasets/registry.h"
#include "cli.h"

const char gb_run_options_help[] =
    "options:\n"
    "  --scale smoke|small|paper  problem size (default small; smoke: seconds; paper: the seeds' settings)\n"
    "  --device cpu|cuda|auto     backend (default auto: cuda when a GPU is present)\n"
    "  --seed N                   run seed (default 1); every random draw derives from it\n"
    "  --threads N                CPU BLAS threads (default 2), recorded in the manifest\n"
    "  --data DIR                 where real datasets are looked for (default $GB_DATA, else data)\n"
    "  --out DIR                  output directory (default results/<pipeline>/<scale>-<device>-s<seed>)\n"
    "  --resume                   continue from <out>/checkpoint.safetensors (bitwise-identical result)\n"
    "  --inception-weights FILE   FID Inception-v3 weights for the image pipelines (default\n"
    "                             <data>/weights/pt_inception-2015-12-05-6726825d.pth, SHA-256 pinned);\n"
    "                             given explicitly, FID/KID/precision-recall are computed at every scale\n"
    "  --conv gemm|fast           CPU convolution routes (default gemm: exact-order routes, the GEMM\n"
    "                             lowering or register tiles, ~1u rounding, step parity with PyTorch;\n"
    "                             fast: Winograd F(4x4,3x3) on >= 64-channel 3x3 layers with >= 32x32\n"
    "                             outputs (>= 8x8 where the register tiles do not apply; ~19u rounding) and\n"
    "                             upsample+conv as four phase convs (2.25x fewer multiply-adds); `winograd`\n"
    "                             is the earlier name of fast)\n"
    "  --inception-sha256 HEX     the SHA-256 other weights must have (required with --inception-weights\n"
    "                             unless the file is the pinned one)\n"
    "  --nondeterministic         CUDA: let cuDNN's heuristics pick the fastest convolution algorithms,\n"
    "                             which may differ run to run (default: a deterministic allow-list);\n"
    "                             the manifest says so and lists the algorithms; no effect on the CPU\n";

gb_status gb_run_options_parse(gb_run_options *opt, int argc, char **argv, int allow_out) {
    /* the data root every command shares: --data, else $GB_DATA, else data/ */
    *opt = (gb_run_options){
        .scale = GB_SCALE_SMALL, .device = "auto", .seed = 1, .threads = 2, .data_dir = gb_data_root(NULL)};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc && gb_cli_is_value(argv[i + 1]) ? argv[i + 1] : NULL;
        unsigned long long n;
        if (strcmp(a, "--resume") == 0 && allow_out) {
            opt->resume = 1;
            continue;
        }
        if (strcmp(a, "--nondeterministic") == 0) {
            opt->nondeterministic = 1;
            continue;
        }
        if (!v && (strcmp(a, "--scale") == 0 || strcmp(a, "--device") == 0 || strcmp(a, "--seed") == 0 ||
                   strcmp(a, "--threads") == 0 || strcmp(a, "--data") == 0 || strcmp(a, "--out") == 0 ||
                   strcmp(a, "--inception-weights") == 0 || strcmp(a, "--inception-sha256") == 0 ||
                   strcmp(a, "--conv") == 0))
            return gb_fail(GB_USAGE, "%s needs a value", a);
        if (strcmp(a, "--scale") == 0) {
            GB_TRY(gb_scale_parse(v, &opt->scale));
        } else if (strcmp(a, "--device") == 0) {
            if (strcmp(v, "cpu") && strcmp(v, "cuda") && strcmp(v, "auto"))
                return gb_fail(GB_USAGE, "--device '%s': expected cpu, cuda or auto", v);
            opt->device = v;
        } else if (strcmp(a, "--seed") == 0) {
            GB_TRY(gb_cli_parse_u64(a, v, &n));
            opt->seed = n;
        } else if (strcmp(a, "--threads") == 0) {
            GB_TRY(gb_cli_parse_u64(a, v, &n));
            if (n < 1 || n > 1024) return gb_fail(GB_USAGE, "--threads %llu: expected 1..1024", n);
            opt->threads = (int)n;
        } else if (strcmp(a, "--data") == 0) {
            GB_TRY(gb_cli_check_dir_length(a, v));
            opt->data_dir = v;
        } else if (strcmp(a, "--conv") == 0) {
            if (strcmp(v, "gemm") && strcmp(v, "fast") && strcmp(v, "winograd"))
                return gb_fail(GB_USAGE, "--conv '%s': expected gemm or fast", v);
            opt->fast_conv = strcmp(v, "gemm") != 0;
        } else if (strcmp(a, "--inception-weights") == 0) {
            opt->inception_weights = v;
        } else if (strcmp(a, "--inception-sha256") == 0) {
            if (strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64)
                return gb_fail(GB_USAGE, "--inception-sha256 '%s': expected 64 hexadecimal digits", v);
            opt->inception_sha256 = v;
        } else if (strcmp(a, "--out") == 0 && allow_out) {
            GB_TRY(gb_cli_check_dir_length(a, v));
            opt->out_dir = v;
        } else {
            return gb_fail(GB_USAGE, "unknown option '%s' (see --help)", a);
        }
        i++;
    }
    if (opt->inception_sha256 && !opt->inception_weights)
        return gb_fail(GB_USAGE, "--inception-sha256 applies to --inception-weights FILE, which is missing");
    return GB_OK;
}
