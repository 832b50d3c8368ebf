#!/usr/bin/env bash
# Where the aarch64 instructions of one inference go, per function: the companion of
# bench/arm_insnmix.sh for finding what to optimise. Builds mobilenet-benchmark statically
# (fixed addresses) for aarch64, runs 1 and 3 inferences under the insnprof plugin
# (bench/insnprof/insnprof.c, counts per instruction address) and prints the functions that
# execute the most instructions per inference (the difference of the runs, halved).
#
#   bash bench/arm_insnprof.sh [--march armv8-a] [--arch v2] [--precision fp32|fp16|int8] [--top 25]
set -euo pipefail
cd "$(dirname "$0")/.."

march=armv8-a
arch=v2
precision=fp32
top=25
while (($#)); do
  case "$1" in
    --march) march=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
out=${OUT_DIR:-build-insnprof}
mkdir -p "$out/include"

bash tools/setup_debian.sh build g++-aarch64-linux-gnu qemu-user

gcc -O2 -shared -fPIC -fvisibility=hidden -o "$out/libinsnprof.so" bench/insnprof/insnprof.c
ln -sfn /usr/include/nlohmann "$out/include/nlohmann"  # see bench/arm_insnmix.sh
path=NEON  # the dispatching library reduced to -march's path, as in bench/arm_insnmix.sh
cpu=cortex-a53
[[ $march == *fp16* && $march == *dotprod* ]] && path=NEON_V82 && cpu=cortex-a76
aarch64-linux-gnu-g++ -std=c++17 -O3 -DNDEBUG -march="$march" -DMOBILENET_BUILT_$path -static \
  -Iinclude -isystem /usr/include/eigen3 -isystem "$out/include" -pthread \
  -o "$out/mobilenet-benchmark" examples/benchmark.cpp src/dispatch.cpp src/path.cpp
for loops in 1 3; do
  INSNPROF_OUT="$out/profile_$loops.txt" QEMU_CPU=$cpu qemu-aarch64 \
    -plugin "$out/libinsnprof.so" -d plugin "$out/mobilenet-benchmark" --arch "$arch" \
    --precision "$precision" --loops "$loops" --warmup 0 > /dev/null 2>&1
done
echo "$arch $precision, -march=$march:"
python3 bench/insnprof/report.py "$out/mobilenet-benchmark" "$out/profile_1.txt" "$out/profile_3.txt" "$top"
