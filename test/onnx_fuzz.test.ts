// Mutated model files must end in a loaded model or a one-line OnnxError — never a crash, a hang, or
// another kind of exception.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import * as F from '../src/index.ts';
import { OnnxModule } from '../src/models/onnx/module.ts';
import { OnnxError } from '../src/models/onnx/load.ts';
import { defaultModelPath } from './helpers/faces.ts';
import { Rand } from './helpers/ref.ts';

describe('fuzzing the ONNX loader with the default model', () => {
  // 500 loads of the 22 MB model: about 10 s on 2 cores since the Conv folds read weights only where they fold
  // (133-155 s before, past 300 s beside a training job).
  it('500 mutated files each load or fail with a one-line OnnxError; loaded ones run or fail the same way', { timeout: 600_000 }, async () => {
    const original = new Uint8Array(readFileSync(defaultModelPath()));
    const r = new Rand(2026);
    const pick = (n: number) => Math.floor(r.next() * n);
    // The graph structure (nodes, attributes, shapes) sits after the raw weights in this file; aim half of
    // the mutations there so that they hit more than weight values.
    const tail = original.length - 200_000;
    let loaded = 0;
    let refused = 0;
    let ran = 0;
    for (let k = 0; k < 500; k++) {
      let bytes = original.slice();
      const where = () => (r.next() < 0.5 ? tail + pick(original.length - tail) : pick(original.length));
      const kind = k % 4;
      if (kind === 0) for (let j = 0; j < 1 + pick(8); j++) bytes[where()] ^= 1 << pick(8);
      else if (kind === 1) bytes = bytes.slice(0, where());
      else if (kind === 2) for (let j = 0; j < 1 + pick(4); j++) bytes[where()] = pick(256);
      else {
        // Duplicate a run of up to 64 bytes in place (shifts everything after it).
        const at = where();
        const run = bytes.subarray(Math.max(0, at - 64), at);
        const grown = new Uint8Array(bytes.length + run.length);
        grown.set(bytes.subarray(0, at));
        grown.set(run, at);
        grown.set(bytes.subarray(at), at + run.length);
        bytes = grown;
      }
      let m: OnnxModule | null = null;
      try {
        m = OnnxModule.fromBytes(bytes, `mutant ${k}`);
        loaded++;
      } catch (e) {
        expect(e, `mutant ${k} (kind ${kind}) threw ${(e as Error)?.stack}`).toBeInstanceOf(OnnxError);
        expect((e as Error).message).not.toContain('\n');
        refused++;
      }
      // Run a sample of the loadable mutants through the network: a result or a one-line OnnxError.
      if (m && ran < 12 && kind !== 1) {
        ran++;
        try {
          const y = F.tidy(() => Object.values(m!.run({ input: F.zeros([1, 3, 150, 150]) }))[0]);
          await y.data();
          y.dispose();
        } catch (e) {
          expect(e, `mutant ${k} (kind ${kind}) failed to run with ${(e as Error)?.stack}`).toBeInstanceOf(OnnxError);
          expect((e as Error).message).not.toContain('\n');
        }
      }
      m?.dispose();
    }
    console.log(`fuzz: ${loaded} loaded, ${refused} refused, ${ran} run`);
    expect(loaded + refused).toBe(500);
    expect(refused).toBeGreaterThan(50);
  });
});
