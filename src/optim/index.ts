export { Optimizer } from './optimizer.ts';
export { SGD, type SgdOptions } from './sgd.ts';
export { Adam, type AdamOptions } from './adam.ts';
export { constant, linear, exponential, step, cosine, resolve, type Schedule } from './schedule.ts';
