// Public API of faceinv: the same in Node, Deno and the browser.
export { init, engine, shutdown, Engine, GpuError } from './tensor/engine.ts';
export { requestDevice, NoAdapterError, type AdapterSummary, type DeviceHandle } from './tensor/device.ts';
export { Tensor, tidy, keep, type GradNode } from './tensor/tensor.ts';
export { Rng, rand, randn } from './tensor/random.ts';
export * from './tensor/shape.ts';
export { backward, noGrad, grad, valueAndGrad, isGradEnabled, type BackwardOptions } from './autograd/tape.ts';
export * from './autograd/ops.ts';
export { setMatmulVariant, matmulVariant, type MatmulVariant } from './kernels/matmul.ts';
