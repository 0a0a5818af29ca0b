// Opens a WebGPU device through Dawn's Node bindings and describes it. The only other file
// importing `webgpu` is none: everything GPU goes through here and runtime.ts.
//
// Dawn facts this code depends on (DESIGN.md, "Runtime facts"): the object from create() must
// outlive every device and buffer (a collected instance crashed inside Dawn), and a device
// that is not destroyed keeps node alive.
import { create, globals } from 'webgpu';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { DeviceLimits } from '../plan/types.js';

export type Backend = 'auto' | 'vulkan' | 'metal' | 'd3d12' | 'd3d11' | 'opengl' | 'opengles' | 'null';

export interface OpenOptions {
  backend?: Backend | string;
  /** Adapter name as Dawn reports it (see `bert-run device`). */
  adapter?: string;
  /** Features to leave off even when present (used by tests to cover fallback variants). */
  disableFeatures?: string[];
}

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  driver: string;
  isCpu: boolean;
  features: string[];
  limits: Record<string, number>;
}

/** Features we ask for whenever the adapter has them. */
export const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;

export interface Gpu {
  device: GPUDevice;
  report: AdapterReport;
  limits: DeviceLimits;
  hasFeature(name: string): boolean;
  /** Destroys the device and drops the Dawn instance so node can exit. Idempotent. */
  destroy(): void;
}

let globalsInstalled = false;
// Dawn instances by option string, held for the life of the process (see header).
const instances = new Map<string, GPU>();

function dawnInstance(options: string[]): GPU {
  const key = options.join('|');
  let gpu = instances.get(key);
  if (!gpu) {
    if (!globalsInstalled) {
      Object.assign(globalThis, globals);
      globalsInstalled = true;
    }
    gpu = create(options);
    instances.set(key, gpu);
  }
  return gpu;
}

export const NO_ADAPTER_HELP =
  'no WebGPU adapter found. Install a GPU driver with Vulkan support, or the software ' +
  'rasterizer Mesa lavapipe (Debian bookworm: add bookworm-backports to apt sources, then ' +
  '`apt-get install -t bookworm-backports mesa-vulkan-drivers`; Mesa >= 25 is needed), ' +
  'or see `bert-run device --backend <name>`';

function ensureRuntimeDir(): void {
  // Mesa prints errors on every device open when XDG_RUNTIME_DIR is unset.
  if (!process.env.XDG_RUNTIME_DIR) {
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'bert-xdg-'));
  }
}

function dawnOptions(options: OpenOptions): string[] {
  const out: string[] = [];
  const backend = options.backend ?? process.env.BERT_BACKEND ?? 'auto';
  if (backend !== 'auto') out.push(`backend=${backend}`);
  const adapter = options.adapter ?? process.env.BERT_ADAPTER;
  if (adapter) out.push(`adapter=${adapter}`);
  return out;
}

function isCpuAdapter(info: GPUAdapterInfo): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software|cpu/.test(text);
}

const REPORTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
  'minStorageBufferOffsetAlignment',
  'minUniformBufferOffsetAlignment',
] as const;

async function requestAdapter(options: OpenOptions): Promise<{ adapter: GPUAdapter; backendName: string }> {
  ensureRuntimeDir();
  const dawn = dawnOptions(options);
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await dawnInstance(dawn).requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new UserError(`${NO_ADAPTER_HELP} (Dawn: ${String((e as Error).message ?? e).split('\n')[0]})`, 'no_adapter', 1);
  }
  if (!adapter) throw new UserError(NO_ADAPTER_HELP, 'no_adapter', 1);
  const backend = dawn.find((o) => o.startsWith('backend='))?.slice(8);
  return { adapter, backendName: backend ?? 'auto' };
}

function describe(adapter: GPUAdapter, backendName: string): AdapterReport {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const name of REPORTED_LIMITS) limits[name] = Number(adapter.limits[name]);
  const extra = info as unknown as Record<string, unknown>;
  const backend = typeof extra.backendType === 'string' ? (extra.backendType as string) : backendName;
  const driver = typeof extra.driverDescription === 'string' ? (extra.driverDescription as string) : info.description;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    backend,
    driver,
    isCpu: isCpuAdapter(info),
    features: [...adapter.features].sort(),
    limits,
  };
}

/** Reports the adapter that openGpu would pick, without creating a device. */
export async function probeAdapter(options: OpenOptions = {}): Promise<AdapterReport> {
  const { adapter, backendName } = await requestAdapter(options);
  return describe(adapter, backendName);
}

export async function openGpu(options: OpenOptions = {}): Promise<Gpu> {
  const { adapter, backendName } = await requestAdapter(options);
  const report = describe(adapter, backendName);
  const disabled = new Set(options.disableFeatures ?? (process.env.BERT_DISABLE_FEATURES?.split(',') ?? []));
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  // Ask for the adapter's maximum of every limit that matters for training.
  for (const name of REPORTED_LIMITS) requiredLimits[name] = Number(adapter.limits[name]);
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'bert-webgpu' });
  const features = new Set<string>(requiredFeatures);
  const limits: DeviceLimits = {
    maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
    maxBufferSize: device.limits.maxBufferSize,
    minStorageBufferOffsetAlignment: device.limits.minStorageBufferOffsetAlignment,
    maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: device.limits.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    maxStorageBuffersPerShaderStage: device.limits.maxStorageBuffersPerShaderStage,
    features: [...features].sort(),
    adapter: { vendor: report.vendor, architecture: report.architecture, description: report.description, isCpu: report.isCpu },
  };
  const info = adapter.info as unknown as Record<string, unknown>;
  if (typeof info.subgroupMinSize === 'number') limits.subgroupMinSize = info.subgroupMinSize;
  if (typeof info.subgroupMaxSize === 'number') limits.subgroupMaxSize = info.subgroupMaxSize;
  let destroyed = false;
  return {
    device,
    report,
    limits,
    hasFeature: (name) => features.has(name),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      device.destroy();
    },
  };
}
