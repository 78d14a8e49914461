// Packs a kernel's uniform block. Layout rule used by every shader: u32/i32/f32 scalars first, then
// `array<vec4<u32>, N>` blocks (16-byte aligned), in the order the WGSL struct declares them.
import { PARAM_FIELDS, type ShaderParams } from './shaders.gen.ts';

/**
 * A shader's uniform block from its fields by name: the order and types come from the shader's own
 * `struct Params` (scripts/gen-shaders.mjs reads it), so a launcher cannot pack a field out of place, and a
 * field missing or misnamed is a type error.
 */
export function packParams<K extends keyof ShaderParams>(shader: K, values: ShaderParams[K]): Uint32Array {
  const p = new Params();
  const v = values as unknown as Record<string, number | readonly number[]>;
  for (const [name, type, words] of PARAM_FIELDS[shader]) {
    const x = name.startsWith('_') ? 0 : v[name];
    if (type === 'vec') p.vec(x as readonly number[], words);
    else p[type === 'u32' ? 'u' : type === 'i32' ? 'i' : 'f'](x as number);
  }
  return p.build();
}

/** The uniform words in order; packParams is the way in (it follows the shader's struct). */
class Params {
  private u32: number[] = [];
  private f32 = new Float32Array(1);
  private f32u = new Uint32Array(this.f32.buffer);

  u(...values: number[]): this {
    for (const v of values) this.u32.push(v >>> 0);
    return this;
  }

  i(...values: number[]): this {
    for (const v of values) this.u32.push((v | 0) >>> 0);
    return this;
  }

  f(...values: number[]): this {
    for (const v of values) {
      this.f32[0] = v;
      this.u32.push(this.f32u[0]);
    }
    return this;
  }

  /** Pads to 16 bytes and appends `values` as array<vec4<u32>, ceil(count/4)>, zero-filled. */
  vec(values: readonly number[], count: number): this {
    while (this.u32.length % 4) this.u32.push(0);
    for (let k = 0; k < Math.ceil(count / 4) * 4; k++) this.u32.push((values[k] ?? 0) >>> 0);
    return this;
  }

  build(): Uint32Array {
    while (this.u32.length % 4) this.u32.push(0);
    return Uint32Array.from(this.u32);
  }
}

/** Workgroup grid for `invocations` threads of `workgroupSize`, folded into 2-D past the 65535 limit. */
export function grid(invocations: number, workgroupSize: number, maxDim = 65535): [number, number] {
  const groups = Math.ceil(invocations / workgroupSize);
  if (groups <= maxDim) return [groups, 1];
  const y = Math.ceil(groups / maxDim);
  return [Math.ceil(groups / y), y];
}
