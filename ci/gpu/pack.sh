#!/usr/bin/env bash
# ci/gpu/pack.sh - gather into .gpu/ what a lent GPU machine needs to run genbench's CUDA checks,
# then hand it over with the device tool:  run(command="bash ci/gpu/run.sh", carry=[".gpu"]).
#
# Why a pack: the GPU machine (../.library/device/KINDS.md, nvidia-h200) has CUDA 13, nvcc,
# PyTorch and cuDNN but none of genbench's Debian libraries (OpenBLAS, LAPACKE, FFTW, libpng,
# libjpeg, libzip, matio, libcsv, cJSON, Criterion) and no package registry. So the binaries are
# built here (x86-64, glibc 2.36: they run on the machine's newer glibc) and travel with the
# Debian shared libraries they load; CUDA's own libraries are taken from the machine. Binaries
# are stripped and everything goes into one xz archive, .gpu/pack.tar.xz (about 18 MB; the
# tool carries at most 64 MiB, and the libraries alone are 76 MB unpacked).
#
# Also packed: inception_keys.txt, the FID Inception state dict's keys and shapes (read from the
# random-weights fixture of tests/peers/inception_ref.py), from which run.sh writes random
# weights in the real .pth format there (95 MB: too large to carry); and the pure-Python peers
# the tests installed from PyPI (pytorch-fid, clean-fid, torch-fidelity, torchvision 0.2.2's
# inception.py: the benchmark's PyTorch Inception peer needs them, and PyPI is out of reach
# there).
set -euo pipefail
cd "$(dirname "$0")/../.."
make -j2 all
cuda_tests=$(ls tests/test_cuda_*.c tests/test_kernels_cuda*.c | sed 's|^tests/|build/tests/|; s|\.c$||')
# shellcheck disable=SC2086
make -j2 $cuda_tests
# not `grep -q`: under pipefail its early exit can kill ldd with SIGPIPE and fail the test
if ! ldd build/genbench | grep libcudart >/dev/null; then
  echo "pack: build/genbench was built without CUDA (no nvcc?): nothing to run on a GPU" >&2
  exit 5
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/lib"
bins="build/genbench $cuda_tests"
for b in $bins; do strip -o "$stage/bin/$(basename "$b")" "$b"; done

# Debian's libraries, not glibc's (its parts share private symbols and must come from one
# version: the machine's), the compiler runtime's (the machine has newer ones) or CUDA's (the
# machine's own match its driver). CUDA's are named one by one: libcu* would also drop libcurl.
# shellcheck disable=SC2086
for lib in $(ldd $bins | awk '/=> \//{print $3}' | sort -u); do
  case "$(basename "$lib")" in
    libc.so* | libm.so* | libmvec* | libpthread* | libdl.so* | librt.so* | libresolv* | libnsl* | libutil* | \
      libanl* | libnss_* | ld-linux* | libstdc++* | libgcc_s*) continue ;;
    libcudart* | libcublas* | libcufft* | libcusolver* | libcusparse* | libcurand* | libcudnn* | libnvJitLink* | \
      libnvrtc* | libcuda.so*) continue ;;
  esac
  cp -L "$lib" "$stage/lib/"
done

weights=build/fixtures/inception/weights_zip.pth
[ -f "$weights" ] || /usr/bin/python3 tests/peers/inception_ref.py build/fixtures >/dev/null
/usr/bin/python3 - "$weights" "$stage/inception_keys.txt" <<'PY'
import sys, torch
sd = torch.load(sys.argv[1], map_location="cpu")
with open(sys.argv[2], "w") as f:
    for k, v in sd.items():
        f.write("%s %s %s\n" % (k, str(v.dtype).replace("torch.", ""), " ".join(map(str, v.shape))))
PY

exclude=$(git rev-parse --git-path info/exclude) # .git may be a worktree's pointer file
mkdir -p "$(dirname "$exclude")"
grep -qx '/.gpu/' "$exclude" 2>/dev/null || echo '/.gpu/' >>"$exclude"
rm -rf .gpu
mkdir -p .gpu
for d in pydeps pydeps-inception; do cp -r "build/fixtures/$d" "$stage/$d"; done
tar -C "$stage" -cJf .gpu/pack.tar.xz bin lib inception_keys.txt pydeps pydeps-inception
du -h .gpu/pack.tar.xz
echo "pack: .gpu/pack.tar.xz ready; on the device: bash ci/gpu/run.sh (carry .gpu)"
