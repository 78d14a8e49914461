// The browser demo: the same engine and reconstruction as the CLI, on the browser's WebGPU. Served by
// scripts/web.mjs (npm run web), which also serves the default model, the bundled faces and, optionally, a
// trained decoder. State for tests and curious users: window.faceinvDemo.
import {
  init, FaceModel, FaceDetector, alignFaces, reconstruct, preset, chartSvg, fromPlanes, tidy, noGrad, keep, Decoder, decodeCheckpoint, sqrt, sum, square, sub,
  type RgbImage, type Tensor, type ReconstructOptions,
} from '../src/index.ts';

interface DemoState {
  state: 'loading' | 'ready' | 'running' | 'done' | 'error' | 'no-webgpu';
  /** The boxes [x, y, width, height] found in the last photo the user gave (empty for a ready chip). */
  faces: number[][];
  adapter: string;
  iteration: number;
  /** [iteration, embedding distance] of every progress report of the current run. */
  distances: [number, number][];
  error: string | null;
}

const demo: DemoState = { state: 'loading', faces: [], adapter: '', iteration: 0, distances: [], error: null };
(window as unknown as { faceinvDemo: DemoState }).faceinvDemo = demo;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const GUIDES = ['lfw-average', 'cartoon-female', 'cartoon-male', 'cartoon-female-asian', 'cartoon-male-black'];
const params = new URLSearchParams(location.search);

function fail(message: string, state: DemoState['state'] = 'error'): void {
  demo.state = state;
  demo.error = message;
  const box = $('error');
  box.hidden = false;
  box.textContent = message;
  $<HTMLFieldSetElement>('controls').disabled = true;
}

function status(text: string): void {
  $('status').textContent = text;
}

/** Any image the browser decodes, as RGB 0..255 without colour management. */
async function loadImage(source: Blob): Promise<RgbImage> {
  const bmp = await createImageBitmap(source, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const c = document.createElement('canvas');
  c.width = bmp.width;
  c.height = bmp.height;
  const ctx = c.getContext('2d')!;
  ctx.drawImage(bmp, 0, 0);
  const px = ctx.getImageData(0, 0, bmp.width, bmp.height).data;
  const data = new Float32Array(bmp.width * bmp.height * 3);
  for (let i = 0; i < bmp.width * bmp.height; i++) for (let k = 0; k < 3; k++) data[i * 3 + k] = px[i * 4 + k];
  return { width: bmp.width, height: bmp.height, data };
}

async function fetchImage(url: string): Promise<RgbImage> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return loadImage(await r.blob());
}

function draw(canvasId: string, img: RgbImage): void {
  const c = $<HTMLCanvasElement>(canvasId);
  c.width = img.width;
  c.height = img.height;
  const out = new ImageData(img.width, img.height);
  for (let i = 0; i < img.width * img.height; i++) {
    for (let k = 0; k < 3; k++) out.data[i * 4 + k] = Math.max(0, Math.min(255, Math.round(img.data[i * 3 + k])));
    out.data[i * 4 + 3] = 255;
  }
  c.getContext('2d')!.putImageData(out, 0, 0);
}

function plot(): void {
  $('plot').innerHTML = chartSvg({
    title: 'Embedding distance to the target',
    xLabel: 'iteration',
    yLabel: 'distance',
    series: [{ name: 'distance', points: demo.distances }],
    width: 480,
    height: 300,
  });
}

async function main(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: unknown }).gpu;
  if (!gpu) {
    $('adapter').textContent = 'No WebGPU here.';
    fail('This browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Safari; Chromium on Linux needs --enable-unsafe-webgpu; Firefox needs dom.webgpu.enabled.', 'no-webgpu');
    return;
  }
  const e = await init();
  demo.adapter = [e.adapter.vendor, e.adapter.architecture, e.adapter.description || e.adapter.device].filter(Boolean).join(' · ') || 'unnamed adapter';
  $('adapter').textContent = `WebGPU adapter: ${demo.adapter}${e.adapter.isCpu ? ' (a CPU implementation: expect seconds per iteration)' : ''}`;
  const res = await fetch('models/dlib_face_recognition_resnet.onnx');
  if (!res.ok) throw new Error(`the default model is missing on the server (HTTP ${res.status}); run 'faceinv convert' before 'npm run web'`);
  const model = FaceModel.fromBytes(new Uint8Array(await res.arrayBuffer()), 'dlib');
  const layers = JSON.parse(model.module.metadata['faceinv.guide_layers'] ?? '[]') as string[];
  const S = model.imageSize;

  for (const g of GUIDES) $('guide').append(new Option(g, `assets/guides/${g}.png`));
  let targetImage = await fetchImage(($<HTMLSelectElement>('target')).value);
  let guideImage = await fetchImage(($<HTMLSelectElement>('guide')).value);
  const showInputs = async () => {
    draw('targetCanvas', await modelView(model, targetImage));
    draw('guideCanvas', await modelView(model, guideImage));
  };
  await showInputs();
  // The face detector and landmark net (written beside the model by 'faceinv convert'): photos from the disk or
  // the camera are searched for a face and aligned to the model's chip; without them, photos are centre-cropped.
  let detector: FaceDetector | null = null;
  try {
    const [d, l] = await Promise.all(['models/tiny_face_detector.onnx', 'models/face_landmark_68.onnx'].map((u) => fetch(u)));
    if (d.ok && l.ok) detector = FaceDetector.fromBytes(new Uint8Array(await d.arrayBuffer()), new Uint8Array(await l.arrayBuffer()));
  } catch {
    detector = null;
  }
  const usePhoto = async (f: File) => {
    // The browser decodes PNG and JPEG itself and turns the photo upright by its EXIF orientation.
    const photo = await loadImage(f);
    const fig = $('photoFigure');
    demo.faces = [];
    if (!detector || (photo.width === photo.height && photo.width <= S)) {
      targetImage = photo;
      fig.hidden = true;
      if (!detector) status('No face detector on the server (run faceinv convert): the photo is centre-cropped.');
    } else {
      status('Looking for a face…');
      let faces = await alignFaces(detector, photo, S);
      if (!faces.length) faces = (await alignFaces(detector, photo, S, { scoreThreshold: 0.2 })).slice(0, 1);
      if (!faces.length) {
        status(`No face found in ${f.name}; choose another photo.`);
        return;
      }
      demo.faces = faces.map((x) => [x.box.x, x.box.y, x.box.width, x.box.height]);
      targetImage = faces[0].chip;
      // The photo, shrunk to 320 px wide at most, with the detected boxes (the first is the target).
      const k = Math.min(1, 320 / photo.width);
      draw('photoCanvas', photo);
      const c = $<HTMLCanvasElement>('photoCanvas');
      c.style.width = `${Math.round(photo.width * k)}px`;
      const ctx = c.getContext('2d')!;
      ctx.lineWidth = Math.max(2, 2 / k);
      faces.forEach((x, i) => {
        ctx.strokeStyle = i === 0 ? '#0c0' : '#fc0';
        ctx.strokeRect(x.box.x, x.box.y, x.box.width, x.box.height);
      });
      fig.hidden = false;
      status(`${faces.length} face(s) found; the green one is the target.`);
    }
    await showInputs();
  };
  for (const id of ['targetFile', 'targetCamera']) {
    $(id).addEventListener('change', async (ev) => {
      const f = (ev.target as HTMLInputElement).files?.[0];
      if (f) await usePhoto(f);
    });
  }
  $('guide').addEventListener('change', async () => {
    guideImage = await fetchImage($<HTMLSelectElement>('guide').value);
    await showInputs();
  });
  if (params.get('iterations')) $<HTMLInputElement>('iterations').value = params.get('iterations')!;

  const signal = { aborted: false };
  const embed = (img: RgbImage) => keep(tidy(() => noGrad(() => model.embed(model.pixels([img])).embedding)));
  const running = (on: boolean) => {
    $<HTMLButtonElement>('start').disabled = on;
    $<HTMLButtonElement>('transfer').disabled = on;
    $<HTMLButtonElement>('stop').disabled = !on;
  };

  async function run(target: Tensor, guide: Tensor, iterations: number, start?: Tensor, offset = 0): Promise<Tensor> {
    const s: ReconstructOptions = {
      ...preset($<HTMLSelectElement>('preset').value as 'paper' | 'fast', layers, iterations),
      model, target, guide, signal, progressEvery: 5,
      ...(start ? { start } : {}),
      onProgress: async (p) => {
        demo.iteration = offset + p.iteration;
        demo.distances.push([demo.iteration, p.distance[0]]);
        draw('result', fromPlanes(await p.image(), 1, S, S)[0]);
        plot();
        status(`iteration ${demo.iteration}: distance ${p.distance[0].toFixed(3)} (the model's same-person threshold: ${model.threshold}) · ${p.rate.toFixed(2)} it/s`);
      },
    };
    if (offset === 0) {
      // Where the run starts from: the distance of the starting image, plotted at iteration 0.
      const d = tidy(() => noGrad(() => sqrt(sum(square(sub(model.embed(start ?? guide).embedding, target))))));
      demo.distances.push([0, await d.item()]);
      d.dispose();
      plot();
    }
    const r = await reconstruct(s);
    draw('result', fromPlanes(await r.image.data(), 1, S, S)[0]);
    if (r.stopped === 'non-finite') throw new Error(r.message);
    return r.image;
  }

  $('start').addEventListener('click', async () => {
    signal.aborted = false;
    demo.state = 'running';
    demo.distances = [];
    running(true);
    const target = embed(targetImage);
    const guide = keep(model.pixels([guideImage]));
    try {
      const img = await run(target, guide, Number($<HTMLInputElement>('iterations').value) || 100);
      img.dispose();
      demo.state = 'done';
      $<HTMLButtonElement>('download').disabled = false;
    } catch (err) {
      fail((err as Error).message);
    } finally {
      [target, guide].forEach((t) => t.dispose());
      running(false);
    }
  });
  $('stop').addEventListener('click', () => (signal.aborted = true));
  $('download').addEventListener('click', () => {
    $<HTMLCanvasElement>('result').toBlob((b) => {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(b!);
      a.download = 'faceinv.png';
      a.click();
    }, 'image/png');
  });
  // Face transfer (§3): the bundled guides as the frames of a short "video", each run warm-started from the last.
  $('transfer').addEventListener('click', async () => {
    signal.aborted = false;
    demo.state = 'running';
    demo.distances = [];
    running(true);
    const target = embed(targetImage);
    const perFrame = Number(params.get('transferIterations') ?? 20);
    let previous: Tensor | null = null;
    try {
      for (const [k, g] of GUIDES.entries()) {
        if (signal.aborted) break;
        const frame = await fetchImage(`assets/guides/${g}.png`);
        draw('guideCanvas', await modelView(model, frame));
        const guide = keep(model.pixels([frame]));
        const img: Tensor = await run(target, guide, perFrame, previous ?? undefined, k * perFrame);
        previous?.dispose();
        previous = img;
        guide.dispose();
      }
      demo.state = 'done';
    } catch (err) {
      fail((err as Error).message);
    } finally {
      previous?.dispose();
      target.dispose();
      running(false);
    }
  });

  await setupDecoder(model, () => targetImage, () => guideImage);
  $<HTMLFieldSetElement>('controls').disabled = false;
  demo.state = 'ready';
  status('Ready. Press Start.');
}

/** The image as the model sees it (centre-cropped and resized), for display. */
async function modelView(model: FaceModel, img: RgbImage): Promise<RgbImage> {
  const t = model.pixels([img]);
  const d = await t.data();
  t.dispose();
  return fromPlanes(d, 1, model.imageSize, model.imageSize)[0];
}

/** If the server offers a trained decoder (npm run web -- --decoder <dir>), decode in one pass. */
async function setupDecoder(model: FaceModel, target: () => RgbImage, guide: () => RgbImage): Promise<void> {
  const info = (await (await fetch('decoder/info.json')).json()) as { available: boolean };
  if (!info.available) return;
  const r = await fetch('decoder/checkpoint.bin');
  if (!r.ok) throw new Error(`decoder/checkpoint.bin: HTTP ${r.status}`);
  const ckpt = decodeCheckpoint(new Uint8Array(await r.arrayBuffer()), 'decoder/checkpoint.bin');
  const decoder = Decoder.fromValues(ckpt.config, ckpt.params);
  $('decoderControls').hidden = false;
  $('decoderInfo').textContent = `${ckpt.config.kind === 'guided' ? 'guided (§4.2)' : '§4.1'} decoder, ${ckpt.config.filters} filters, ${ckpt.step} training steps. `;
  const S = model.imageSize;
  $('decode').addEventListener('click', async () => {
    const t0 = performance.now();
    const e = tidy(() => noGrad(() => model.embed(model.pixels([target()])).embedding));
    const g = ckpt.config.kind === 'guided' ? model.pixels([guide()]) : undefined;
    const img = decoder.decode(e, g, ckpt.config.guideIndexCount > 0 ? [0] : undefined);
    const d = tidy(() => noGrad(() => model.embed(img).embedding));
    const [px, emb, tgt] = await Promise.all([img.data(), d.data(), e.data()]);
    draw('result', fromPlanes(px, 1, S, S)[0]);
    const dist = Math.sqrt(emb.reduce((s, v, i) => s + (v - tgt[i]) ** 2, 0));
    status(`decoded in ${(performance.now() - t0).toFixed(0)} ms: distance ${dist.toFixed(3)}`);
    [e, img, d, ...(g ? [g] : [])].forEach((t) => t.dispose());
  });
}

main().catch((err) => fail(`faceinv: ${(err as Error).message}`));
