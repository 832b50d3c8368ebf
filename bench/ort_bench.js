// ONNX Runtime side of bench/compare_peers.sh: times session.run of one model.
//
//   node ort_bench.js --model M.onnx --input input.bin --threads T --runs N --warmup W
//                     [--logits-out y.bin] [--modules DIR]
//
// CPU execution provider, intraOpNumThreads T, interOpNumThreads 1, graph optimisation "all",
// sequential execution: ORT's default settings for a latency-bound batch-1 service. The input is a
// raw float32 [1, 3, 224, 224] file, bound once; each timed run is one `await session.run(feeds)`
// measured with process.hrtime. Prints one line: "median_ms min_ms ort_version". The median is
// sorted[n/2], the same definition as mobilenet-benchmark. onnxruntime-node is resolved from
// --modules (the scratch directory compare_peers.sh installs it into), then from the cwd.
'use strict';
const fs = require('fs');

function parseArgs(argv) {
  const out = { threads: 1, runs: 100, warmup: 10 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    if (i + 1 >= argv.length) throw new Error(`option ${argv[i]} needs a value`);
    out[key] = argv[i + 1];
  }
  for (const k of ['threads', 'runs', 'warmup']) out[k] = parseInt(out[k], 10);
  if (!out.model || !out.input) throw new Error('--model and --input are required');
  return out;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const paths = [args.modules, process.cwd()].filter(Boolean);
  const ort = require(require.resolve('onnxruntime-node', { paths }));
  const session = await ort.InferenceSession.create(args.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  });
  const raw = fs.readFileSync(args.input);
  const data = new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, 224, 224]) };
  let out;
  for (let i = 0; i < args.warmup; i++) out = await session.run(feeds);
  const ms = [];
  for (let i = 0; i < args.runs; i++) {
    const t0 = process.hrtime.bigint();
    out = await session.run(feeds);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  ms.sort((a, b) => a - b);
  if (args.logitsOut) {
    const y = out[session.outputNames[0]].data;
    fs.writeFileSync(args.logitsOut, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
  }
  await session.release();
  console.log(`${ms[Math.floor(ms.length / 2)].toFixed(4)} ${ms[0].toFixed(4)} ${ort.env.versions.node}`);
}

main().catch((e) => {
  console.error(`ort_bench.js: ${e.message || e}`);
  process.exit(1);
});
