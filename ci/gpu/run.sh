#!/usr/bin/env bash
# ci/gpu/run.sh - on a lent GPU machine, from the repository root, with .gpu/ carried (made by
# ci/gpu/pack.sh): every check that only a GPU can make, in a few calls (below).
#
#   1. the machine: nvidia-smi, PyTorch's view of CUDA, any library the binaries cannot find;
#      with the suites, one smoke run on cuda whose error (a driver or runtime mismatch) is
#      printed: the suites alone would only say they saw no GPU;
#   2. the CUDA suites: CUDA against the CPU backend op by op, Philox on the device, cuSOLVER /
#      cuFFT against LAPACK / FFTW, the ceilings (tests/test_cuda_*, tests/test_kernels_cuda*),
#      as they run in use (no extra synchronisation); a failed suite runs again under
#      GB_SYNC_DEBUG=1 (a synchronisation after every launch, so a faulting kernel is named by
#      its own check, not by a later copy's); a suite that passed without running a test fails;
#   3. determinism: two runs of a pipeline on cuda with one seed give the same bytes;
#      reproduce: every pipeline at smoke scale on cuda, gated by the same bands as the CPU's;
#   4. `genbench bench --device cuda --quick`: the GPU rows, ceilings and peers;
#   5. the Inception forward on cuda against PyTorch eager on the same GPU (issue 6: at least
#      1.5x), `bench --filter inception --rounds 3`;
#   6. FID of 512 of those images on cpu and on cuda (batches of 64 and 100), their statistics
#      compared, then FID end to end on 50,000 generated 32x32 PNGs against stored statistics on
#      cuda (issue 6: under 15 s), with random weights in the real format written here.
# Each step's line is appended to $OUT/summary.txt as it finishes (a call stopped at the tool's
# 600 s still brings the lines so far) and the logs and CSVs, archived, to $OUT/logs.tgz; a
# failed suite's assertions are printed too, and the summary last. Every step has a time limit,
# and each runs whatever the previous ones did.
#
#   bash ci/gpu/run.sh [STEP...]     STEP: suites determinism reproduce bench inception fid
#                                    (default: all, which outlasts one 10-minute call: run
#                                    `suites`, `determinism reproduce`, `inception bench`, then
#                                    `fid`. The limits are worst cases: `suites` 440 s unless
#                                    failed suites run again, `determinism reproduce` 480 s,
#                                    `inception bench` 480 s, `fid` 525 s; far less is
#                                    expected, but their sum passes the 30 device minutes, so a
#                                    slow machine cuts the last call, whose lines so far return)
set -u
cd "$(dirname "$0")/../.."
out=${OUT:-/tmp/genbench-gpu}
# The device tool brings back at most 8 files from $OUT: the logs live outside it and go back as
# one archive, $OUT/logs.tgz, rewritten after every step (note below), beside summary.txt.
logs=/tmp/genbench-gpu-logs
rm -rf "$logs"
mkdir -p "$out" "$logs"
pack=/tmp/genbench-pack # the binaries, Debian's libraries and the weights' key list
rm -rf "$pack"
python3 -c "import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" .gpu/pack.tar.xz "$pack" ||
  { echo "run: cannot unpack .gpu/pack.tar.xz (run ci/gpu/pack.sh here and carry .gpu)"; exit 5; }
steps=${*:-suites determinism reproduce bench inception fid}
want() { [[ " $steps " == *" $1 "* ]]; }
: >"$out/summary.txt"
note() {
  echo "$1" >>"$out/summary.txt"
  echo "== $1"
  tar -czf "$out/logs.tgz" -C "$logs" . 2>/dev/null
}
# The lines of a failed suite's log that say what failed, on stdout (the tool returns its tail).
show_failures() {
  grep -a -A6 -E 'Assertion|CRASH|FAIL|error' "$1" | head -40 | sed 's/^/    /'
}

# CUDA's libraries from the machine: the toolkit's and the pip wheels' (nvidia-*), then ours.
nv=$(timeout -k 10 60 python3 - <<'PY'
import glob, os, site, sys
roots = set(site.getsitepackages()) | {p for p in sys.path if os.path.isdir(p)}
try:  # the wheels beside torch itself, wherever this interpreter found it (a venv, --user)
    import torch
    roots.add(os.path.dirname(os.path.dirname(torch.__file__)))
except Exception:
    pass
dirs = set()
for root in roots:
    for f in glob.glob(os.path.join(root, "nvidia", "**", "lib*.so*"), recursive=True):
        if "/stubs/" not in f:  # link-time stubs would shadow the driver's real libraries
            dirs.add(os.path.dirname(f))
print(":".join(sorted(dirs)))
PY
)
# joined without empty entries (an empty one searches the current directory)
LD_LIBRARY_PATH=$(printf '%s\n' "$pack/lib" "$nv" /usr/local/cuda/lib64 "${LD_LIBRARY_PATH:-}" | tr ':' '\n' |
  grep -v '^$' | paste -sd:)
export LD_LIBRARY_PATH
# the carried binary reads reference/ and bench/peers/ from this copy, and runs the peers with
# the machine's PyTorch and the packed pure-Python peers (build/bench-pydeps, where bench looks)
export GB_SOURCE_DIR="$PWD" GB_PYTHON=python3
mkdir -p build/bench-pydeps
cp -r "$pack/pydeps" "$pack/pydeps-inception" build/bench-pydeps/
bin=$pack/bin/genbench

timeout -k 10 30 nvidia-smi -L >"$logs/gpu.txt" 2>&1
timeout -k 10 60 python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available",
  torch.cuda.is_available())' >>"$logs/gpu.txt" 2>&1
cat "$logs/gpu.txt"
missing=$(ldd "$pack"/bin/* 2>/dev/null | grep 'not found' | sort -u)
if [ -n "$missing" ]; then
  note "MISSING LIBRARIES: $(echo "$missing" | awk '{print $1}' | tr '\n' ' ')"
fi
# with the suites, the smallest pipeline once on cuda: gb_cuda_device_open names the CUDA error
if want suites; then
  rm -rf /tmp/gb-probe
  if GB_DATA=/nonexistent timeout -k 10 20 "$bin" run toy2d-langevin --scale smoke --device cuda --out /tmp/gb-probe \
    >"$logs/probe.log" 2>&1; then
    note "cuda probe (toy2d-langevin smoke on cuda): ok"
  else
    note "cuda probe (toy2d-langevin smoke on cuda): exit $?: $(tail -1 "$logs/probe.log")"
  fi
fi

# 2. the CUDA suites
want suites && for t in "$pack"/bin/test_*; do
  name=$(basename "$t")
  if timeout -k 10 60 "$t" --jobs 4 >"$logs/$name.log" 2>&1; then r=pass st=0
  else st=$? r="FAIL (exit $st; 124: timed out)"; fi
  # a suite whose tests all skipped saw no GPU, and one that passed running none tested nothing
  [ "$r" = pass ] && ! grep -aqE 'Tested: [1-9]' "$logs/$name.log" && r="FAIL (no test ran)"
  if grep -aq 'SKIPPED: no CUDA device' "$logs/$name.log"; then r="FAIL (skipped: the binary sees no GPU)"
  elif [ "$st" != 0 ] && [ "$st" != 124 ]; then
    # a failure (not a timeout) again with a synchronisation after every launch, so a fault is
    # named by the launch that made it
    GB_SYNC_DEBUG=1 timeout -k 10 60 "$t" --jobs 4 >"$logs/$name.sync.log" 2>&1
    r="$r; with GB_SYNC_DEBUG=1: exit $?"
    show_failures "$logs/$name.sync.log"
  fi
  [ "$r" = pass ] || show_failures "$logs/$name.log"
  note "$name: $r: $(grep -a 'Synthesis' "$logs/$name.log" | tail -1)"
done

# 3. determinism on cuda: the same seed twice, byte for byte
if want determinism; then
det=/tmp/gb-det
rm -rf "$det"
ran=1
for k in 1 2; do
  GB_DATA=/nonexistent timeout -k 10 120 "$bin" run cub32-gan --scale smoke --device cuda --seed 3 --out "$det/$k" \
    >"$logs/det$k.log" 2>&1 || ran=0
done
same=1
for f in checkpoint.safetensors metrics.csv train.csv; do cmp -s "$det/1/$f" "$det/2/$f" || same=0; done
if [ "$ran" = 0 ]; then
  note "determinism (cub32-gan smoke on cuda): a run FAILED: $(tail -1 "$logs/det1.log")"
elif [ "$same" = 1 ]; then
  note "determinism (cub32-gan smoke on cuda, twice): identical checkpoint, metrics.csv, train.csv"
else
  note "determinism (cub32-gan smoke on cuda, twice): DIFFERENT (see det1.log, det2.log)"
fi
cp "$det/1/metrics.csv" "$logs/det_metrics.csv" 2>/dev/null
cp "$det/1/manifest.txt" "$logs/det_manifest.txt" 2>/dev/null
[ -f "$det/1/manifest.txt" ] &&
  note "cuDNN algorithms the run chose (manifest): $(grep -a '^algorithms' "$det/1/manifest.txt" | tr '\n' ';')"
fi

# 3b. every pipeline at smoke scale on cuda through the gate (stand-in data; the bands are the
# CPU's, device "any")
if want reproduce; then
  rep=/tmp/gb-reproduce
  rm -rf "$rep" && mkdir -p "$rep"
  (cd "$rep" && GB_DATA=/nonexistent timeout -k 10 240 "$bin" reproduce --scale smoke --device cuda) >"$logs/reproduce.log" 2>&1
  st=$?
  note "reproduce --scale smoke --device cuda: exit $st ($(grep -a '^gate:' "$logs/reproduce.log" | tail -1))"
  [ "$st" = 0 ] || grep -a -E 'FAIL|error' "$logs/reproduce.log" | head -20 | sed 's/^/    /'
fi

# 4. the GPU benchmark rows
if ! want bench; then
  :
elif timeout -k 10 240 "$bin" bench --device cuda --threads 16 --quick --out "$logs/bench" >"$logs/bench.log" 2>&1; then
  note "bench --device cuda --quick: ok (bench/bench.csv in logs.tgz)"
else
  note "bench --device cuda --quick: exit $? (bench.log)"
fi

# 5. the Inception forward, ours on cuda against PyTorch eager on the same GPU
if want inception; then
  if timeout -k 10 240 "$bin" bench --device cuda --threads 16 --filter inception --rounds 3 --out "$logs/bench-inception" \
    >"$logs/bench_inception.log" 2>&1; then
    note "inception on cuda: $(grep -a 'paired ratio' "$logs/bench_inception.log" | tail -1)"
  else
    note "inception bench on cuda: exit $? ($(tail -1 "$logs/bench_inception.log"))"
  fi
fi

# 6. FID of 50,000 32x32 images against stored statistics, end to end
want fid || { cat "$out/summary.txt"; exit 0; }
fid=/tmp/gb-fid
mkdir -p "$fid"
timeout -k 10 120 python3 - "$pack/inception_keys.txt" "$fid" <<'PY' >"$logs/fid_setup.log" 2>&1
import os, sys
import numpy as np, torch
from PIL import Image
keys, d = sys.argv[1], sys.argv[2]
g = torch.Generator().manual_seed(9)
sd = {}
for line in open(keys):
    name, dtype, *shape = line.split()
    shape = [int(s) for s in shape]
    if dtype == "int64":
        sd[name] = torch.tensor(1, dtype=torch.int64)
    elif name.endswith("conv.weight"):
        fan = int(np.prod(shape[1:]))
        sd[name] = torch.randn(shape, generator=g) * (2.0 / fan) ** 0.5
    elif name.endswith("running_var") or name.endswith("bn.weight"):
        sd[name] = torch.ones(shape)
    elif name == "fc.weight":
        sd[name] = torch.randn(shape, generator=g) / 2048 ** 0.5
    else:
        sd[name] = torch.zeros(shape)
torch.save(sd, os.path.join(d, "weights_zip.pth"))
try:  # the legacy format is only the fallback below: a PyTorch that cannot write it costs nothing else
    torch.save(sd, os.path.join(d, "weights_legacy.pth"), _use_new_zipfile_serialization=False)
except Exception as e:
    print("legacy .pth not written:", e)
    if os.path.exists(os.path.join(d, "weights_legacy.pth")):
        os.remove(os.path.join(d, "weights_legacy.pth"))
imgs = os.path.join(d, "images")
os.makedirs(imgs, exist_ok=True)
rng = np.random.default_rng(9)
for i in range(50000):
    base = rng.integers(0, 256, 3)
    img = np.clip(base + rng.normal(0, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
    Image.fromarray(img).save(os.path.join(imgs, "%05d.png" % i))
# stored statistics: a random PSD covariance in pytorch-fid's layout
a = rng.normal(size=(2048, 2048)) / 64
np.savez_compressed(os.path.join(d, "ref_stats.npz"), mu=rng.normal(size=2048), sigma=a @ a.T)
print("setup done")
PY
note "FID setup: $(tail -1 "$logs/fid_setup.log")"
[ -f "$fid/weights_zip.pth" ] && [ -f "$fid/ref_stats.npz" ] ||
  { note "FID steps not run: the setup wrote no weights or statistics (fid_setup.log)"; cat "$out/summary.txt"; exit 0; }
# the same 512 images on cpu and cuda: the end-to-end FID of the two backends
mkdir -p "$fid/subset"
for i in $(seq -f '%05g' 0 511); do cp "$fid/images/$i.png" "$fid/subset/"; done
w="$fid/weights_zip.pth"
hash=$(sha256sum "$w" | cut -c1-64)
# and on cuda once more in batches of 100 (the last one 12): cuDNN plans per batch size, so this
# says whether the features depend on --batch there (the CPU's do not, with a shape-invariant BLAS)
rm -f "$fid"/stats_*.npz # a warm machine keeps an earlier call's: never compare those
for run in cpu:64 cuda:64 cuda:100; do
  dev=${run%:*} batch=${run#*:}
  timeout -k 10 45 "$bin" fid "$fid/subset" "$fid/ref_stats.npz" --device "$dev" --threads 16 --batch "$batch" \
    --weights "$w" --weights-sha256 "$hash" --no-cache --stats-out "$fid/stats_${dev}_$batch.npz" \
    >"$logs/fid_subset_${dev}_$batch.log" 2>&1
  st=$?
  note "FID of $(ls "$fid/subset" | wc -l) images on $dev, batch $batch (exit $st): $(tail -1 "$logs/fid_subset_${dev}_$batch.log")"
done
# the statistics themselves, against the CPU's: the features' mean and covariance, not one number
timeout -k 10 30 python3 - "$fid" <<'PY' >"$logs/fid_subset_stats.log" 2>&1
import os, sys
import numpy as np
d = sys.argv[1]
missing = [r for r in ("cpu_64", "cuda_64", "cuda_100") if not os.path.exists(d + "/stats_%s.npz" % r)]
if missing:
    sys.exit("not compared: no statistics from " + ", ".join(missing))
cpu = np.load(d + "/stats_cpu_64.npz")
for run in ("cuda_64", "cuda_100"):
    g = np.load(d + "/stats_%s.npz" % run)
    for k in ("mu", "sigma"):
        err = np.abs(g[k] - cpu[k]).max() / np.abs(cpu[k]).max()
        print("%s %s: max |cuda - cpu| / max |cpu| = %.3g" % (run, k, err))
same = all(np.array_equal(np.load(d + "/stats_cuda_64.npz")[k], np.load(d + "/stats_cuda_100.npz")[k]) for k in ("mu", "sigma"))
print("cuda batch 64 vs 100: %s" % ("identical" if same else "different bits"))
PY
note "FID subset statistics, cuda vs cpu: $(tr '\n' ';' <"$logs/fid_subset_stats.log")"
for w in weights_zip weights_legacy; do
  [ -f "$fid/$w.pth" ] || { note "FID on cuda with $w: not run (the setup wrote no $w.pth)"; continue; }
  hash=$(sha256sum "$fid/$w.pth" | cut -c1-64)
  start=$(date +%s%N)
  # --threads 16: the PNGs are decoded on the host's cores (the default is 2)
  if timeout -k 10 120 "$bin" fid "$fid/images" "$fid/ref_stats.npz" --device cuda --threads 16 --batch 500 --protocol clean \
    --weights "$fid/$w.pth" --weights-sha256 "$hash" >"$logs/fid_$w.log" 2>&1; then
    ms=$((($(date +%s%N) - start) / 1000000))
    note "FID of 50,000 32x32 PNGs on cuda ($w): ${ms} ms wall (target < 15000), FID $(tail -1 "$logs/fid_$w.log")"
    break
  else
    note "FID on cuda with $w: exit $? ($(tail -1 "$logs/fid_$w.log"))"
  fi
done

echo
echo "==== summary"
cat "$out/summary.txt"
