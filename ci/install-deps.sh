#!/usr/bin/env bash
# ci/install-deps.sh - install the Debian packages genbench needs, when missing.
#
# Called by `make test`, `make reproduce` and `make bench`, so a fresh Debian 12
# machine needs nothing installed by hand. Uses sudo when not root. Prints one
# line when everything is already present.
set -euo pipefail

packages=(
  build-essential pkg-config
  libopenblas-dev liblapacke-dev libfftw3-dev
  libcsv-dev libcjson-dev libpng-dev zlib1g-dev
  libmatio-dev libjpeg-dev libzip-dev
  libcriterion-dev
  python3-numpy python3-scipy python3-pil python3-torch
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "deps: missing ${missing[*]} and not root and no sudo: install them by hand" >&2
    exit 5
  fi
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
