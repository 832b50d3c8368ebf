#!/usr/bin/env bash
# Sets up a Debian 12 machine, builds everything and runs the whole test suite (kernels, layers,
# loader, and parity against torchvision with fixtures generated now).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_debian.sh
# The SIMD path -march=native must give here; tests/test_isa.cpp fails on a silent fallback.
case "$(uname -m)" in
  x86_64)
    if grep -qw avx512f /proc/cpuinfo; then isa=avx512
    elif grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo; then isa=avx2_fma
    elif grep -qw avx /proc/cpuinfo; then isa=avx
    else isa=sse2; fi ;;
  aarch64) if grep -qw asimdhp /proc/cpuinfo && grep -qw asimddp /proc/cpuinfo; then isa=neon_v82; else isa=neon; fi ;;
  *) isa= ;;
esac
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMOBILENET_BUILD_TESTS=ON -DMOBILENET_BUILD_BENCHMARKS=ON \
  -DMOBILENET_EXPECT_ISA="$isa" -DMOBILENET_WERROR="${CI:-OFF}"
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
