// ONNX Runtime side of bench/compare_peers.sh: times session.run of one model.
//
//   node ort_bench.js --model M.onnx --input input.bin --threads T --runs N --warmup W
//                     [--logits-out y.bin] [--outputs-dir DIR] [--modules DIR] [--nodes yes]
//
// CPU execution provider, intraOpNumThreads T, interOpNumThreads 1, graph optimisation "all",
// sequential execution: ORT's default settings for a latency-bound batch-1 service. The input is a
// raw float32 [1, 3, 224, 224] file, bound once; each timed run is one `await session.run(feeds)`
// measured with process.hrtime. Prints one line: "median_ms min_ms ort_version". The median is
// sorted[n/2], the same definition as mobilenet-benchmark. onnxruntime-node is resolved from
// --modules (the scratch directory compare_peers.sh installs it into), then from the cwd.
// --outputs-dir DIR: every output of the model's last run, raw, as DIR/<output name>.bin (the int8
// QDQ models' per-stage codes, checked by compare_peers.py stages).
// --nodes yes: ORT's own profiler on instead, and one line per graph node (median kernel time in
// microseconds over the timed runs, operator, output shape) to set beside
// `mobilenet-benchmark --profile`; the profiler's overhead makes those runs' total slower.
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

// Where ORT writes its profile: a name of this process's own in the temporary directory.
function profilePrefix() {
  return require('path').join(require('os').tmpdir(), `ort_bench_profile_${process.pid}`);
}

// Per node of ORT's profile (a JSON list of trace events, one "<node>_kernel_time" event per node
// and run), skipping the first `skipRuns` runs of each node: median microseconds, operator, shape.
function printNodes(file, skipRuns) {
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.unlinkSync(file);
  const nodes = new Map();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    if (!nodes.has(name)) nodes.set(name, { us: [], op: e.args.op_name, shape: e.args.output_type_shape });
    nodes.get(name).us.push(e.dur);
  }
  let total = 0;
  for (const [name, n] of nodes) {
    const us = n.us.slice(skipRuns).sort((a, b) => a - b);
    const median = us[Math.floor(us.length / 2)];
    total += median;
    const shape = JSON.stringify(n.shape || '').replace(/[{}"[\]]/g, '').replace(/^float:/, '');
    console.log(`${median.toFixed(0).padStart(7)} us  ${String(n.op).padEnd(18)} ${shape.padEnd(16)} ${name}`);
  }
  console.log(`${total.toFixed(0).padStart(7)} us  total of the node medians`);
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
    enableProfiling: args.nodes === 'yes',
    profileFilePrefix: profilePrefix(),
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
  if (args.outputsDir) {
    for (const name of session.outputNames) {
      const y = out[name].data;
      fs.writeFileSync(require('path').join(args.outputsDir, `${name}.bin`), Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    }
  }
  if (args.nodes === 'yes') {
    session.endProfiling();  // writes <prefix>_<date>.json (returns nothing in onnxruntime-node)
    const dir = require('os').tmpdir(), base = require('path').basename(profilePrefix());
    const file = fs.readdirSync(dir).find((f) => f.startsWith(base) && f.endsWith('.json'));
    if (!file) throw new Error(`no ORT profile ${profilePrefix()}_*.json was written`);
    printNodes(require('path').join(dir, file), args.warmup);
    await session.release();
    return;
  }
  await session.release();
  console.log(`${ms[Math.floor(ms.length / 2)].toFixed(4)} ${ms[0].toFixed(4)} ${ort.env.versions.node}`);
}

main().catch((e) => {
  console.error(`ort_bench.js: ${e.message || e}`);
  process.exit(1);
});
