// Every test file: one engine in debug mode (each dispatch inside WebGPU error scopes, so a validation
// error fails the test with the op's name and shapes), destroyed at the end so the worker can exit.
import { afterAll, beforeAll } from 'vitest';
import { init, shutdown } from '../src/index.ts';

beforeAll(async () => {
  await init({ debug: process.env.FACEINV_DEBUG !== '0' });
});

afterAll(() => {
  shutdown();
});
