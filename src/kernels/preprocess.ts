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

/**
 * The pipeline of shaders/<shader>.wgsl specialised with `defines`, binding `kinds` in order (the uniform
 * last): cached by the engine under the shader, the defines, the kinds and the entry point, so the WGSL is
 * specialised and compiled once per combination.
 */
export function shaderPipeline(shader: string, defines: Defines, kinds: readonly BindingKind[], entryPoint = 'main'): Pipeline {
  return engine().pipeline(`${shader}:${JSON.stringify(defines)}`, () => specialise(shader, defines), kinds, entryPoint);
}
