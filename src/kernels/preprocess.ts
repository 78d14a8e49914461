// Specialises WGSL files from shaders/ with wgsl-preprocessor: `#if ${FLAG}` blocks and `${NAME}` values.
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { SHADERS } from './shaders.gen.ts';
import { engine, type BindingKind, type Pipeline } from '../tensor/engine.ts';

export type DefineValue = boolean | number | string;
export type Defines = Record<string, DefineValue>;

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export function specialise(shader: string, defines: Defines): string {
  const source = SHADERS[shader];
  if (source === undefined) throw new Error(`unknown shader '${shader}' (no shaders/${shader}.wgsl)`);
  const strings: string[] = [];
  const values: DefineValue[] = [];
  let last = 0;
  for (const m of source.matchAll(PLACEHOLDER)) {
    const name = m[1];
    if (!(name in defines)) throw new Error(`shaders/${shader}.wgsl needs a value for \${${name}}`);
    strings.push(source.slice(last, m.index));
    values.push(defines[name]);
    last = m.index! + m[0].length;
  }
  strings.push(source.slice(last));
  const raw = Object.assign([...strings], { raw: strings }) as unknown as TemplateStringsArray;
  return wgsl(raw, ...values);
}

const BINDING = /@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(storage\s*,\s*read_write|storage\s*,\s*read|storage|uniform)\s*>/g;

/**
 * The binding kinds a specialised shader declares, in binding order: `var<storage, read>` is 'read',
 * `var<storage, read_write>` 'write', `var<uniform>` 'uniform'. The WGSL is the one place a kernel's bindings
 * are written; the pipeline layout is derived from it.
 */
export function bindingKinds(code: string, what = 'shader'): BindingKind[] {
  const kinds: BindingKind[] = [];
  for (const m of code.matchAll(BINDING)) {
    const i = Number(m[1]);
    if (kinds[i] !== undefined) throw new Error(`${what}: binding ${i} is declared twice`);
    const kind = m[2].replace(/\s/g, '');
    kinds[i] = kind === 'uniform' ? 'uniform' : kind === 'storage,read' ? 'read' : 'write';
  }
  for (let i = 0; i < kinds.length; i++) if (kinds[i] === undefined) throw new Error(`${what}: bindings must be numbered 0, 1, … without gaps (binding ${i} is missing)`);
  if (kinds.slice(0, -1).includes('uniform')) throw new Error(`${what}: the uniform block must be the last binding`);
  return kinds;
}

/** Specialised sources and their bindings, by shader and defines: each variant is specialised once. */
const variants = new Map<string, { code: string; kinds: BindingKind[] }>();

/**
 * The pipeline of shaders/<shader>.wgsl specialised with `defines`: its bindings are the ones the WGSL
 * declares (bindingKinds), the engine caches it under the shader, the defines, the kinds and the entry point,
 * and the WGSL is specialised and compiled once per combination.
 */
export function shaderPipeline(shader: string, defines: Defines, entryPoint = 'main'): Pipeline {
  const key = `${shader}:${JSON.stringify(defines)}`;
  let v = variants.get(key);
  if (!v) {
    const code = specialise(shader, defines);
    v = { code, kinds: bindingKinds(code, `shaders/${shader}.wgsl with ${JSON.stringify(defines)}`) };
    variants.set(key, v);
  }
  const { code } = v;
  return engine().pipeline(key, () => code, v.kinds, entryPoint);
}
