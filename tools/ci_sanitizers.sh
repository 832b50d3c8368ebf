#!/usr/bin/env bash
# Hostile-input CI (issue 5), on Debian 12 with clang 14 and GCC 12:
#   1. the whole test suite (parity and CLI tests included) under AddressSanitizer +
#      UndefinedBehaviorSanitizer, in build-asan/;
#   2. the tests that run threads (the 8-thread shared-model test, forward at several pool
#      sizes) under ThreadSanitizer, in build-tsan/;
#   3. the libFuzzer targets for the safetensors and .npy readers (tests/fuzz/), each run for
#      FUZZ_SECONDS (default 60) from a seed corpus generated now, in build-fuzz/.
# Any sanitizer report, crash, leak or fuzzer timeout fails the script. Each step is timed.
# Environment: JOBS (default 2), FUZZ_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${JOBS:-2}
fuzz_seconds=${FUZZ_SECONDS:-60}

# What the build needs, then clang and its sanitizer runtimes, installed only when missing.
bash tools/setup_debian.sh test clang libclang-rt-14-dev llvm-14

# Sanitizers stop at the first report, with a symbolized stack.
symbolizer=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || true)
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1${symbolizer:+:external_symbolizer_path=$symbolizer}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${symbolizer:+:external_symbolizer_path=$symbolizer}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${symbolizer:+:external_symbolizer_path=$symbolizer}"

timings=()
step() {  # step NAME COMMAND...: runs and times one step
  local name=$1 start=$SECONDS
  shift
  echo "=== $name"
  "$@"
  timings+=("$(printf '%-38s %5d s' "$name" $((SECONDS - start)))")
  echo "--- ${timings[-1]}"
}

# -O1 keeps the sanitized builds fast to compile and run; no -DNDEBUG, so Eigen's asserts are on.
# -g1 (line tables only) is enough for file:line in a report and compiles faster than -g.
# The dispatching library gets its baseline path only: the paths share their source, which the
# header-only code of the test binary already runs instrumented, and each path costs a minute of
# sanitized compiling. Sanitizers add module constructors, which the path check would refuse.
# The tests whose job is instruction-set coverage (per-ISA kernel binaries, runs under qemu as
# older CPUs) run in the native suite; here they would only add sanitized build time.
case "$(uname -m)" in
  x86_64) baseline_path=sse2 ;;
  *) baseline_path=neon ;;
esac
build_with() {  # build_with DIR COMPILER SANITIZER_FLAGS [TARGET...]
  local dir=$1 cxx=$2 flags=$3
  shift 3
  cmake -S . -B "$dir" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS="$flags -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="$flags" -DMOBILENET_BUILD_BENCHMARKS=OFF \
    -DMOBILENET_DISPATCH_PATHS="$baseline_path" -DMOBILENET_DISPATCH_CHECK_INITIALIZERS=OFF \
    -DMOBILENET_ISA_COVERAGE_TESTS=OFF > /dev/null
  nice -n 10 cmake --build "$dir" -j"$jobs" ${1:+--target "$@"}
}

# The test binary and the command-line tools; not the README's example program, a header-only
# build of a whole model for one test whose code paths the tools and tests already run, nor the
# int8 stage writer (the int8 emulation runs are left out below).
step "asan+ubsan: build" build_with build-asan clang++ "-fsanitize=address,undefined -fno-sanitize-recover=all" \
  mobilenet_tests mobilenet-infer mobilenet-classify mobilenet-summary mobilenet-benchmark \
  mobilenet-quantize
# The packaging tests build separate consumer projects without our sanitizer flags: they check
# CMake, not memory safety, and the host suite runs them.
# The int8 emulation runs (int8.*) repeat, for a Python comparison, the int8 network code that
# Int8Model.* and the cli.quantize tests run here instrumented.
step "asan+ubsan: ctest (whole suite but packaging, readme, int8 emulation)" ctest \
  --test-dir build-asan --output-on-failure -j"$jobs" -LE packaging -E "readme|^int8\\."


# ThreadSanitizer: the tests that start threads, in their own binary (mobilenet_thread_tests:
# the rest of the suite runs serially, and the CLI tools run one inference per process). Built
# with GCC, whose TSan runtime is a shared library: clang 14's static one defines operator
# new/delete, which tests/allocation_counter.cpp replaces to count allocations (a
# duplicate-symbol link error), and its -shared-libsan variant crashes at start-up on Debian 12.
step "tsan: build" build_with build-tsan g++ "-fsanitize=thread" mobilenet_thread_tests
step "tsan: mobilenet_thread_tests" build-tsan/tests/mobilenet_thread_tests --gtest_brief=1

# libFuzzer: fresh seeds every run (nothing binary is committed); artifacts of a failure are
# kept in build-fuzz/artifacts/ to reproduce with `build-fuzz/fuzz_X build-fuzz/artifacts/crash-*`.
build_fuzzers() {
  cmake -S tests/fuzz -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None > /dev/null
  nice -n 10 cmake --build build-fuzz -j"$jobs"
}
step "fuzz: build" build_fuzzers
rm -rf build-fuzz/corpus build-fuzz/artifacts
mkdir -p build-fuzz/artifacts
build-fuzz/make_corpus build-fuzz/corpus
fuzz() {  # fuzz TARGET CORPUS [FLAGS...]
  local target=$1 corpus=$2
  shift 2
  build-fuzz/"$target" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/"$target"- "$@" build-fuzz/corpus/"$corpus" \
    2> build-fuzz/"$target".log || { tail -n 60 build-fuzz/"$target".log; return 1; }
  grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb" build-fuzz/"$target".log
}
step "fuzz: safetensors (${fuzz_seconds} s)" fuzz fuzz_safetensors safetensors -dict=tests/fuzz/safetensors.dict
step "fuzz: npy (${fuzz_seconds} s)" fuzz fuzz_npy npy

echo "=== all sanitizer and fuzz steps passed"
printf '%s\n' "${timings[@]}"
