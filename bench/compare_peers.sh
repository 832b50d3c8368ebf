#!/usr/bin/env bash
# bench/compare_peers.sh: this library vs ONNX Runtime (CPU) on MobileNet V1, V2, V3-Large, V3-Small,
# batch 1, 3x224x224, float32 or int8 (--precision), in one run on one machine.
#
# What it does
#   1. Installs what is missing (Debian 12): python3-torch, -torchvision, -onnx, -numpy, node and npm
#      (apt-get, with sudo when not root), and onnxruntime-node at the version pinned in
#      bench/package.json + package-lock.json, into a scratch directory outside the repo
#      (--work-dir, default /tmp/mobilenet-peers), with ONNXRUNTIME_NODE_INSTALL=skip (its install
#      script otherwise fetches optional CUDA binaries from outside the npm registry).
#   2. Builds mobilenet-benchmark and mobilenet-infer if build/examples lacks them (--rebuild: always).
#   3. Exports ONE seeded torch model per arch (width 1.0, 1000 classes) to both safetensors (ours) and
#      ONNX (opset 13, ORT), so both engines hold identical weights (bench/compare_peers.py export).
#      --precision int8: each float model is quantized by our mobilenet-quantize (calibrated on
#      the export's eight seeded noise images, <work-dir>/models/seedS/calibration.npy) and the int8
#      file written as a QDQ ONNX model by bench/int8_qdq.py: the same int8 weights, per-channel
#      scales, activation scales and zero points, which ORT's optimiser fuses into QLinearConv,
#      QLinearAdd and the like. Both engines then run the same quantized network.
#   4. Parity: runs the same input through mobilenet-infer and ORT and requires
#      max|ours - ORT| <= 1e-4 * max|ORT logit| per model: both engines compute the same network.
#      int8: every feature stage's codes from ORT (the QDQ model with the stages as outputs) are
#      checked against an emulation of our integer arithmetic (compare_peers.py stages: every code
#      within 1, at most 0.5% off by one), then the logits within 0.25 * max|ORT logit| (ORT
#      computes in float what we compute in integers, so a few codes round the other way, and
#      through random weights that moved the logits by up to 8.8%; see compare_peers.py).
#   5. Timing: for each round, for each thread count T, for each model, ours and ORT run back to back
#      (ours first in odd rounds, ORT first in even rounds, to cancel order effects), each as a fresh
#      process doing W warm-up runs then N timed runs and reporting their median.
#      Ours: build/examples/mobilenet-benchmark --arch A --threads T --loops N --warmup W
#            [--precision int8: a random model quantized in-process; int8 kernel time does not
#            depend on the values either].
#      ORT:  bench/ort_bench.js (CPU EP, intraOpNumThreads T, interOpNumThreads 1, graph
#            optimisation "all", sequential execution).
#   6. Reports per model and thread count the median over rounds of the per-round medians, the
#      ratio ours/ORT, and each engine's 1 -> max-thread speedup; writes it to --out
#      (default build/peers/results.md) and prints it. Raw per-round numbers: <work-dir>/raw[.int8].csv.
#
# What is and is not comparable
#   - Same architecture, same weights (checked by the parity step), same input shape, same thread
#     count, same machine, interleaved in time: the ratio is the meaningful number. Absolute times
#     move with machine load; run it on an otherwise idle machine (it prints the load average).
#   - Both time the forward pass only. Ours takes NHWC input (an NCHW->NHWC conversion, ~0.05 ms,
#     is not timed); ORT takes NCHW and its internal layout reorders are timed, as they are part of
#     its graph. ORT's time includes the Node binding's per-call overhead (tens of microseconds),
#     which matters only for V3-Small (~1 ms).
#   - mobilenet-benchmark times a model with seeded random weights built in-process (not the
#     exported file): our kernels are dense float32, so their time does not depend on the values.
#     The exported weights keep activations O(1) (no denormals) for ORT.
#   - Weight loading, session creation and graph optimisation are not timed.
#
# Usage: bash bench/compare_peers.sh [--precision fp32|int8] [--rounds 5] [--runs 100] [--warmup 10] [--threads "1 2"]
#          [--archs "v1 v2 v3_large v3_small"] [--seed 0] [--work-dir DIR] [--build-dir DIR]
#          [--out FILE] [--rebuild] [--no-install]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3   # Debian's interpreter: the apt packages are installed for it
ROUNDS=5 RUNS=100 WARMUP=10 THREADS="1 2" ARCHS="v1 v2 v3_large v3_small" SEED=0
WORK=${MOBILENET_PEERS_DIR:-/tmp/mobilenet-peers}
BUILD=$ROOT/build OUT="" REBUILD=0 INSTALL=1 PRECISION=fp32

usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while (($#)); do
  case $1 in
    --precision) PRECISION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --archs) ARCHS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --work-dir) WORK=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --rebuild) REBUILD=1; shift ;;
    --no-install) INSTALL=0; shift ;;
    -h|--help) usage 0 ;;
    *) echo "compare_peers.sh: unknown option $1" >&2; usage 1 >&2 ;;
  esac
done
case $PRECISION in
  fp32) SUFFIX="" ;;
  int8) SUFFIX=.int8 ;;
  *) echo "compare_peers.sh: --precision must be fp32 or int8, got $PRECISION" >&2; exit 1 ;;
esac
OUT=${OUT:-$BUILD/peers/results$SUFFIX.md}
BENCH=$BUILD/examples/mobilenet-benchmark INFER=$BUILD/examples/mobilenet-infer
QUANTIZE=$BUILD/examples/mobilenet-quantize
NODE_DIR=$WORK/node MODELS=$WORK/models/seed$SEED
ORT_VERSION=$(sed -n 's/.*"onnxruntime-node": *"\([^"]*\)".*/\1/p' "$ROOT/bench/package.json")
say() { printf '\n== %s\n' "$*"; }

# ---- 1. installs ---------------------------------------------------------------------------------
if ((INSTALL)); then
  say "checking installs"
  missing=()
  for p in python3-torch python3-torchvision python3-onnx python3-numpy; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # node/npm may come from elsewhere (e.g. NodeSource's nodejs bundles npm and conflicts with
  # Debian's npm package), so only the commands are checked.
  command -v node > /dev/null || missing+=(nodejs)
  command -v npm > /dev/null || missing+=(npm)
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  installed=$(node -p "try { require('$NODE_DIR/node_modules/onnxruntime-node/package.json').version } catch (e) { '' }")
  if [ "$installed" != "$ORT_VERSION" ]; then
    echo "installing onnxruntime-node $ORT_VERSION into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    cp "$ROOT/bench/package.json" "$ROOT/bench/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

# ---- 2. build ------------------------------------------------------------------------------------
if ((REBUILD)) || [ ! -x "$BENCH" ] || [ ! -x "$INFER" ] || [ ! -x "$QUANTIZE" ]; then
  say "building mobilenet-benchmark, -infer and -quantize in $BUILD"
  [ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release
  cmake --build "$BUILD" -j2 --target mobilenet-benchmark mobilenet-infer mobilenet-quantize
fi

# ---- 3. export -----------------------------------------------------------------------------------
say "exporting seeded models (seed $SEED) to $MODELS"
need_export=0
for a in $ARCHS; do [ -f "$MODELS/$a.onnx" ] && [ -f "$MODELS/$a.safetensors" ] || need_export=1; done
[ -f "$MODELS/calibration.npy" ] || need_export=1
if ((need_export)); then
  # shellcheck disable=SC2086  # ARCHS is a word list
  "$PY" "$ROOT/bench/compare_peers.py" export --out "$MODELS" --seed "$SEED" --archs $ARCHS
else
  echo "  (already there)"
fi
if [ "$PRECISION" = int8 ]; then
  say "quantizing (mobilenet-quantize, calibration.npy) and writing QDQ ONNX models (bench/int8_qdq.py)"
  for a in $ARCHS; do
    "$QUANTIZE" --weights "$MODELS/$a.safetensors" --calibration "$MODELS/calibration.npy" \
      --output "$MODELS/$a.int8.safetensors" | tail -n 2
    "$PY" "$ROOT/bench/int8_qdq.py" --int8 "$MODELS/$a.int8.safetensors" --out "$MODELS/$a.int8.onnx"
  done
fi

ort() {  # ort MODEL THREADS RUNS WARMUP [extra args] -> "median min version"
  node "$ROOT/bench/ort_bench.js" --modules "$NODE_DIR" --model "$MODELS/$1$SUFFIX.onnx" --input "$MODELS/input.bin" \
    --threads "$2" --runs "$3" --warmup "$4" "${@:5}"
}
ours() {  # ours ARCH THREADS -> "median min"
  local out
  out=$("$BENCH" --arch "$1" --threads "$2" --loops "$RUNS" --warmup "$WARMUP" --precision "$PRECISION")
  # The table's columns: model width "median ms" "min ms" "max ms" ...
  awk -v a="$1" '$1 == "model" && $3 != "median" { bad = 1 } $1 == a { print $3, $4; found = 1 }
                 END { exit (bad || !found) }' <<< "$out" ||
    { echo "compare_peers.sh: unexpected mobilenet-benchmark output:" >&2; echo "$out" >&2; exit 1; }
}

# ---- 4. parity -----------------------------------------------------------------------------------
say "parity ($PRECISION): our library (mobilenet-infer) vs ONNX Runtime $ORT_VERSION, same weights, same input"
for a in $ARCHS; do
  "$INFER" --weights "$MODELS/$a$SUFFIX.safetensors" --input "$MODELS/input.npy" --output "$MODELS/$a.ours.npy"
  res=$(ort "$a" 1 1 0 --logits-out "$MODELS/$a.ort.bin")
  [ "${res##* }" = "$ORT_VERSION" ] || { echo "onnxruntime-node reports ${res##* }, expected $ORT_VERSION" >&2; exit 1; }
  "$PY" "$ROOT/bench/compare_peers.py" parity --arch "$a" --precision "$PRECISION" --ours "$MODELS/$a.ours.npy" \
    --ort "$MODELS/$a.ort.bin"
  if [ "$PRECISION" = int8 ]; then
    stages=$MODELS/$a.int8.stages && mkdir -p "$stages"
    "$PY" "$ROOT/bench/int8_qdq.py" --int8 "$MODELS/$a.int8.safetensors" --out "$stages/model.onnx" --stage-outputs
    node "$ROOT/bench/ort_bench.js" --modules "$NODE_DIR" --model "$stages/model.onnx" --input "$MODELS/input.bin" \
      --threads 1 --runs 1 --warmup 0 --outputs-dir "$stages" > /dev/null
    "$PY" "$ROOT/bench/compare_peers.py" stages --int8 "$MODELS/$a.int8.safetensors" --input "$MODELS/input.npy" \
      --dir "$stages"
  fi
done

# ---- 5. timing -----------------------------------------------------------------------------------
RAW=$WORK/raw$SUFFIX.csv
echo "round,engine,arch,threads,median_ms,min_ms" > "$RAW"
isa=$("$BENCH" --arch v3_small --loops 1 --warmup 0 --precision "$PRECISION" | sed -n 's/.*isa \([^,]*\),.*/\1/p')
say "timing ($PRECISION): $ROUNDS round(s) x threads {$THREADS} x {$ARCHS}, $RUNS runs after $WARMUP warm-up (ours: isa $isa)"
start=$SECONDS
for ((r = 1; r <= ROUNDS; r++)); do
  echo "round $r/$ROUNDS  (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  for t in $THREADS; do
    for a in $ARCHS; do
      if ((r % 2)); then order="ours ort"; else order="ort ours"; fi
      line="  t=$t $(printf '%-9s' "$a")"
      for e in $order; do
        if [ "$e" = ours ]; then res=$(ours "$a" "$t"); else res=$(ort "$a" "$t" "$RUNS" "$WARMUP"); fi
        read -r med min _ <<< "$res"
        echo "$r,$e,$a,$t,$med,$min" >> "$RAW"
        line+="  $(printf '%-4s %8.3f ms' "$e" "$med")"
      done
      echo "$line"
    done
  done
done
echo "timing took $((SECONDS - start)) s"

# ---- 6. report -----------------------------------------------------------------------------------
say "results ($OUT)"
mkdir -p "$(dirname "$OUT")"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
header="# ours vs ONNX Runtime, $PRECISION, $(date -u '+%Y-%m-%d %H:%M UTC')\\n\\n"
header+="bench/compare_peers.sh --precision $PRECISION --rounds $ROUNDS --runs $RUNS --warmup $WARMUP --threads \"$THREADS\" --seed $SEED"
header+="\\n\\nMachine: $cpu, $(nproc) CPUs. Ours: $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')"
header+="$(cd "$ROOT" && git diff --quiet HEAD -- include examples 2>/dev/null || echo ' (with local changes)'), isa $isa."
header+=" ONNX Runtime: onnxruntime-node $ORT_VERSION (CPU EP)."
"$PY" "$ROOT/bench/compare_peers.py" summarize --raw "$RAW" --out "$OUT" --precision "$PRECISION" --header "$header"
