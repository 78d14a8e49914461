// The TF constructs the tfjs → ONNX converter (tfjs-graph.ts) translates as more than one node at a time:
// convolutions with their fused bias and activation, and the PReLU and L2-normalisation idioms (each
// recogniser returns the emitted value, or null when the node is not that idiom).
import { TfjsConvertError, str, ints, strs, type Graph, type Act, type TfNode } from './tfjs-graph-state.ts';

/** TF "SAME" padding for one spatial axis: [before, after]. */
export function samePads(size: number, k: number, stride: number, dilation = 1): [number, number] {
  const ke = (k - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + ke - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}


export function prelu(g: Graph, n: TfNode): Act | null {
  const [a, b] = g.args(n);
  for (const [p, q] of [[a, b], [b, a]]) {
    const pn = g.tfNode(p);
    const qn = g.tfNode(q);
    if (qn.op !== 'Mul') continue;
    const [q0, q1] = g.args(qn);
    // relu(x) + c·(x − |x|), or x + c·(x − |x|) (slope 1 + 2c; tfjs leaves this form where it fused the
    // relu into the conv that makes x, and then x ≥ 0 and it is x)
    for (const [s, c] of [[q0, q1], [q1, q0]]) {
      const sn = g.tfNode(s);
      if (sn.op !== 'Sub' || g.opOf(c) !== 'Const') continue;
      const [s0, s1] = g.args(sn);
      const x = pn.op === 'Relu' ? g.args(pn)[0] : p;
      if (s0 !== x || g.opOf(s1) !== 'Abs' || g.args(g.tfNode(s1))[0] !== x) continue;
      const ch = g.host(c, n);
      const xn = g.tfNode(x);
      if (pn.op !== 'Relu' && g.opts.repairFusedPrelu && strs(xn.attr?.fused_ops).at(-1) === 'Relu') {
        // The relu fused into x's conv belonged to this PReLU's positive part: undo the fusion.
        const z = conv(g, xn, xn.op.includes('Depthwise'), true);
        return g.emit('PRelu', [z.name, g.operand({ shape: ch.shape, data: ch.data.map((v) => 2 * v) }, z, `${n.name}/slope`)], n.name, z.shape);
      }
      const xa = g.act(x, n);
      const slope = ch.data.map((v) => (pn.op === 'Relu' ? 2 * v : 1 + 2 * v));
      return g.emit('PRelu', [xa.name, g.operand({ shape: ch.shape, data: slope }, xa, `${n.name}/slope`)], n.name, xa.shape);
    }
    // max(0, x) + g·min(0, x)
    if (pn.op === 'Maximum') {
      const [m0, m1] = g.args(pn);
      const x = g.scalarIs(m0, 0) ? m1 : g.scalarIs(m1, 0) ? m0 : null;
      if (!x) continue;
      for (const [mi, gain] of [[q0, q1], [q1, q0]]) {
        const mn = g.tfNode(mi);
        if (mn.op !== 'Minimum' || g.opOf(gain) !== 'Const') continue;
        const [n0, n1] = g.args(mn);
        if (!((n0 === x && g.scalarIs(n1, 0)) || (n1 === x && g.scalarIs(n0, 0)))) continue;
        const xa = g.act(x, n);
        return g.emit('PRelu', [xa.name, g.operand(g.host(gain, n), xa, `${n.name}/slope`)], n.name, xa.shape);
      }
    }
  }
  return null;
}

export function l2norm(g: Graph, n: TfNode): Act | null {
  const [a, b] = g.args(n);
  for (const [x, r] of [[a, b], [b, a]]) {
    const rn = g.tfNode(r);
    if (rn.op !== 'Rsqrt') continue;
    let m = g.tfNode(g.args(rn)[0]);
    if (m.op === 'Maximum') m = g.tfNode(g.args(m).find((s) => g.opOf(s) !== 'Const')!);
    if (m.op !== 'Sum') continue;
    const sq = g.tfNode(g.args(m)[0]);
    if (sq.op !== 'Square' || g.args(sq)[0] !== x) continue;
    const xa = g.act(x, n);
    if (xa.shape.length !== 2) continue;
    return g.emit('LpNormalization', [xa.name], n.name, xa.shape, { axis: 1, p: 2 });
  }
  return null;
}

export function conv(g: Graph, n: TfNode, depthwise: boolean, dropRelu = false): Act {
  const [xName, wName, ...extra] = g.args(n);
  const x = g.act(xName, n);
  if (x.shape.length !== 4) throw new TfjsConvertError(`${n.op} '${n.name}': input is not 4-D`);
  if (str(n.attr?.data_format) && str(n.attr?.data_format) !== 'NHWC') throw new TfjsConvertError(`${n.op} '${n.name}': data_format ${str(n.attr?.data_format)} is not supported`);
  const w = g.host(wName, n);
  const [kh, kw, cin, cm] = w.shape;
  const C = x.shape[1];
  const [, sh, sw] = ints(n.attr?.strides);
  const dil = ints(n.attr?.dilations);
  const [dh, dw] = dil.length === 4 ? [dil[1], dil[2]] : [1, 1];
  const cout = depthwise ? cin * cm : cm;
  if (cin !== C) throw new TfjsConvertError(`${n.op} '${n.name}': weight expects ${cin} input channels, input has ${C}`);
  const W = new Float32Array(cout * (depthwise ? 1 : cin) * kh * kw);
  for (let y = 0; y < kh; y++)
    for (let xx = 0; xx < kw; xx++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cm; o++) {
          const v = w.data[((y * kw + xx) * cin + i) * cm + o];
          if (depthwise) W[((i * cm + o) * kh + y) * kw + xx] = v;
          else W[((o * cin + i) * kh + y) * kw + xx] = v;
        }
  const [H, Wd] = [x.shape[2], x.shape[3]];
  const padding = str(n.attr?.padding) || 'VALID';
  let pads: number[];
  if (padding === 'SAME') {
    const [t, b] = samePads(H, kh, sh, dh);
    const [l, r] = samePads(Wd, kw, sw, dw);
    pads = [t, l, b, r];
  } else if (padding === 'VALID') pads = [0, 0, 0, 0];
  else if (padding === 'EXPLICIT') {
    const e = ints(n.attr?.explicit_paddings);
    pads = [e[2], e[4], e[3], e[5]];
  } else throw new TfjsConvertError(`${n.op} '${n.name}': padding '${padding}' is not supported`);
  const outH = Math.floor((H + pads[0] + pads[2] - ((kh - 1) * dh + 1)) / sh) + 1;
  const outW = Math.floor((Wd + pads[1] + pads[3] - ((kw - 1) * dw + 1)) / sw) + 1;
  const fused = strs(n.attr?.fused_ops);
  if (dropRelu) fused.pop();
  const ins = [x.name, g.init(`${n.name}/W`, [cout, depthwise ? 1 : cin, kh, kw], W)];
  let next = 0;
  if (fused[0] === 'BiasAdd') ins.push(g.init(`${n.name}/B`, [cout], g.host(extra[next++], n).data));
  else if (fused.length) throw new TfjsConvertError(`${n.op} '${n.name}': fused ops [${fused}] are not supported (expected BiasAdd first)`);
  const y = g.emit('Conv', ins, n.name, [-1, cout, outH, outW], {
    kernel_shape: [kh, kw],
    strides: [sh, sw],
    dilations: [dh, dw],
    pads,
    ...(depthwise ? { group: cin } : {}),
  });
  return activation(g, n, y, fused.slice(1), extra.slice(next));
}

export function activation(g: Graph, n: TfNode, y: Act, ops: string[], extra: string[]): Act {
  if (ops.length === 0) return y;
  if (ops.length > 1) throw new TfjsConvertError(`${n.op} '${n.name}': fused ops [${ops}] are not supported`);
  switch (ops[0]) {
    case 'Relu':
      return g.emit('Relu', [y.name], `${n.name}/relu`, y.shape);
    case 'Relu6':
      return g.emit('Clip', [y.name, g.init('zero', [], [0]), g.init('six', [], [6])], `${n.name}/relu6`, y.shape);
    case 'Prelu':
      return g.emit('PRelu', [y.name, g.operand(g.host(extra[0], n), y, `${n.name}/alpha`)], `${n.name}/prelu`, y.shape);
    default:
      throw new TfjsConvertError(`${n.op} '${n.name}': fused activation ${ops[0]} is not supported`);
  }
}
