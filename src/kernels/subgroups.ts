// Whether the device can run the subgroup kernels (matmul.wgsl's SUBGROUP variant, conv_subgroup.wgsl): the
// 'subgroups' feature with subgroups of exactly 8 invocations, lavapipe's SIMD width, which those kernels
// assume (one subgroup per workgroup).
import { engine, type Engine } from '../tensor/engine.ts';

export const SUBGROUP_WIDTH = 8;

const support = new WeakMap<Engine, boolean>();

export function subgroupKernelsSupported(): boolean {
  const e = engine();
  let ok = support.get(e);
  if (ok === undefined) {
    let info: GPUAdapterInfo | undefined;
    try {
      info = (e.device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    } catch {
      // Deno can throw on adapter info read after requestDevice; without the sizes the kernels are not used.
    }
    ok = e.features.includes('subgroups') && info?.subgroupMinSize === SUBGROUP_WIDTH && info.subgroupMaxSize === SUBGROUP_WIDTH;
    support.set(e, ok);
  }
  return ok;
}
