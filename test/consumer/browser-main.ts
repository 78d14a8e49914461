// Browser entry, bundled by esbuild: the page fetches the model's bytes and publishes the summary (or the error).
import { run } from './app.ts';

const w = window as unknown as { consumerResult?: unknown; consumerError?: string };
try {
  const bytes = new Uint8Array(await (await fetch('model.onnx')).arrayBuffer());
  w.consumerResult = await run(bytes, 1);
} catch (e) {
  w.consumerError = String((e as Error).stack ?? e);
}
