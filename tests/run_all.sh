#!/usr/bin/env bash
# tests/run_all.sh BUILD - what `make test` runs after building.
#
# 1. tests/peers/*.py write reference fixtures with Debian's PyTorch/numpy into
#    BUILD/fixtures (independent implementations, fixed seeds);
# 2. every Criterion suite BUILD/tests/test_* runs (each test in its own process);
# 3. tests/smoke.sh runs every registered pipeline at smoke scale and the gate.
# Exits non-zero when anything failed, after running everything.
set -u
build=${1:-build}
export GB_FIXTURES="$PWD/$build/fixtures"
# Sanitized builds (make SANITIZE=address,undefined BUILD=...): an undefined-behaviour report
# fails its test instead of scrolling past.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export GB_BIN="$PWD/$build/genbench"
mkdir -p "$GB_FIXTURES"
failed=()

for peer in tests/peers/*.py; do
  [ -e "$peer" ] || continue
  echo "== peer $peer"
  if ! /usr/bin/python3 "$peer" "$GB_FIXTURES"; then failed+=("$peer"); fi
done

for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  case "$t" in *.d) continue ;; esac
  echo "== $(basename "$t")"
  if ! "$t" --jobs 2; then failed+=("$(basename "$t")"); fi
done

if [ -f tests/smoke.sh ]; then
  echo "== smoke runs and gate"
  bash tests/smoke.sh "$build" || failed+=("smoke")
fi

if [ -f tests/smoke_data.sh ]; then
  echo "== genbench data: list, synth, inspect, verify, fetch (offline)"
  bash tests/smoke_data.sh "$build" "$build/genbench" || failed+=("smoke_data")
fi

if [ ${#failed[@]} -ne 0 ]; then
  echo "make test: FAILED: ${failed[*]}"
  exit 1
fi
echo "make test: all suites passed"
