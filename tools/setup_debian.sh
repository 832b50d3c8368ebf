#!/usr/bin/env bash
# Installs, from Debian 12's packages, whatever the build (and, with `test`, the tests) need and
# the machine lacks. Safe to run again: it only calls apt-get when a package is missing.
set -euo pipefail

# `build`: what the library, the command-line tools and the demo need.
# `test` (default): also the test and benchmark frameworks and the PyTorch reference.
build_packages=(
  g++ cmake make                      # toolchain
  libeigen3-dev                       # the library's math (Eigen 3.4)
  nlohmann-json3-dev                  # parsing safetensors headers
  libstb-dev                          # image decoding in mobilenet-classify
)
test_packages=(
  libgtest-dev libbenchmark-dev       # tests and benchmarks
  python3-torch python3-torchvision   # the reference the parity tests compare against
  python3-numpy python3-pil python3-sklearn  # fixtures and the digits model's data
  python3-onnx                        # the ONNX import tests (tools/onnx_import.py)
  python3-h5py                        # the Keras import tests (tools/keras_import.py)
  python3-skimage                     # photographs for the preprocessing tests
  qemu-user                           # the portable tools run as older CPUs (dispatch.* tests)
)
# Further arguments name extra packages (the ARM, sanitizer and benchmark scripts' tools).
case "${1:-test}" in
  build) packages=("${build_packages[@]}") ;;
  test) packages=("${build_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 [build|test] [extra-package...]" >&2; exit 2 ;;
esac
packages+=("${@:2}")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
