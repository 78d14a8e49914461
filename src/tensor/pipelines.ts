// The engine's caches of compiled work: compute pipelines (by shader, specialisation, bindings and entry
// point), their bind-group and pipeline layouts (by binding kinds), and bind groups (by layout, buffers and
// uniform slot), so that a step that repeats the last one creates no GPU object.
/// <reference types="@webgpu/types" />
import { bufferId } from './pool.ts';

export type BindingKind = 'read' | 'write' | 'uniform';

export interface Pipeline {
  readonly key: string;
  readonly gpu: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly layoutKey: string;
  readonly kinds: readonly BindingKind[];
}

/** A WebGPU validation or device error, naming the op and the shapes involved. */
export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

const BIND_GROUP_CACHE_MAX = 8192;

export class PipelineCache {
  private pipelines = new Map<string, Pipeline>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  private pipelineLayouts = new Map<string, GPUPipelineLayout>();
  private bindGroups = new Map<string, GPUBindGroup>();

  /** `uniforms`: the buffer every uniform binding points into (the engine's arena). */
  constructor(
    private readonly device: GPUDevice,
    private readonly limits: Record<string, number>,
    private readonly uniforms: GPUBuffer,
  ) {}

  private layoutFor(kinds: readonly BindingKind[]): [GPUBindGroupLayout, GPUPipelineLayout, string] {
    const key = kinds.map((k) => k[0]).join('');
    let layout = this.layouts.get(key);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        label: `layout:${key}`,
        entries: kinds.map((k, binding) => ({
          binding,
          visibility: 4 /* COMPUTE */,
          buffer: { type: k === 'uniform' ? 'uniform' : k === 'read' ? 'read-only-storage' : 'storage' },
        })),
      });
      this.layouts.set(key, layout);
      this.pipelineLayouts.set(key, this.device.createPipelineLayout({ bindGroupLayouts: [layout] }));
    }
    return [layout, this.pipelineLayouts.get(key)!, key];
  }

  /** The pipeline (see Engine.pipeline); with `track`, its compilation runs inside an error scope it closes. */
  pipeline(source: string, code: () => string, kinds: readonly BindingKind[], entryPoint: string, track: ((label: string) => void) | null): Pipeline {
    const key = `${source}:${entryPoint}:${kinds.join(',')}`;
    const hit = this.pipelines.get(key);
    if (hit) return hit;
    const shader = source.split(':')[0];
    const storageCount = kinds.filter((k) => k !== 'uniform').length;
    const maxStorage = this.limits.maxStorageBuffersPerShaderStage ?? 8;
    if (storageCount > maxStorage) {
      throw new GpuError(`shader ${shader} needs ${storageCount} storage buffers; the device allows ${maxStorage}`);
    }
    const [layout, pipelineLayout, layoutKey] = this.layoutFor(kinds);
    if (track) this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: code(), label: shader });
    const gpu = this.device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint }, label: key });
    track?.(`compiling ${source}`);
    const p: Pipeline = { key, gpu, layout, layoutKey, kinds };
    this.pipelines.set(key, p);
    return p;
  }

  /** The bind group of `buffers` (binding order) and a uniform slot of the arena (size 0: none). */
  bindGroup(p: Pipeline, buffers: GPUBuffer[], uniformOffset: number, uniformSize: number): GPUBindGroup {
    let key = p.layoutKey;
    for (const b of buffers) key += ',' + bufferId(b);
    if (uniformSize) key += `|${uniformOffset}:${uniformSize}`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE_MAX) this.bindGroups.clear();
      const entries: GPUBindGroupEntry[] = buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      if (uniformSize) {
        entries.push({ binding: buffers.length, resource: { buffer: this.uniforms, offset: uniformOffset, size: uniformSize } });
      }
      bg = this.device.createBindGroup({ layout: p.layout, entries });
      this.bindGroups.set(key, bg);
    }
    return bg;
  }

  /** Drops the bind groups (their buffers may be freed). */
  clearBindGroups(): void {
    this.bindGroups.clear();
  }

  sizes(): { pipelines: number; bindGroups: number } {
    return { pipelines: this.pipelines.size, bindGroups: this.bindGroups.size };
  }
}
