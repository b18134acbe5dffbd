#!/usr/bin/env bash
# tests/smoke.sh BUILD - every registered pipeline at smoke scale, the gate on those results, and
# the CLI's exit codes (DESIGN.md section 3). Part of `make test`.
set -u
build=${1:-build}
bin="$build/genbench"
out="$build/smoke"
rm -rf "$out"
fail=0
expect_exit() { # expect_exit CODE DESCRIPTION -- COMMAND...
  local want=$1 what=$2; shift 3
  "$@" >"$out/last.log" 2>&1; local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' "$out/last.log" | tail -5; fail=1
  else
    echo "ok: $what (exit $got)"
  fi
}
mkdir -p "$out"

# an empty data root: the smoke runs use the stand-ins their golden bands come from, even on a
# machine where real data sets have been fetched
mkdir -p "$out/nodata"
export GB_DATA="$out/nodata"
for p in $("$bin" list | awk '{print $1}'); do
  expect_exit 0 "smoke run of $p" -- "$bin" run "$p" --scale smoke --device cpu --out "$out/runs/$p"
  for f in metrics.csv manifest.txt train.csv; do
    [ -s "$out/runs/$p/$f" ] || { echo "FAIL: $p wrote no $f"; fail=1; }
  done
  ls "$out/runs/$p"/*.png >/dev/null 2>&1 || { echo "FAIL: $p wrote no plots"; fail=1; }
done
expect_exit 0 "gate on the smoke results" -- "$bin" check "$out/runs"
"$bin" check "$out/runs" | tail -n +1

# the gate must fail on a regressed metric: corrupt one value and check exit 1
cp -r "$out/runs" "$out/regressed"
first=toy2d-langevin
awk -F, 'BEGIN{OFS=","} NR>1 && $6=="sliced_w1" {$7="99"} {print}' "$out/runs/$first/metrics.csv" >"$out/regressed/$first/metrics.csv"
expect_exit 1 "gate on a regressed metric" -- "$bin" check "$out/regressed/$first"

expect_exit 2 "unknown command" -- "$bin" frobnicate
expect_exit 2 "unknown pipeline" -- "$bin" run no-such-pipeline
expect_exit 2 "unknown option" -- "$bin" run toy2d-langevin --no-such-option
expect_exit 2 "bad scale" -- "$bin" run toy2d-langevin --scale huge
expect_exit 2 "a seed with a blank and a sign (strtoull would wrap it)" -- "$bin" run toy2d-langevin --seed ' -1'
expect_exit 2 "a seed beyond 64 bits" -- "$bin" run toy2d-langevin --seed 99999999999999999999999
expect_exit 0 "help" -- "$bin" run --help
expect_exit 2 "an option given twice (which one was meant is unknown)" -- "$bin" run toy2d-langevin --seed 1 --seed 2
expect_exit 0 "--help beside an option given twice" -- "$bin" run toy2d-langevin --seed 1 --seed 2 --help
expect_exit 2 "fid with two protocols, refused before its inputs are read" -- \
  "$bin" fid no-such-a.npz no-such-b.npz --protocol clean --protocol legacy-tf
expect_exit 2 "an option where --out's value belongs" -- "$bin" run toy2d-langevin --out --scale smoke
expect_exit 2 "an option where bench --out's value belongs" -- "$bin" bench --out --quick
expect_exit 2 "an option where data --data's value belongs" -- "$bin" data list --data --out
expect_exit 2 "an option where check --reference's value belongs" -- "$bin" check --reference --help-me
long=$(printf 'd%.0s' $(seq 1 1001))
expect_exit 2 "an --out longer than genbench's path buffers" -- "$bin" run toy2d-langevin --out "$long"
expect_exit 2 "a bench --out longer than genbench's path buffers" -- "$bin" bench --quick --out "$long"
expect_exit 2 "--conv with an unknown algorithm" -- "$bin" run toy2d-langevin --conv fft
expect_exit 2 "--inception-sha256 that is not a hash" -- "$bin" run mnist-gan --inception-weights x.pth --inception-sha256 abc
expect_exit 2 "--inception-sha256 without --inception-weights" -- \
  "$bin" run mnist-gan --inception-sha256 0000000000000000000000000000000000000000000000000000000000000000
expect_exit 3 "--inception-weights naming a missing file" -- \
  "$bin" run mnist-gan --scale smoke --device cpu --out "$out/noweights" --inception-weights "$out/no-such.pth"
expect_exit 3 "check of a missing results directory" -- "$bin" check "$out/does-not-exist"
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  expect_exit 5 "--device cuda without a GPU" -- "$bin" run toy2d-langevin --scale smoke --device cuda --out "$out/cuda"
fi
# --nondeterministic on the CPU: accepted, warned about, and the manifest still says bitwise
expect_exit 0 "--nondeterministic on the cpu backend" -- \
  "$bin" run toy2d-langevin --scale smoke --device cpu --nondeterministic --out "$out/nondet"
grep -q 'the cpu backend has no nondeterministic algorithms' "$out/last.log" ||
  { echo "FAIL: --nondeterministic on the cpu gives no warning"; fail=1; }
grep -q '^determinism: bitwise' "$out/nondet/manifest.txt" ||
  { echo "FAIL: the cpu manifest under --nondeterministic does not say bitwise"; fail=1; }
cmp -s "$out/nondet/metrics.csv" "$out/runs/toy2d-langevin/metrics.csv" ||
  { echo "FAIL: --nondeterministic changed the cpu backend's results"; fail=1; }
# a corrupt checkpoint is an input error, and the good metrics.csv beside it survives
cp -r "$out/runs/toy2d-langevin" "$out/corrupt"
head -c 100 "$out/runs/toy2d-langevin/checkpoint.safetensors" >"$out/corrupt/checkpoint.safetensors"
expect_exit 3 "resume from a truncated checkpoint" -- "$bin" run toy2d-langevin --scale smoke --device cpu --out "$out/corrupt" --resume
cmp -s "$out/corrupt/metrics.csv" "$out/runs/toy2d-langevin/metrics.csv" || { echo "FAIL: failed resume touched metrics.csv"; fail=1; }

# OpenBLAS's bits depend on its thread count: a resume under another --threads is refused
cp -r "$out/runs/toy2d-langevin" "$out/otherthreads"
expect_exit 3 "resume under another thread count" -- \
  "$bin" run toy2d-langevin --scale smoke --device cpu --threads 1 --out "$out/otherthreads" --resume

# a fresh run into a finished run's folder that fails: the earlier result waits, whole, in
# previous-run/ (pipelines/run_dir.h), nothing of it is mixed with the new run, and the gate
# fails the folder; the next good run clears both and gives the same metrics
cp -r "$out/runs/mnist-gan" "$out/rerun"
expect_exit 4 "a failing rerun into a finished run's folder" -- \
  env GB_TEST_POISON_AT_STEP=3 "$bin" run mnist-gan --scale smoke --device cpu --out "$out/rerun"
cmp -s "$out/rerun/previous-run/metrics.csv" "$out/runs/mnist-gan/metrics.csv" &&
  cmp -s "$out/rerun/previous-run/checkpoint.safetensors" "$out/runs/mnist-gan/checkpoint.safetensors" ||
  { echo "FAIL: the earlier run was not kept whole in previous-run/"; fail=1; }
[ -s "$out/rerun/failure.txt" ] && [ ! -e "$out/rerun/metrics.csv" ] ||
  { echo "FAIL: the failed rerun left a mixed folder"; fail=1; }
expect_exit 1 "gate on a folder whose last run failed" -- "$bin" check "$out/rerun"
expect_exit 0 "a good rerun into the same folder" -- "$bin" run mnist-gan --scale smoke --device cpu --out "$out/rerun"
[ ! -e "$out/rerun/previous-run" ] && [ ! -e "$out/rerun/failure.txt" ] ||
  { echo "FAIL: a good rerun left previous-run/ or failure.txt behind"; fail=1; }
cmp -s "$out/rerun/metrics.csv" "$out/runs/mnist-gan/metrics.csv" || { echo "FAIL: the rerun's metrics differ"; fail=1; }
expect_exit 5 "run into a path that is a file (the mkdir error, not a failure.txt one)" -- "$bin" run toy2d-langevin --scale smoke --device cpu --out "$out/last.log"

# the benchmark harness works end to end (timings are not checked: they vary by machine)
expect_exit 0 "bench --quick" -- "$bin" bench --quick --out "$out/bench"
for f in bench.csv bench.json roofline.png; do
  [ -s "$out/bench/$f" ] || { echo "FAIL: bench wrote no $f"; fail=1; }
done
grep -q '^sgemm,fwd,openblas,.*,1,ok,' "$out/bench/bench.csv" || { echo "FAIL: the sgemm row was not checked and timed"; fail=1; }
grep -q '^toy2d_step,step,pytorch,' "$out/bench/bench.csv" || { echo "FAIL: no PyTorch step row"; fail=1; }
"$bin" bench --compare "$out/bench/bench.csv" "$out/bench/bench.csv" | grep -q ' 0 faster, 0 slower,' ||
  { echo "FAIL: a benchmark file compared with itself has a faster or slower row"; fail=1; }
expect_exit 2 "bench --compare --fail-on-regression on --quick files" -- \
  "$bin" bench --compare "$out/bench/bench.csv" "$out/bench/bench.csv" --fail-on-regression
# The verdict rule is what is tested here: the doctored copies claim a full run and pin every
# spread at 1% (a quick run's spreads on a busy machine can call even 10x "ambiguous").
doctor() { # doctor IN OUT EDIT: EDIT in {pin, slower, lost, inf}; edits the sgemm row
  /usr/bin/python3 - "$@" <<'PY'
import csv, sys
src, dst, edit = sys.argv[1:4]
lines = open(src).read().splitlines(keepends=True)
head = [l if not l.startswith("# method:") else "# method: full (doctored by tests/smoke.sh)\n"
        for l in lines if l.startswith("#")]
rows = list(csv.DictReader([l for l in lines if not l.startswith("#")]))
out = []
for r in rows:
    if r["timed"] == "1":
        r["rel_spread"] = "0.01"
    if edit == "gpu":
        r["device"] = "cuda (doctored by tests/smoke.sh)"
    if r["kernel"] == "sgemm":
        if edit == "lost":
            continue
        if edit == "slower":
            for k in ("min_s", "median_s", "max_s"):
                r[k] = repr(float(r[k]) * 10)
        if edit == "inf":
            r["median_s"] = "inf"
    out.append(r)
with open(dst, "w", newline="") as f:
    f.writelines(head)
    w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
    w.writeheader()
    w.writerows(out)
PY
}
doctor "$out/bench/bench.csv" "$out/bench/base.csv" pin
doctor "$out/bench/bench.csv" "$out/bench/slower.csv" slower
doctor "$out/bench/bench.csv" "$out/bench/lost.csv" lost
doctor "$out/bench/bench.csv" "$out/bench/inf.csv" inf
doctor "$out/bench/bench.csv" "$out/bench/gpu.csv" gpu
expect_exit 3 "bench --compare of a cpu run with a cuda run (no row in common)" -- \
  "$bin" bench --compare "$out/bench/base.csv" "$out/bench/gpu.csv"
expect_exit 1 "bench --compare --fail-on-regression on a 10x slower row" -- \
  "$bin" bench --compare "$out/bench/base.csv" "$out/bench/slower.csv" --fail-on-regression
expect_exit 0 "bench --compare --fail-on-regression on identical full runs" -- \
  "$bin" bench --compare "$out/bench/base.csv" "$out/bench/base.csv" --fail-on-regression
expect_exit 1 "bench --compare --fail-on-regression on a row lost from B" -- \
  "$bin" bench --compare "$out/bench/base.csv" "$out/bench/lost.csv" --fail-on-regression
expect_exit 3 "bench --compare with an infinite median" -- "$bin" bench --compare "$out/bench/base.csv" "$out/bench/inf.csv"
expect_exit 2 "bench --fail-on-regression without --compare" -- "$bin" bench --fail-on-regression
cp "$out/bench/bench.csv" "$out/bench/kept.csv"
expect_exit 2 "bench --filter matching nothing" -- "$bin" bench --quick --filter no-such-benchmark --out "$out/bench"
cmp -s "$out/bench/bench.csv" "$out/bench/kept.csv" || { echo "FAIL: a filter matching nothing replaced bench.csv"; fail=1; }
# --rounds: the ours-vs-peer pairs timed again in alternating rounds, into ratios.csv; and an
# OPENBLAS_THREAD_TIMEOUT the user set is left alone (kernels/cpu/blas_threads.c)
expect_exit 0 "bench --quick --rounds 2" -- env OPENBLAS_THREAD_TIMEOUT=8 \
  "$bin" bench --quick --filter toy2d --rounds 2 --out "$out/bench-rounds"
grep -q '^toy2d_step,step,.*,ours-cpu,pytorch,2,[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*;[0-9.]*$' "$out/bench-rounds/ratios.csv" ||
  { echo "FAIL: ratios.csv has no two-round toy2d pair"; fail=1; }
grep -q '^# command_line: bench --quick --filter toy2d --rounds 2' "$out/bench-rounds/ratios.csv" ||
  { echo "FAIL: ratios.csv does not carry the run manifest"; fail=1; }
grep -q '^# blas_spin: OPENBLAS_THREAD_TIMEOUT from the environment$' "$out/bench-rounds/bench.csv" ||
  { echo "FAIL: the bench manifest does not say the user's OPENBLAS_THREAD_TIMEOUT was kept"; fail=1; }
if [ -z "${OPENBLAS_THREAD_TIMEOUT:-}" ]; then
  grep -q '^# blas_spin: OPENBLAS_THREAD_TIMEOUT 16 (set by genbench)$' "$out/bench/bench.csv" ||
    { echo "FAIL: the bench manifest does not record the shortened OpenBLAS spin"; fail=1; }
fi
expect_exit 2 "bench --rounds 0" -- "$bin" bench --rounds 0

exit $fail
