#!/usr/bin/env bash
# Cross-builds the project for ARM and runs the whole ctest suite (kernels, models, parity against
# torchvision, CLI tools) under qemu-user, in three configurations:
#
#   name  build directory  target and flags                                          qemu CPU
#   a76   build-arm-a76    aarch64 -march=armv8.2-a+fp16+dotprod                     cortex-a76
#   a53   build-arm-a53    aarch64 -march=armv8-a (ARMv8.0)                          cortex-a53
#   v7    build-arm-v7     armv7 -march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard    cortex-a7
#
# - qemu's default CPU ("max") has every extension, so each suite pins a real core: the a53 run
#   faults on any instruction newer than ARMv8.0 that the ARMv8.0 build might emit.
# - Each suite asserts the SIMD path it takes (Isa.MatchesExpected: neon_v82 / neon), so flags that
#   leave Eigen on scalar code fail instead of passing slowly.
# - Parity fixtures are written on the host by /usr/bin/python3 (the make_fixtures test): ctest
#   runs only the target's binaries under qemu.
# - Benchmarks are not built (host-only libbenchmark-dev; timings under qemu mean nothing).
# - The a53 suite links the CLI tools statically (MOBILENET_STATIC_TOOLS, the phone build), and
#   afterwards runs mobilenet-benchmark under qemu without the target's library root: a binary
#   that still needed a shared library or a file would fail there.
#
# Usage: bash tools/ci_arm.sh [a76|a53|v7]...   (default: a53 and v7)
# The a53 suite covers both AArch64 paths: its portable mobilenet-infer runs the parity fixtures
# as a Cortex-A76 (neon_v82) and a Cortex-A53 (neon), and its kernel tests are built again for
# ARMv8.2 and run as a Cortex-A76 (kernels_neon_v82). The a76 suite (the whole suite built for
# ARMv8.2) adds little to that and about ten minutes, so CI leaves it out; run it by name.
# Environment: JOBS (default 2) for make and ctest. Builds and tests run under nice -n 10.
# Measured on this 2-core machine (CI=true run of .ci/run, 2026-12-02, nothing else running):
# a53 build 388 s, tests 215 s; v7 build 274 s, tests 208 s; 18 min for both. The summary
# printed at the end has the times of each run.
set -euo pipefail
cd "$(dirname "$0")/.."

# The host build's packages (cmake, Eigen, nlohmann-json, stb, GoogleTest sources in
# /usr/src/googletest, torch for the fixtures), then the cross compilers and qemu-user.
bash tools/setup_debian.sh test g++-aarch64-linux-gnu g++-arm-linux-gnueabihf qemu-user

jobs=${JOBS:-2}
configs=("$@")
((${#configs[@]})) || configs=(a53 v7)

# Per configuration: toolchain file, ISA flags, emulated CPU, SIMD path the tests must find.
declare -A toolchain=([a76]=aarch64-linux-gnu [a53]=aarch64-linux-gnu [v7]=armv7-linux-gnueabihf)
declare -A arch_flags=([a76]="-march=armv8.2-a+fp16+dotprod" [a53]="-march=armv8-a"
                       [v7]="-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard")
declare -A qemu_cpu=([a76]=cortex-a76 [a53]=cortex-a53 [v7]=cortex-a7)
declare -A expect_isa=([a76]=neon_v82 [a53]=neon [v7]=neon)
declare -A extra_options=([a76]="" [a53]="-DMOBILENET_STATIC_TOOLS=ON" [v7]="")
# Tests a suite leaves out (ctest -E). v7 leaves the int8 emulation runs to a53: above the kernels
# the int8 code is the same plain C++ on both ARM suites, and v7's own pointwise tile is checked
# bit for bit against the scalar reference by its kernel tests (which run, as do the int8 model
# tests).
# v7 has one path, so the portable tool's parity runs
# (dispatch.*) repeat Parity.* on the same code and flags; the fused-vs-layer-by-layer bit check
# is the same on every ISA given the same kernels, and the a53 suite runs it (85 s under qemu).
declare -A exclude=([a76]="" [a53]="" [v7]="^dispatch\\.|^Forward\\.FusedBlocksMatchLayerByLayerBitForBit$|^int8\\.")

summary=()
total_passed=0
total_failed=0
status=0
for name in "${configs[@]}"; do
  if [ -z "${toolchain[$name]:-}" ]; then
    echo "unknown configuration '$name' (expected a76, a53 or v7)" >&2
    exit 2
  fi
  dir=build-arm-$name
  echo "=== $name: ${toolchain[$name]} ${arch_flags[$name]}, qemu -cpu ${qemu_cpu[$name]} ($dir)"
  start=$SECONDS
  if ! { nice -n 10 cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
           -DCMAKE_TOOLCHAIN_FILE="cmake/toolchains/${toolchain[$name]}.cmake" \
           -DMOBILENET_ARCH_FLAGS="${arch_flags[$name]}" \
           -DMOBILENET_QEMU_CPU="${qemu_cpu[$name]}" \
           -DMOBILENET_EXPECT_ISA="${expect_isa[$name]}" -DMOBILENET_WERROR="${CI:-OFF}" \
           ${extra_options[$name]} &&
         nice -n 10 cmake --build "$dir" -j"$jobs"; }; then
    summary+=("$(printf '%-4s build FAILED after %4ds' "$name" $((SECONDS - start)))")
    status=1
    continue
  fi
  built=$SECONDS
  # ctest's exit status says whether everything passed; its closing line gives the counts.
  # The onnx tests check the host's ONNX export and our key mapping, which the native suite
  # covers; under qemu they would only repeat its inference on other weights.
  nice -n 10 ctest --test-dir "$dir" --output-on-failure -j"$jobs" -LE onnx \
    ${exclude[$name]:+-E "${exclude[$name]}"} 2>&1 | tee "$dir/ctest.log" || status=1
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$dir/ctest.log" | tail -1 || true)
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"${line:-0 tests failed out of 0}")
  count=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"${line:-out of 0}")
  [ -n "$line" ] || status=1
  if [[ "${extra_options[$name]}" == *STATIC_TOOLS=ON* ]]; then
    if (cd /tmp && nice -n 10 qemu-aarch64 -cpu "${qemu_cpu[$name]}" "$OLDPWD/$dir/examples/mobilenet-benchmark" \
          --arch all --resolution 96 --loops 1 --warmup 0 --cpus 0); then
      summary+=("$name static mobilenet-benchmark ran without the target's library root")
    else
      summary+=("$name static mobilenet-benchmark FAILED without the target's library root")
      status=1
    fi
  fi
  total_passed=$((total_passed + count - failed))
  total_failed=$((total_failed + failed))
  summary+=("$(printf '%-4s build %4ds  tests %4ds  %3d passed, %d failed' \
    "$name" $((built - start)) $((SECONDS - built)) $((count - failed)) "$failed")")
done

echo "=== ARM suites under qemu"
printf '%s\n' "${summary[@]}"
echo "arm: $total_passed passed, $total_failed failed"
exit $status
