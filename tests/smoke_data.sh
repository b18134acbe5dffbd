#!/usr/bin/env bash
# tests/smoke_data.sh BUILD [BIN] - `genbench data` end to end, offline (cli/cmd_data.c).
#
# list on an empty and a filled data root; synth of both image stand-ins then inspect through
# the loaders; verify: a corrupted download is exit 3, names the file and both digests, and is
# left untouched; fetch with file:// URLs (GB_DATA_URL_OVERRIDE_<NAME>): a missing source is
# exit 5, wrong bytes are exit 3, and neither leaves anything under the final name or a .part
# behind; an unverifiable archive (xlsa17.zip) is fetched and unpacked; no curl on PATH is
# exit 5; usage errors are exit 2. Exits non-zero when any check failed.
set -u
build=${1:-build}
bin=${2:-$build/genbench}
out="$build/smoke_data"
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
fail=0

expect_exit() { # expect_exit CODE DESCRIPTION -- COMMAND...
  local want=$1 what=$2; shift 3
  "$@" >"$out/last.log" 2>&1; local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"; sed 's/^/    /' "$out/last.log" | tail -8; fail=1
  else
    echo "ok: $what (exit $got)"
  fi
}
expect_log() { # expect_log PATTERN DESCRIPTION: the last command's output matches PATTERN
  if grep -Eq -- "$1" "$out/last.log"; then echo "ok: $2"; else
    echo "FAIL: $2 (no match for '$1')"; sed 's/^/    /' "$out/last.log" | tail -8; fail=1; fi
}
expect_absent() { # expect_absent PATH DESCRIPTION
  if [ -e "$1" ]; then echo "FAIL: $2: $1 exists"; fail=1; else echo "ok: $2"; fi
}

root="$out/root"
unset GB_DATA

# ---- list ------------------------------------------------------------------------------
expect_exit 0 "data list on an empty root" -- "$bin" data list --data "$root"
expect_log '^cifar10 +missing .*synthetic:shapes32' "list: cifar10 missing, shapes32 stands in"
expect_log '^mnist +missing .*synthetic:glyphs28' "list: mnist missing, glyphs28 stands in"
expect_log '^inception-weights +missing' "list: the Inception weights are listed"
GB_DATA="$root" expect_exit 0 "data list with GB_DATA" -- "$bin" data list
expect_log "^data root: $root" "GB_DATA sets the data root"

# ---- synth, then inspect ---------------------------------------------------------------
expect_exit 0 "synth shapes32 (CIFAR-10 binary layout)" -- "$bin" data synth shapes32 --out "$root/cifar10" --count 40 --seed 3
for f in data_batch_1 data_batch_2 data_batch_3 data_batch_4 data_batch_5 test_batch; do
  size=$(stat -c %s "$root/cifar10/cifar-10-batches-bin/$f.bin" 2>/dev/null || echo 0)
  [ "$size" -eq $((40 * 3073)) ] || { echo "FAIL: $f.bin is $size bytes, expected $((40 * 3073))"; fail=1; }
done
expect_exit 0 "synth glyphs28 (gzipped IDX)" -- "$bin" data synth glyphs28 --out "$root/mnist" --count 120 --seed 3
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  gzip -t "$root/mnist/$f.gz" 2>/dev/null || { echo "FAIL: $f.gz is not valid gzip"; fail=1; }
done
[ "$(gzip -dc "$root/mnist/train-images-idx3-ubyte.gz" | head -c 16 | od -An -tx1 | tr -d ' \n')" = \
  "00000803000000780000001c0000001c" ] || { echo "FAIL: IDX image header is not 2051 / 120 / 28 / 28"; fail=1; }
expect_exit 0 "data list after synth" -- "$bin" data list --data "$root"
expect_log '^cifar10 +present' "list: the synthetic CIFAR layout counts as present"
expect_log '^mnist +present' "list: the synthetic IDX files count as present"

expect_exit 0 "inspect the shapes32 stand-in" -- "$bin" data inspect shapes32 --count 50 --seed 1
expect_log '^train.shape: \[50, 3, 32, 32\]' "inspect: shape"
expect_log '^train.class_histogram: 5 5 5 5 5 5 5 5 5 5$' "inspect: balanced classes"
expect_log '^splits: train=50 test=50' "inspect: split sizes"
expect_exit 0 "inspect the glyphs28 stand-in" -- "$bin" data inspect synthetic:glyphs28 --count 20
expect_log '^test.identity: synthetic:glyphs28' "inspect: identity"
expect_exit 0 "inspect a synthesised CIFAR folder through the loader" -- "$bin" data inspect "$root/cifar10"
expect_log '^splits: train=200 test=40' "inspect cifar folder: split sizes"
expect_log '^train.class_histogram: 20 20 20 20 20 20 20 20 20 20$' "inspect cifar folder: labels"
expect_exit 0 "inspect mnist by name through the IDX loader" -- "$bin" data inspect mnist --data "$root"
expect_log '^splits: train=120 test=20' "inspect mnist: split sizes"
expect_log '^train.shape: \[120, 1, 28, 28\]' "inspect mnist: shape"
expect_log '^train.sha256: [0-9a-f]{64}$' "inspect mnist: the files' digest"
expect_exit 0 "inspect one gzipped IDX labels file" -- "$bin" data inspect "$root/mnist/train-labels-idx1-ubyte.gz"
expect_log '^kind: labels$' "inspect IDX labels: kind from the header"
expect_log '^class_histogram: 12 12 12 12 12 12 12 12 12 12$' "inspect IDX labels: histogram"
gzip -dc "$root/mnist/t10k-images-idx3-ubyte.gz" >"$out/t10k-images-idx3-ubyte"
expect_exit 0 "inspect one raw IDX images file" -- "$bin" data inspect "$out/t10k-images-idx3-ubyte"
expect_log '^shape: \[20, 28, 28\]$' "inspect IDX images: shape"
head -c 1000 "$out/t10k-images-idx3-ubyte" >"$out/cut-images-idx3-ubyte"
expect_exit 3 "inspect a truncated IDX file" -- "$bin" data inspect "$out/cut-images-idx3-ubyte"
expect_log 'cut-images-idx3-ubyte: header at byte 4 promises 15680 data bytes, the file holds 984' \
  "the truncated IDX file is named with both sizes"
expect_exit 0 "inspect one CIFAR-10 batch file" -- "$bin" data inspect "$root/cifar10/cifar-10-batches-bin/data_batch_3.bin"
expect_log '^all.identity: cifar10:data_batch_3.bin$' "inspect CIFAR batch: identity"
expect_log '^all.class_histogram: 4 4 4 4 4 4 4 4 4 4$' "inspect CIFAR batch: labels"
expect_log "^all.sha256: $(sha256sum "$root/cifar10/cifar-10-batches-bin/data_batch_3.bin" | cut -c1-64)$" \
  "inspect CIFAR batch: the file's own digest"
head -c 5000 "$root/cifar10/cifar-10-batches-bin/test_batch.bin" >"$out/cut_batch.bin"
expect_exit 3 "inspect a CIFAR batch cut inside a record" -- "$bin" data inspect "$out/cut_batch.bin"
expect_log 'cut_batch.bin: 5000 bytes is not a whole number of 3073-byte records' "the cut batch is named"

# Zero-shot stand-ins in the real layouts, read back by name and by path through the loaders.
zroot="$out/zroot"
expect_exit 0 "synth zsl-synth-att (xlsa17 layout)" -- "$bin" data synth zsl-synth-att --out "$zroot/gbu/xlsa17/data/AWA2" --seed 2
expect_exit 0 "inspect gbu-awa2 through the GBU loader" -- "$bin" data inspect gbu-awa2 --data "$zroot"
expect_log '^identity: gbu:awa2' "inspect gbu-awa2: identity"
expect_log '^splits: train=960 test_seen=240 test_unseen=300' "inspect gbu-awa2: split sizes"
expect_log '^classes: 50 \(seen 40, unseen 10\)' "inspect gbu-awa2: classes"
expect_exit 0 "synth zsl-synth-text (GAZSL layout)" -- "$bin" data synth zsl-synth-text --out "$zroot/gazsl/CUB2011" --count 5
expect_exit 0 "inspect a GAZSL folder through the text loader" -- "$bin" data inspect "$zroot/gazsl/CUB2011"
expect_log '^easy.identity: gazsl:cub-easy' "inspect gazsl folder: identity"
expect_log '^easy.count: 200' "inspect gazsl folder: 40 classes x 5 instances"
expect_exit 0 "list with the zero-shot stand-ins" -- "$bin" data list --data "$zroot"
expect_log '^gbu-awa2 +present' "list: gbu-awa2 present"
expect_log '^gazsl-cub +partial' "list: gazsl-cub partial (the hard split is missing)"

expect_exit 0 "synth shapes16 (the sprites .npy pair)" -- "$bin" data synth shapes16 --out "$zroot/sprites" --count 25
expect_exit 0 "inspect sprites through the .npy loader" -- "$bin" data inspect sprites --data "$zroot"
expect_log '^all.shape: \[25, 3, 16, 16\]' "inspect sprites: NCHW shape"
expect_log '^all.class_histogram: 5 5 5 5 5$' "inspect sprites: one-hot labels decoded"
expect_exit 0 "inspect one .npy file" -- "$bin" data inspect "$zroot/sprites/sprite_labels_nc_1788_16x16.npy"
expect_log '^shape: \[25, 5\]' "inspect .npy: shape"
expect_log '^mean: 0.2$' "inspect .npy: one-hot mean"

# ---- verify ----------------------------------------------------------------------------
# The synthesised IDX files stand under the real names, so they must fail verification.
cp "$root/mnist/t10k-labels-idx1-ubyte.gz" "$out/before.gz"
expect_exit 3 "verify mnist: files that are not the published ones" -- "$bin" data verify mnist --data "$root"
expect_log 't10k-labels-idx1-ubyte.gz.*(expected|published)' "verify names the file and the expected value"
expect_log 'delete it and run `genbench data fetch mnist`' "verify gives the fix"
cmp -s "$root/mnist/t10k-labels-idx1-ubyte.gz" "$out/before.gz" || { echo "FAIL: verify touched the file"; fail=1; }
expect_exit 3 "verify without a name also fails on the mismatch" -- "$bin" data verify --data "$root"
expect_log 'MISMATCH sha256 expected f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6' \
  "verify prints the published sha256 of t10k-labels"
expect_exit 3 "verify of a missing dataset" -- "$bin" data verify cub --data "$root"
expect_exit 0 "verify of a root with nothing downloaded" -- "$bin" data verify --data "$out/empty"

# ---- fetch (offline, file:// sources) --------------------------------------------------
src="$out/src"
mkdir -p "$src"
GB_DATA_URL_OVERRIDE_FASHION_MNIST="file://$src/nowhere" \
  expect_exit 5 "fetch from a source that does not exist" -- "$bin" data fetch fashion-mnist --data "$root"
expect_log 'curl exit 37' "fetch reports curl's exit code"
expect_absent "$root/fashion-mnist/train-images-idx3-ubyte.gz" "no file under the final name after a failed download"
expect_absent "$root/fashion-mnist/train-images-idx3-ubyte.gz.part" "no empty .part after a failed download"

cp "$root/mnist/"*.gz "$src/"
GB_DATA_URL_OVERRIDE_FASHION_MNIST="file://$src" \
  expect_exit 3 "fetch of bytes that are not the published file" -- "$bin" data fetch fashion-mnist --data "$root"
expect_log 'train-images-idx3-ubyte.gz' "the refusal names the file"
expect_absent "$root/fashion-mnist/train-images-idx3-ubyte.gz" "a refused download is not renamed into place"
expect_absent "$root/fashion-mnist/train-images-idx3-ubyte.gz.part" "a refused download's .part is removed"

# No published size (the Inception weights): the digest alone refuses wrong bytes.
echo "not the weights" >"$src/pt_inception-2015-12-05-6726825d.pth"
GB_DATA_URL_OVERRIDE_INCEPTION_WEIGHTS="file://$src" expect_exit 3 "fetch of weights with the wrong digest" -- \
  "$bin" data fetch inception-weights --data "$root"
expect_log 'sha256 mismatch: expected 6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2, got [0-9a-f]{64}' \
  "the digest mismatch names both digests"
expect_absent "$root/weights/pt_inception-2015-12-05-6726825d.pth" "refused weights are not renamed into place"
expect_absent "$root/weights/pt_inception-2015-12-05-6726825d.pth.part" "refused weights leave no .part"

# An archive with no published checksum: fetched unverified, then unpacked.
(cd "$src" && mkdir -p xlsa17/data/AWA2 && echo features >xlsa17/data/AWA2/res101.mat &&
  echo splits >xlsa17/data/AWA2/att_splits.mat &&
  /usr/bin/python3 -c "import zipfile; z = zipfile.ZipFile('xlsa17.zip', 'w'); [z.write(p) for p in ('xlsa17/data/AWA2/res101.mat', 'xlsa17/data/AWA2/att_splits.mat')]; z.close()")
GB_DATA_URL_OVERRIDE_GBU_AWA2="file://$src" expect_exit 0 "fetch and unpack an unverifiable archive" -- \
  "$bin" data fetch gbu-awa2 --data "$root"
expect_log 'unverifiable' "fetch says the archive could not be verified"
[ "$(cat "$root/gbu/xlsa17/data/AWA2/res101.mat" 2>/dev/null)" = features ] || { echo "FAIL: xlsa17.zip was not unpacked"; fail=1; }
expect_exit 0 "list after the fetch" -- "$bin" data list --data "$root"
expect_log '^gbu-awa2 +present' "list: gbu-awa2 present after fetch"
expect_log '^gbu-sun +partial' "list: gbu-sun partial (archive there, its folder not)"
expect_exit 0 "verify an unverifiable archive" -- "$bin" data verify gbu-awa2 --data "$root"
expect_log 'xlsa17.zip: unverifiable' "verify reports unverifiable, not ok"

# A download cut short resumes from its .part (curl -C -) and completes correctly.
mkdir -p "$out/resume/gbu"
head -c 100 "$src/xlsa17.zip" >"$out/resume/gbu/xlsa17.zip.part"
GB_DATA_URL_OVERRIDE_GBU_AWA2="file://$src" expect_exit 0 "fetch resumes a partial download" -- \
  "$bin" data fetch gbu-awa2 --data "$out/resume"
cmp -s "$src/xlsa17.zip" "$out/resume/gbu/xlsa17.zip" || { echo "FAIL: the resumed download differs"; fail=1; }
expect_absent "$out/resume/gbu/xlsa17.zip.part" "the .part is gone after the resumed download"

# A .part longer than the file (no published size to catch it): the resume is refused, so the
# download starts over once instead of failing the same way forever.
mkdir -p "$out/longpart/gbu"
cat "$src/xlsa17.zip" "$src/xlsa17.zip" >"$out/longpart/gbu/xlsa17.zip.part"
GB_DATA_URL_OVERRIDE_GBU_AWA2="file://$src" expect_exit 0 "fetch over a .part longer than the file" -- \
  "$bin" data fetch gbu-awa2 --data "$out/longpart"
cmp -s "$src/xlsa17.zip" "$out/longpart/gbu/xlsa17.zip" || { echo "FAIL: the restarted download differs"; fail=1; }

# An unverifiable archive that is not readable never takes its final name.
mkdir -p "$out/badzip/gbu" "$out/badsrc"
head -c 100 /dev/urandom >"$out/badsrc/xlsa17.zip"
GB_DATA_URL_OVERRIDE_GBU_AWA2="file://$out/badsrc" expect_exit 3 "fetch of an unreadable unverifiable archive" -- \
  "$bin" data fetch gbu-awa2 --data "$out/badzip"
expect_absent "$out/badzip/gbu/xlsa17.zip" "an unreadable archive is not placed under its final name"
expect_absent "$out/badzip/gbu/xlsa17.zip.part" "nor kept as a .part"

PATH=/nonexistent expect_exit 5 "fetch without curl on PATH" -- "$bin" data fetch cifar10 --data "$out/nocurl"
expect_log 'curl' "the message names curl"
expect_absent "$out/nocurl/cifar10/cifar-10-binary.tar.gz" "no file after a fetch without curl"

# ---- usage -----------------------------------------------------------------------------
expect_exit 2 "data without a command" -- "$bin" data
expect_exit 2 "unknown data command" -- "$bin" data frobnicate
expect_exit 2 "unknown dataset" -- "$bin" data fetch imagenet --data "$root"
expect_exit 2 "unknown option" -- "$bin" data list --bogus
expect_exit 2 "synth without --out" -- "$bin" data synth shapes32
expect_exit 2 "synth of an unknown stand-in" -- "$bin" data synth teapots --out "$out/x"
expect_exit 2 "inspect of something that does not exist" -- "$bin" data inspect "$out/no/such/thing"
expect_exit 3 "inspect of a missing dataset" -- "$bin" data inspect cub --data "$out/empty"
expect_exit 0 "data --help" -- "$bin" data --help

if [ "$fail" -ne 0 ]; then echo "smoke_data: FAILED"; exit 1; fi
echo "smoke_data: all checks passed"
