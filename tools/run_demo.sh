#!/usr/bin/env bash
# Sets up a Debian 12 machine, builds the command-line tools and classifies the shipped digit
# images with the shipped MobileNetV3-Small (trained by tools/train_digits.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_debian.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMOBILENET_BUILD_TESTS=OFF -DMOBILENET_BUILD_BENCHMARKS=OFF
cmake --build build -j"$(nproc)" --target mobilenet-classify
./build/examples/mobilenet-classify --weights examples/data/digits_v3_small.safetensors --top 3 examples/data/digit_*.png
