#!/usr/bin/env bash
# Instruction efficiency of the aarch64 build, measured exactly under qemu-user with the
# qemu-insnmix plugin (../shared/tools/qemu-insnmix): for each model, one inference is the
# difference between runs of 3 and 1 inferences, halved, so start-up (random weights, packing)
# cancels (for int8 also the calibration run that quantizes the model). Prints total
# instructions, FMLA .4s (vector + by element) and total / (MACs / 4): the number of instructions
# per 4-lane multiply-accumulate slot; 1.0 would be pure FMLA.
#
#   bash bench/arm_insnmix.sh [--march armv8-a] [--precision fp32|fp16|int8|fp32,fp16,...]
#                             [--archs "v1 v2 v3_large v3_small"]
# fp16 needs a --march with fp16 arithmetic (armv8.2-a+fp16+dotprod). With two precisions the
# same binary counts both, and a last column gives each model's
# instructions relative to the first precision's.
#
# Compare against ncnn's fp32 NEON build measured the same way (../shared/anchors/NCNN.md,
# part B): 1.21 (V1), 1.33 (V2), 1.44 (its V3-Large variant).
set -euo pipefail
cd "$(dirname "$0")/.."

march=armv8-a
precision=fp32
archs="v1 v2 v3_large v3_small"
while (($#)); do
  case "$1" in
    --march) march=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --archs) archs=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
insnmix_dir=${INSNMIX_DIR:-../shared/tools/qemu-insnmix}
out=${OUT_DIR:-build-insnmix}
mkdir -p "$out"

bash tools/setup_debian.sh build g++-aarch64-linux-gnu qemu-user

# The plugin, and the benchmark tool cross-compiled with the dispatching library reduced to the
# one path -march gives (every unit then has the same flags, so no path isolation is needed).
# Eigen and nlohmann_json are header-only: their host headers serve, through a directory that
# holds only them (the whole of /usr/include would shadow the cross C library's headers).
gcc -O2 -shared -fPIC -fvisibility=hidden -o "$out/libinsnmix.so" "$insnmix_dir/insnmix.c"
mkdir -p "$out/include"
ln -sfn /usr/include/nlohmann "$out/include/nlohmann"
path=NEON
cpu=cortex-a53
[[ $march == *fp16* && $march == *dotprod* ]] && path=NEON_V82 && cpu=cortex-a76
aarch64-linux-gnu-g++ -std=c++17 -O3 -DNDEBUG -march="$march" -DMOBILENET_BUILT_$path -Iinclude \
  -isystem /usr/include/eigen3 -isystem "$out/include" -pthread -o "$out/mobilenet-benchmark" \
  examples/benchmark.cpp src/dispatch.cpp src/path.cpp
echo "isa: $(qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/mobilenet-benchmark" --arch v3_small --loops 1 --warmup 0 | sed -n 's/.*isa \([a-z0-9_]*\) .*/\1/p'), -march=$march"

mix() {  # mix ARCH LOOPS PRECISION -> "total fmla_vec fmla_elem"
  QEMU_CPU=$cpu qemu-aarch64 -L /usr/aarch64-linux-gnu -plugin "$out/libinsnmix.so" -d plugin \
    "$out/mobilenet-benchmark" --arch "$1" --loops "$2" --warmup 0 --precision "$3" 2>&1 >/dev/null |
    awk '$1 == "insnmix" { line = $0; sub(/^insnmix +/, "", line); v = $NF; sub(/ +[0-9]+$/, "", line); m[line] = v }
         END { print m["total"], m["FMLA/FMLS .4s (vec)"], m["FMLA/FMLS .4s (by elem)"] }'
}

printf "%-10s %-9s %10s %14s %14s %12s %18s %10s\n" model precision "MMACs" "M instr/inf" \
  "M FMLA.4s/inf" "FMLA*4/MACs" "total/(MACs/4)" "vs first"
for arch in $archs; do
  macs=$(qemu-aarch64 -L /usr/aarch64-linux-gnu "$out/mobilenet-benchmark" --arch "$arch" --loops 1 --warmup 0 |
         awk -v a="$arch" '$1 == a { print $NF }')
  first=
  for p in ${precision//,/ }; do
    read -r t1 v1 e1 < <(mix "$arch" 1 "$p")
    read -r t3 v3 e3 < <(mix "$arch" 3 "$p")
    total=$(((t3 - t1) / 2))
    first=${first:-$total}
    awk -v a="$arch" -v p="$p" -v macs="$macs" -v total="$total" -v first="$first" \
        -v fmla="$(((v3 + e3 - v1 - e1) / 2))" 'BEGIN { m = macs * 1e6
      printf "%-10s %-9s %10.1f %14.2f %14.2f %12.3f %18.3f %10.3f\n", a, p, macs, total / 1e6,
             fmla / 1e6, fmla * 4 / m, total / (m / 4), total / first }'
  done
done
