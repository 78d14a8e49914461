// The same engine under Deno's own WebGPU (run by scripts/deno-test.mjs: deno test --unstable-webgpu).
// No std library import: the network may only reach the npm registry.
import * as F from '../../src/index.ts';

function assertClose(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * Math.max(1, Math.abs(want[i])))) {
      throw new Error(`${what}[${i}] = ${got[i]}, expected ${want[i]}`);
    }
  }
}

Deno.test({
  name: 'forward and backward on the GPU under Deno',
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const e = await F.init({ debug: true });
    if (!e.adapter.description && !e.adapter.device && !e.adapter.vendor) throw new Error('no adapter info');
    // L = sum(relu(W·x + b)²): a matmul, a broadcast add, relu, square and a reduction, then backward.
    const W = F.tensor([1, -2, 0.5, 3, 1, -1], [2, 3]);
    const x = F.tensor([0.5, 1, 2], [3, 1]);
    const b = F.tensor([0.25, -0.5], [2, 1]);
    W.requiresGrad = true;
    b.requiresGrad = true;
    const loss = F.tidy(() => {
      const l = F.sum(F.square(F.relu(F.add(F.matmul(W, x), b))));
      F.backward(l);
      return l;
    });
    // h = W·x + b = [0.5 - 2 + 1 + 0.25, 1.5 + 1 - 2 - 0.5] = [-0.25, 0]: both relu'd to 0 → loss 0.
    // Shift b to make one unit active: recompute with b = [1.25, -0.5]: h = [0.75, 0].
    assertClose(await loss.data(), [0], 1e-6, 'loss');
    b.write([1.25, -0.5]);
    W.grad?.dispose();
    W.grad = null;
    b.grad?.dispose();
    b.grad = null;
    const loss2 = F.tidy(() => {
      const l = F.sum(F.square(F.relu(F.add(F.matmul(W, x), b))));
      F.backward(l);
      return l;
    });
    assertClose(await loss2.data(), [0.5625], 1e-6, 'loss');
    // dL/dh = 2h·[h>0] = [1.5, 0]; dL/dW = dL/dh · xᵀ; dL/db = dL/dh.
    assertClose(await W.grad!.data(), [0.75, 1.5, 3, 0, 0, 0], 1e-6, 'dW');
    assertClose(await b.grad!.data(), [1.5, 0], 1e-6, 'db');
    await e.sync();
    F.shutdown();
  },
});

Deno.test({
  name: 'JPEG decoding under Deno (jpeg-js, EXIF orientation applied)',
  fn() {
    const img = F.decodeJpeg(Deno.readFileSync(new URL('../fixtures/jpeg/orient6.jpg', import.meta.url)), 'orient6.jpg');
    // Stored 30×40, tagged "turn 90° clockwise": upright it is the 40×30 reference.
    if (img.width !== 40 || img.height !== 30) throw new Error(`orient6.jpg decoded to ${img.width}×${img.height}, expected 40×30`);
    let threw = '';
    try {
      F.decodeJpeg(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2]), 'cut.jpg');
    } catch (e) {
      threw = (e as Error).message;
    }
    if (!/^cut\.jpg: not a readable JPEG/.test(threw)) throw new Error(`a truncated JPEG gave '${threw}'`);
  },
});
