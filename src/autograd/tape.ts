// Reverse-mode autodiff: ops record a GradNode on their output when an input requires gradients;
// backward() walks the recorded graph in reverse topological order.
import { Tensor, keep, track, tidy, type GradNode } from '../tensor/tensor.ts';
import { fmt, sameShape } from '../tensor/shape.ts';
import { filled } from '../kernels/copy.ts';
import { unaryGradKernel } from '../kernels/elementwise.ts';

let gradEnabled = true;

/** Whether ops record onto the tape now (false inside noGrad). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` without recording anything on the tape. */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * What a backward rule that folds work into a kernel's output write tells the tape and the rules after it
 * (the input gradient of a convolution, shaders/conv_subgroup.wgsl's epilogue): a gradient `g` that already
 * includes the gradient accumulated before it (`includes`: the tape then adds nothing), or whose values are
 * already zero where a ReLU's output is not positive (`maskedBy`: that ReLU's rule then skips its pass — exact,
 * as masking twice is masking once). `reluOutputs` are the outputs of ops whose gradient is masked by out > 0.
 */
export const gradFacts = {
  /** Whether rules fold the sum and mask into their kernels (tests and benchmarks turn it off to compare). */
  fuse: true,
  includes: new WeakMap<Tensor, Tensor>(),
  maskedBy: new WeakMap<Tensor, Tensor>(),
  reluOutputs: new WeakSet<Tensor>(),
};

/** g masked by y > 0 for a ReLU's output y: g itself when a kernel has already masked it, else one pass. */
export function reluGrad(y: Tensor, g: Tensor): Tensor {
  return gradFacts.maskedBy.get(g) === y ? g : unaryGradKernel('relu', y, y, g);
}

/** Marks `out` as produced by `op` from `inputs` with the given backward rule (when any input needs grads). */
export function record(op: string, inputs: readonly Tensor[], out: Tensor, backward: (g: Tensor, prior: (i: number) => Tensor | undefined) => (Tensor | null)[]): Tensor {
  if (gradEnabled && inputs.some((t) => t.requiresGrad)) {
    out.requiresGrad = true;
    out.node = { op, inputs, backward };
  }
  return out;
}

/** Records an op that has no gradient: a backward pass reaching it fails and names it. */
export function recordNonDifferentiable(op: string, inputs: readonly Tensor[], out: Tensor): Tensor {
  return record(op, inputs, out, () => {
    throw new Error(`backward: op '${op}' (inputs ${inputs.map((t) => fmt(t.shape)).join(', ')}) is not differentiable`);
  });
}

function freedNode(op: string, inputs: readonly Tensor[]): GradNode {
  return {
    op,
    inputs,
    backward: () => {
      throw new Error(`backward: the graph through '${op}' was freed by an earlier backward(); pass { retainGraph: true }`);
    },
  };
}

export interface BackwardOptions {
  /** Keep the recorded graph so that backward can run through it again. */
  retainGraph?: boolean;
}

/**
 * Accumulates d(root)/d(leaf) into `leaf.grad` for every leaf with requiresGrad that `root` depends on. Long on
 * purpose: the topological sort, the gradient accumulation and the freeing of each node's intermediate
 * gradients as soon as its last consumer has run share one set of maps, and splitting them would pass those
 * maps around for nothing.
 */
export function backward(root: Tensor, seed?: Tensor, opts: BackwardOptions = {}): void {
  root.assertLive('backward');
  if (!root.requiresGrad) {
    throw new Error(
      `backward: ${root} does not require grad — no op on its path had an input with requiresGrad (a non-differentiable path)`,
    );
  }
  if (seed && !sameShape(seed.shape, root.shape)) {
    throw new RangeError(`backward: seed gradient ${fmt(seed.shape)} does not match the output ${fmt(root.shape)}`);
  }
  if (!seed && root.size !== 1) {
    throw new RangeError(`backward: output ${fmt(root.shape)} is not a scalar; pass a seed gradient of that shape`);
  }

  // Reverse topological order by iterative DFS.
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const u = inputs[i];
      if (u.requiresGrad && !seen.has(u)) {
        seen.add(u);
        stack.push([u, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  order.reverse();

  tidy(() => {
    const grads = new Map<Tensor, Tensor>();
    const uses = new Map<Tensor, number>();
    const put = (t: Tensor, g: Tensor) => {
      grads.set(t, g);
      uses.set(g, (uses.get(g) ?? 0) + 1);
    };
    const drop = (g: Tensor) => {
      const n = (uses.get(g) ?? 1) - 1;
      uses.set(g, n);
      if (n === 0 && g !== seed) g.dispose();
    };
    // Filled on the GPU: a host upload would have to submit the pending forward pass first.
    put(root, seed ?? filled(root.shape, 1));
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      const node = t.node;
      if (!node) {
        // A leaf: accumulate into .grad, which the leaf owns (not tracked by scopes).
        const prev = t.grad;
        t.grad = keep(noGrad(() => (prev ? addTensors(prev, g) : copyTensor(g))));
        prev?.dispose();
        drop(g);
        continue;
      }
      for (const u of node.inputs) u.assertLive(`backward through '${node.op}'`);
      const inGrads = noGrad(() => node.backward(g, (i) => grads.get(node.inputs[i])));
      if (inGrads.length !== node.inputs.length) {
        throw new Error(`backward: op '${node.op}' returned ${inGrads.length} gradients for ${node.inputs.length} inputs`);
      }
      // Gradients summed into an input's earlier one: released after the loop unless another input holds them
      // (a rule may hand one tensor to several inputs, as addRelu does).
      const summed = new Set<Tensor>();
      node.inputs.forEach((u, i) => {
        const gi = inGrads[i];
        if (!u.requiresGrad || !gi) return;
        if (!sameShape(gi.shape, u.shape)) {
          throw new Error(`backward: op '${node.op}' produced a gradient ${fmt(gi.shape)} for input ${i} of shape ${fmt(u.shape)}`);
        }
        const prev = grads.get(u);
        if (prev && gradFacts.includes.get(gi) === prev) {
          put(u, gi);
          drop(prev);
        } else if (prev) {
          put(u, noGrad(() => addTensors(prev, gi)));
          drop(prev);
          if (gi !== g) summed.add(gi);
        } else put(u, gi);
      });
      for (const s of summed) if (!uses.get(s)) s.dispose();
      if (!opts.retainGraph) t.node = freedNode(node.op, node.inputs);
      drop(g);
    }
  });
}

// Set by ops.ts to avoid an import cycle (ops import the tape).
let addTensors: (a: Tensor, b: Tensor) => Tensor = () => {
  throw new Error('autograd ops are not loaded');
};
let copyTensor: (a: Tensor) => Tensor = addTensors as unknown as (a: Tensor) => Tensor;

export function registerTapeOps(add: (a: Tensor, b: Tensor) => Tensor, copy: (a: Tensor) => Tensor): void {
  addTensors = add;
  copyTensor = copy;
}

/** Returns a function computing the value of `f` and its gradients w.r.t. every tensor argument. */
export function valueAndGrad<A extends Tensor[]>(f: (...xs: A) => Tensor): (...xs: A) => [Tensor, Tensor[]] {
  return (...xs: A) => {
    const leaves = xs.map((x) => {
      const v = x.view(x.shape);
      v.requiresGrad = true;
      return v;
    }) as A;
    const value = f(...leaves);
    if (value.requiresGrad) backward(value);
    else if (value.size !== 1) throw new RangeError(`valueAndGrad: f returned ${fmt(value.shape)}, not a scalar`);
    const grads = leaves.map((l) => {
      const g = l.grad ? track(l.grad) : filled(l.shape, 0);
      l.grad = null;
      return g;
    });
    for (const l of leaves) l.dispose();
    return [value, grads];
  };
}

/** Returns a function computing the gradients of scalar `f` w.r.t. every tensor argument. */
export function grad<A extends Tensor[]>(f: (...xs: A) => Tensor): (...xs: A) => Tensor[] {
  const vg = valueAndGrad(f);
  return (...xs: A) => {
    const [value, grads] = vg(...xs);
    value.dispose();
    return grads;
  };
}
