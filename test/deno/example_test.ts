// The Deno example (examples/invert-deno.ts) run as a test: its reconstruction must bring the distance down.
import * as F from '../../src/index.ts';
import { invertExample } from '../../examples/invert-deno.ts';

Deno.test({
  name: 'examples/invert-deno.ts: the embedding distance falls below the same-person threshold',
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const r = await invertExample({ iterations: 20 });
    if (!(r.iterations === 20)) throw new Error(`ran ${r.iterations} iterations, expected 20`);
    if (!(r.final < r.start)) throw new Error(`the distance did not fall: ${r.start} → ${r.final}`);
    if (!(r.start > 0.6 && r.final < 0.6)) throw new Error(`expected the guide above 0.6 and the result below: ${r.start} → ${r.final}`);
    // Let the queue drain before the device goes (the engine test does the same).
    await F.engine().sync();
    F.shutdown();
  },
});
