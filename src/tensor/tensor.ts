/// <reference types="@webgpu/types" />
// Tensor: an f32 array on a pooled GPU buffer, with a shape, reference-counted storage (so reshape is free),
// deterministic release through scopes (`tidy`) or `dispose()`, and the autograd fields the tape fills in.
import { engine } from './engine.ts';
import { checkShape, fmt, sizeOf, type Shape } from './shape.ts';

export type DType = 'f32';

/** Recorded by an op whose inputs require gradients; `backward` maps the output gradient to input gradients. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /**
   * The gradients of the inputs from the output's. `prior(i)` is the gradient accumulated so far for input i
   * (from its consumers that ran before), which a rule may fold into its own (see tape.ts: gradFacts).
   */
  backward(grad: Tensor, prior: (i: number) => Tensor | undefined): (Tensor | null)[];
}

class Storage {
  refs = 1;
  /** Tensors computed from this storage's values (e.g. a re-laid weight), dropped when the values change. */
  derived: Map<string, Tensor> | null = null;
  constructor(
    readonly buffer: GPUBuffer,
    readonly bytes: number,
  ) {}
  dropDerived(): void {
    for (const t of this.derived?.values() ?? []) t.dispose();
    this.derived = null;
  }
  release(): void {
    if (--this.refs === 0) {
      this.dropDerived();
      engine().releaseBuffer(this.buffer);
    }
  }
}

let nextId = 1;
const scopes: Set<Tensor>[] = [];

/** An f32 array on the GPU with a shape; data()/item() read it back, requiresGrad and grad serve autodiff. */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  readonly dtype: DType = 'f32';
  requiresGrad = false;
  /** Accumulated gradient of a leaf after backward(). Owned by this tensor; not tracked by scopes. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, when recorded on the tape. */
  node: GradNode | null = null;
  name?: string;
  private storage: Storage | null;
  private owned: Tensor[] | null = null;

  /** Use the factories (`tensor`, `zeros`, …) or ops; this constructor takes ownership of `storage`. */
  private constructor(shape: Shape, storage: Storage) {
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this.storage = storage;
    scopes[scopes.length - 1]?.add(this);
  }

  /** A tensor of `shape` on a fresh (uninitialised) pooled buffer. */
  static empty(shape: Shape): Tensor {
    checkShape(shape, 'empty');
    const bytes = Math.max(4, sizeOf(shape) * 4);
    return new Tensor(shape, new Storage(engine().createBuffer(bytes), bytes));
  }

  static fromData(data: ArrayLike<number>, shape: Shape): Tensor {
    checkShape(shape, 'tensor');
    if (data.length !== sizeOf(shape)) {
      throw new RangeError(`tensor: ${data.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)})`);
    }
    const t = Tensor.empty(shape);
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    if (f32.length) engine().write(t.buffer, f32);
    return t;
  }

  /** A new tensor sharing this one's storage with another shape of the same size (no copy). */
  view(shape: Shape): Tensor {
    const s = this.live('view');
    s.refs++;
    return new Tensor(shape, s);
  }

  get buffer(): GPUBuffer {
    return this.live('buffer').buffer;
  }

  get rank(): number {
    return this.shape.length;
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  /** Throws a clear error if this tensor was disposed; returns its storage. */
  private live(op: string): Storage {
    if (!this.storage) throw new Error(`${op}: tensor #${this.id} of shape ${fmt(this.shape)} was used after dispose()`);
    return this.storage;
  }

  assertLive(op: string): void {
    this.live(op);
  }

  /** Copies the values to the host. Submits pending GPU work. */
  async data(): Promise<Float32Array> {
    const s = this.live('data');
    if (this.size === 0) return new Float32Array(0);
    return new Float32Array(await engine().read(s.buffer, this.size * 4));
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new RangeError(`item: tensor of shape ${fmt(this.shape)} has ${this.size} values, not 1`);
    return (await this.data())[0];
  }

  /** Overwrites this tensor's values from the host. */
  write(data: ArrayLike<number>): void {
    const s = this.live('write');
    if (data.length !== this.size) throw new RangeError(`write: ${data.length} values for shape ${fmt(this.shape)}`);
    s.dropDerived();
    engine().write(s.buffer, data instanceof Float32Array ? data : Float32Array.from(data));
  }

  /** Must be called by every kernel that changes this tensor's values in place (optimizer updates). */
  markWritten(): void {
    this.live('markWritten').dropDerived();
  }

  /**
   * A tensor computed from this one's values by `make` (for example a weight re-laid for a kernel), cached
   * under `key` until these values change (write, markWritten) or the storage is freed. The caller must not
   * dispose it.
   */
  derived(key: string, make: () => Tensor): Tensor {
    const s = this.live('derived');
    const hit = s.derived?.get(key);
    if (hit && !hit.isDisposed) return hit;
    const t = make();
    for (const scope of scopes) scope.delete(t);
    (s.derived ??= new Map()).set(key, t);
    return t;
  }

  /**
   * Makes `aux` live exactly as long as this tensor (e.g. the argmax a pooling op saves for its backward):
   * it leaves every scope and is disposed with this one.
   */
  own(aux: Tensor): void {
    for (const s of scopes) s.delete(aux);
    (this.owned ??= []).push(aux);
  }

  dispose(): void {
    if (!this.storage) return;
    for (const t of this.owned ?? []) t.dispose();
    this.owned = null;
    this.storage.release();
    this.storage = null;
    this.node = null;
    for (const s of scopes) s.delete(this);
    this.grad?.dispose();
    this.grad = null;
  }

  toString(): string {
    return `Tensor#${this.id}${fmt(this.shape)}${this.requiresGrad ? ' requiresGrad' : ''}`;
  }
}

type Nested = Tensor | null | undefined | number | string | boolean | Nested[] | { [k: string]: Nested };

/** Every tensor (and its gradient) in a returned value, through arrays and plain objects of any depth. */
function collect(value: unknown, out: Set<Tensor>, seen = new Set<object>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) {
    out.add(value);
    if (value.grad) out.add(value.grad);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (in arrays or plain objects) and
 * those passed to `keep`. Returned tensors move to the enclosing scope.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy: the function must be synchronous (it returned a Promise)');
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const survivors = new Set<Tensor>();
  collect(result, survivors);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (survivors.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

/** Adds a tensor to the innermost scope (if any), e.g. one that `keep` had removed. */
export function track<T extends Tensor>(t: T): T {
  scopes[scopes.length - 1]?.add(t);
  return t;
}

/** Removes tensors from all scopes: the caller disposes them. */
export function keep<T extends Tensor | Tensor[]>(t: T): T {
  for (const x of Array.isArray(t) ? t : [t]) for (const s of scopes) s.delete(x);
  return t;
}

export type { Nested };
