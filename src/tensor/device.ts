/// <reference types="@webgpu/types" />
// Device acquisition for Node (npm `webgpu`, Dawn), Deno (`navigator.gpu`) and browsers.

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for CPU implementations (lavapipe/llvmpipe, SwiftShader, WARP): they want kernels without barriers. */
  isCpu: boolean;
}

export interface DeviceHandle {
  device: GPUDevice;
  adapter: AdapterSummary;
  limits: Record<string, number>;
  features: string[];
  /** Releases the device; on Node this also lets the process exit (Dawn keeps a busy loop while a device lives). */
  destroy(): void;
}

/** No WebGPU adapter in this runtime; the message says what to install. */
export class NoAdapterError extends Error {
  constructor(detail: string) {
    super(
      `No WebGPU adapter found (${detail}). Install a GPU driver with Vulkan, Metal or D3D12 support; ` +
        `on Linux without a GPU install Mesa's lavapipe >= 23 (Debian bookworm: add bookworm-backports and run ` +
        `'apt-get install -t bookworm-backports mesa-vulkan-drivers'). In a browser, use one with WebGPU enabled ` +
        `(Chromium: --enable-unsafe-webgpu).`,
    );
    this.name = 'NoAdapterError';
  }
}

const LIMIT_NAMES = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxUniformBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'minUniformBufferOffsetAlignment',
  'minStorageBufferOffsetAlignment',
] as const;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return !!p?.versions?.node && !(globalThis as { Deno?: unknown }).Deno;
}

// Dawn's GPU instance must outlive every device made from it: if it is garbage-collected, Dawn's event
// processing touches a freed instance and the process crashes. Hold it here for the process's lifetime.
let nodeInstance: GPU | null = null;

async function nodeGpu(flags: string[]): Promise<GPU> {
  if (nodeInstance) return nodeInstance;
  // The module name is built at run time so that browser bundlers never try to resolve Dawn.
  const name = 'webgpu';
  let mod: { create: (f: string[]) => GPU; globals: Record<string, unknown> };
  try {
    mod = await import(/* @vite-ignore */ name);
  } catch (e) {
    throw new NoAdapterError(`the npm package 'webgpu' (Dawn) could not be loaded: ${(e as Error).message}`);
  }
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  nodeInstance = mod.create(flags);
  return nodeInstance;
}

/** Dawn toggles from FACEINV_DAWN_FLAGS (space-separated, e.g. 'enable-dawn-features=skip_validation'), Node only. */
function envDawnFlags(): string[] {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.FACEINV_DAWN_FLAGS;
  return v ? v.split(/\s+/).filter(Boolean) : [];
}

function summarise(info: GPUAdapterInfo | undefined): AdapterSummary {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const text = `${vendor} ${architecture} ${device} ${description}`.toLowerCase();
  const isCpu = /llvmpipe|lavapipe|swiftshader|software|warp|cpu/.test(text);
  return { vendor, architecture, device, description, isCpu };
}

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Extra Dawn toggles (Node only), e.g. 'disable-dawn-features=timestamp_quantization'. */
  dawnFlags?: string[];
}

/** A WebGPU device with the adapter's limits (Node: Dawn; Deno and browsers: navigator.gpu), and a summary of its adapter. */
export async function requestDevice(opts: DeviceOptions = {}): Promise<DeviceHandle> {
  let gpu: GPU | undefined = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu && isNode()) gpu = await nodeGpu(opts.dawnFlags ?? ['disable-dawn-features=timestamp_quantization', ...envDawnFlags()]);
  if (!gpu) throw new NoAdapterError('navigator.gpu is undefined');
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new NoAdapterError('requestAdapter() returned null');
  // Deno: read adapter.info before requestDevice (reading it afterwards can throw).
  const summary = summarise(adapter.info);
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const v = (adapter.limits as unknown as Record<string, number | bigint>)[name];
    if (v !== undefined && !name.startsWith('min')) requiredLimits[name] = Number(v);
  }
  const features: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) features.push('timestamp-query');
  // Subgroup operations let CPU drivers share loaded values between SIMD lanes (the subgroup kernels).
  if (adapter.features.has('subgroups')) features.push('subgroups');
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  const limits: Record<string, number> = {};
  for (const name of LIMIT_NAMES) {
    const v = (device.limits as unknown as Record<string, number | bigint>)[name];
    if (v !== undefined) limits[name] = Number(v);
  }
  return {
    device,
    adapter: summary,
    limits,
    features: [...device.features] as string[],
    destroy: () => device.destroy(),
  };
}
