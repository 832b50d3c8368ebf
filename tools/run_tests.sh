#!/usr/bin/env bash
# Sets up a Debian 12 machine, builds everything and runs the whole test suite (kernels, layers,
# loader, and parity against torchvision with fixtures generated now).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMOBILENET_BUILD_TESTS=ON -DMOBILENET_BUILD_BENCHMARKS=ON
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
