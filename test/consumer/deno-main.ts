// Deno entry: deno.json maps `faceinv` to `npm:faceinv` (resolved in node_modules); prints the summary as JSON.
import { shutdown } from 'npm:faceinv';
import { run } from './app.ts';

const model = new URL('./node_modules/faceinv/models/dlib_face_recognition_resnet.onnx', import.meta.url);
console.log(JSON.stringify(await run(await Deno.readFile(model), 1)));
shutdown();
