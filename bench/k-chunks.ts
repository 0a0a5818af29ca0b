// One matmul shape as one launch over all of K against the launches a CPU adapter's plan runs
// for it (K in chunks, src/compiler/kernels/matmul.ts), alternating within one process, since
// this machine's speed drifts between processes. A developer's measurement behind
// docs/benchmarks.md ("K in chunks"), not a bert-bench suite:
//   node dist/bench/k-chunks.js '{"M":640,"N":768,"K":30522}' [variant] [depth] [rounds]
// depth overrides the chunk depth (a multiple of 4; '' keeps the plan's); rounds is how many
// whole/chunked pairs (3).
import { openGpu } from '../src/runtime/device.js';
import { Runtime, type PreparedDispatch } from '../src/runtime/runtime.js';
import { matmulLaunch, matmulLaunches, matmulTileAccumulatorBytes, usableMatmulVariants, MATMUL_VARIANTS, type MatmulShape, type MatmulVariant } from '../src/compiler/kernels/matmul.js';
import type { KernelLaunch } from '../src/compiler/kernels/kernel.js';

function fail(message: string): never {
  console.error(`k-chunks: ${message}`);
  process.exit(2);
}

const [shapeArg, variantArg = 'subgroup', depthArg, roundsArg = '3'] = process.argv.slice(2);
if (!shapeArg) fail(`usage: node dist/bench/k-chunks.js '{"M":640,"N":768,"K":30522}' [variant] [depth] [rounds]`);
let shape: MatmulShape;
try {
  shape = JSON.parse(shapeArg) as MatmulShape;
} catch {
  fail(`the shape is not JSON: ${shapeArg}`);
}
if (typeof shape !== 'object' || shape === null || ![shape.M, shape.N, shape.K].every((d) => Number.isInteger(d) && d >= 1)) fail(`the shape needs positive integers M, N and K: ${shapeArg}`);
if ((shape.batch ?? 1) !== 1) fail('batch 1 only');
if (!(MATMUL_VARIANTS as readonly string[]).includes(variantArg)) fail(`unknown variant ${variantArg} (${MATMUL_VARIANTS.join(', ')})`);
const variant = variantArg as MatmulVariant;
const depth = depthArg === undefined || depthArg === '' ? undefined : Number(depthArg);
if (depth !== undefined && !(Number.isInteger(depth) && depth > 0 && depth % 4 === 0)) fail(`depth must be a positive multiple of 4 (got ${depthArg})`);
if (depth !== undefined && !variant.startsWith('subgroup')) fail(`only the subgroup variants run K in chunks (got ${variant} with depth ${depth})`);
const rounds = Number(roundsArg);
if (!(Number.isInteger(rounds) && rounds >= 1)) fail(`rounds must be a positive integer (got ${roundsArg})`);

const gpu = await openGpu();
if (!usableMatmulVariants(shape, gpu.limits).includes(variant)) fail(`${variant} cannot run ${shapeArg} on this device (usable: ${usableMatmulVariants(shape, gpu.limits).join(', ')})`);
const runtime = new Runtime(gpu);
const { M, N, K } = shape;
const partialBytes = matmulTileAccumulatorBytes(shape, gpu.limits);
const sizes = [M * K * 4, K * N * 4, N * 4, M * N * 4, 16, Math.max(16, partialBytes)];
const buffers: GPUBuffer[] = [];
for (let i = 0; i < sizes.length; i++) {
  const buffer = await runtime.createBuffer(`k-chunks.${i}`, sizes[i]!);
  const data = new Float32Array(sizes[i]! / 4);
  for (let j = 0; j < data.length; j++) data[j] = Math.sin(j) * 0.1;
  runtime.write(buffer, data);
  buffers.push(buffer);
}
const slices = sizes.map((size, i) => ({ buffer: String(i), offset: 0, size }));

async function prepare(launches: KernelLaunch[]): Promise<PreparedDispatch[]> {
  const out: PreparedDispatch[] = [];
  for (const l of launches) out.push(await runtime.prepare({ label: 'k-chunks', ...l, bindings: slices }, (id) => buffers[Number(id)]!));
  return out;
}

let chunked: KernelLaunch[];
if (depth === undefined) {
  chunked = matmulLaunches(shape, gpu.limits, variant);
} else {
  chunked = [];
  for (let begin = 0; begin < K; begin += depth) {
    const end = Math.min(K, begin + depth);
    chunked.push(matmulLaunch(shape, gpu.limits, variant, { begin, end, partialIn: begin > 0, partialOut: end < K, partialBytes }));
  }
}
const arms: [string, PreparedDispatch[]][] = [
  ['one launch', await prepare([matmulLaunch(shape, gpu.limits, variant)])],
  [`${chunked.length} chunks`, await prepare(chunked)],
];
// A first run of each (pipeline warm-up), then the timed rounds.
const times = new Map<string, number[]>(arms.map(([name]) => [name, []]));
for (let round = 0; round <= rounds; round++) {
  for (const [name, prepared] of arms) {
    const t0 = performance.now();
    await runtime.submit(prepared);
    await runtime.finish();
    if (round > 0) times.get(name)!.push(performance.now() - t0);
  }
}
console.log(`${M}x${N}x${K} ${shape.transA ? 'T' : 'N'}${shape.transB ? 'T' : 'N'} ${variant}`);
for (const [name, ms] of times) {
  const sorted = [...ms].sort((a, b) => a - b);
  console.log(`${name.padEnd(12)} ms ${ms.map((x) => x.toFixed(1)).join(' ')}  median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)}  best ${((2 * M * N * K) / sorted[0]! / 1e6).toFixed(1)} GFLOP/s`);
}
gpu.destroy();
process.exit(0);
