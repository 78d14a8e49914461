// Node entry: app.ts compiled by tsc (NodeNext) to out/app.js; prints the summary as one JSON line.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { shutdown } from 'faceinv';
import { run } from './out/app.js';

const model = createRequire(import.meta.url).resolve('faceinv/package.json').replace(/package\.json$/, 'models/dlib_face_recognition_resnet.onnx');
console.log(JSON.stringify(await run(readFileSync(model))));
shutdown();
process.exit(0);
