/**
 * MiniFASNet (Silent-Face-Anti-Spoofing, minivision-ai, Apache-2.0) forward pass in TensorFlow.js, written from
 * the published architecture:
 *
 *   conv1      3x3/2 conv + BN + PReLU                     80 -> 40
 *   conv2_dw   3x3/1 depthwise + BN + PReLU
 *   conv_23    bottleneck: 1x1 expand (BN+PReLU), 3x3/2 depthwise (BN+PReLU), 1x1 project (BN)   40 -> 20
 *   conv_3     4 residual bottlenecks (stride 1)
 *   conv_34    bottleneck /2                                                      20 -> 10
 *   conv_4     6 residual bottlenecks
 *   conv_45    bottleneck /2                                                      10 -> 5
 *   conv_5     2 residual bottlenecks
 *   conv_6_sep 1x1 conv + BN + PReLU (512)
 *   conv_6_dw  5x5 depthwise, no padding + BN                                      5 -> 1
 *   linear 512->128 + BN1d, prob 128->3 (class 1 = real)
 *
 * In V1SE the last bottleneck of conv_3 / conv_4 / conv_5 applies squeeze-excitation (global average pool,
 * 1x1 conv + BN + ReLU, 1x1 conv + BN + sigmoid) to its projection before the residual add.
 * All convolutions have no bias; every batch-norm (eps 1e-5) is folded into the preceding conv/linear at load
 * time. 3x3 convolutions pad 1 pixel on every side (PyTorch symmetric padding). Layer widths are read from the
 * tensor shapes, so both variants share this code.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Tensor1D, Tensor2D, Tensor4D } from '@tensorflow/tfjs-core';
import { parseSafetensors, type SafeTensor } from './safetensors.js';

/** The tfjs namespace (any backend: the verify script runs the port on cpu and wasm). */
type Tf = typeof import('@tensorflow/tfjs-core');

const BN_EPS = 1e-5;

interface ConvLayer {
  filter: Tensor4D;
  bias: Tensor1D;
  prelu: Tensor1D | null;
  depthwise: boolean;
  stride: number;
  pad: number;
}

interface Bottleneck {
  expand: ConvLayer;
  dw: ConvLayer;
  project: ConvLayer;
  residual: boolean;
  se: { fc1: ConvLayer; fc2: ConvLayer } | null;
}

export interface MiniFasNet {
  variant: 'v2' | 'v1se';
  /** Crop scale around the face box (2.7 for V2, 4.0 for V1SE). */
  scale: number;
  sha256: string;
  /** Softmax over 3 classes for a batch of 80x80 BGR 0-255 crops [n,80,80,3]; returns n rows of 3 probabilities. */
  predict(input: Tensor4D): Promise<number[][]>;
  dispose(): void;
}

function get(t: Map<string, SafeTensor>, name: string): SafeTensor {
  const v = t.get(name);
  if (!v) throw new Error(`MiniFASNet weights: missing tensor ${name}`);
  return v;
}

/** BN fold factors: y = x*mul + add. */
function bnFold(t: Map<string, SafeTensor>, prefix: string): { mul: Float32Array; add: Float32Array } {
  const gamma = get(t, `${prefix}.weight`).data;
  const beta = get(t, `${prefix}.bias`).data;
  const mean = get(t, `${prefix}.running_mean`).data;
  const variance = get(t, `${prefix}.running_var`).data;
  const n = gamma.length;
  const mul = new Float32Array(n);
  const add = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const m = (gamma[c] ?? 0) / Math.sqrt((variance[c] ?? 0) + BN_EPS);
    mul[c] = m;
    add[c] = (beta[c] ?? 0) - (mean[c] ?? 0) * m;
  }
  return { mul, add };
}

function buildConv(
  tf: Tf,
  t: Map<string, SafeTensor>,
  convName: string,
  bnPrefix: string,
  preluName: string | null,
  stride: number,
  inChannels: number,
): ConvLayer {
  const w = get(t, convName);
  const [outC, inPerGroup, kh, kw] = w.shape as [number, number, number, number];
  const { mul, add } = bnFold(t, bnPrefix);
  const depthwise = inPerGroup === 1 && outC === inChannels && inChannels > 1;
  const pad = kh === 3 ? 1 : 0;
  let filter: Tensor4D;
  if (depthwise) {
    // PyTorch [C,1,kh,kw] -> TF [kh,kw,C,1], scaled per channel by the folded BN
    const out = new Float32Array(kh * kw * outC);
    for (let c = 0; c < outC; c++) {
      const m = mul[c] ?? 0;
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          out[(y * kw + x) * outC + c] = (w.data[(c * kh + y) * kw + x] ?? 0) * m;
        }
      }
    }
    filter = tf.tensor4d(out, [kh, kw, outC, 1]);
  } else {
    if (inPerGroup !== inChannels)
      throw new Error(`${convName}: expected ${inChannels} input channels, got ${inPerGroup}`);
    // PyTorch [O,I,kh,kw] -> TF [kh,kw,I,O]
    const out = new Float32Array(kh * kw * inPerGroup * outC);
    for (let o = 0; o < outC; o++) {
      const m = mul[o] ?? 0;
      for (let i = 0; i < inPerGroup; i++) {
        for (let y = 0; y < kh; y++) {
          for (let x = 0; x < kw; x++) {
            out[((y * kw + x) * inPerGroup + i) * outC + o] =
              (w.data[((o * inPerGroup + i) * kh + y) * kw + x] ?? 0) * m;
          }
        }
      }
    }
    filter = tf.tensor4d(out, [kh, kw, inPerGroup, outC]);
  }
  const prelu = preluName ? tf.tensor1d(get(t, preluName).data) : null;
  return { filter, bias: tf.tensor1d(add), prelu, depthwise, stride, pad };
}

function outChannels(layer: ConvLayer): number {
  return layer.depthwise ? (layer.filter.shape[2] as number) : (layer.filter.shape[3] as number);
}

function buildBottleneck(
  tf: Tf,
  t: Map<string, SafeTensor>,
  prefix: string,
  inC: number,
  stride: number,
  residual: boolean,
): Bottleneck {
  const expand = buildConv(
    tf,
    t,
    `${prefix}.conv.conv.weight`,
    `${prefix}.conv.bn`,
    `${prefix}.conv.prelu.weight`,
    1,
    inC,
  );
  const dw = buildConv(
    tf,
    t,
    `${prefix}.conv_dw.conv.weight`,
    `${prefix}.conv_dw.bn`,
    `${prefix}.conv_dw.prelu.weight`,
    stride,
    outChannels(expand),
  );
  const project = buildConv(tf, t, `${prefix}.project.conv.weight`, `${prefix}.project.bn`, null, 1, outChannels(dw));
  let se: Bottleneck['se'] = null;
  if (t.has(`${prefix}.se_module.fc1.weight`)) {
    const fc1 = buildConv(
      tf,
      t,
      `${prefix}.se_module.fc1.weight`,
      `${prefix}.se_module.bn1`,
      null,
      1,
      outChannels(project),
    );
    const fc2 = buildConv(
      tf,
      t,
      `${prefix}.se_module.fc2.weight`,
      `${prefix}.se_module.bn2`,
      null,
      1,
      outChannels(fc1),
    );
    se = { fc1, fc2 };
  }
  return { expand, dw, project, residual, se };
}

function runConv(tf: Tf, x: Tensor4D, l: ConvLayer, activation: 'prelu' | 'relu' | 'sigmoid' | 'linear'): Tensor4D {
  const strides: [number, number] = [l.stride, l.stride];
  const act = activation === 'prelu' && !l.prelu ? 'linear' : activation;
  if (l.depthwise) {
    return tf.fused.depthwiseConv2d({
      x,
      filter: l.filter,
      strides,
      pad: l.pad,
      bias: l.bias,
      activation: act,
      preluActivationWeights: act === 'prelu' ? (l.prelu ?? undefined) : undefined,
    });
  }
  return tf.fused.conv2d({
    x,
    filter: l.filter,
    strides,
    pad: l.pad,
    bias: l.bias,
    activation: act,
    preluActivationWeights: act === 'prelu' ? (l.prelu ?? undefined) : undefined,
  });
}

function runBottleneck(tf: Tf, x: Tensor4D, b: Bottleneck): Tensor4D {
  let y = runConv(tf, x, b.expand, 'prelu');
  y = runConv(tf, y, b.dw, 'prelu');
  y = runConv(tf, y, b.project, 'linear');
  if (b.se) {
    const pooled = tf.mean(y, [1, 2], true) as Tensor4D;
    const s1 = runConv(tf, pooled, b.se.fc1, 'relu');
    const s2 = runConv(tf, s1, b.se.fc2, 'sigmoid');
    y = tf.mul(y, s2);
  }
  return b.residual ? tf.add(x, y) : y;
}

export async function loadMiniFasNet(tf: Tf, file: string, variant: 'v2' | 'v1se'): Promise<MiniFasNet> {
  const bytes = await readFile(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { tensors: t } = parseSafetensors(bytes);

  const all: { dispose(): void }[] = [];
  const track = <T extends ConvLayer>(l: T): T => {
    all.push(l.filter, l.bias);
    if (l.prelu) all.push(l.prelu);
    return l;
  };
  const trackB = (b: Bottleneck): Bottleneck => {
    track(b.expand);
    track(b.dw);
    track(b.project);
    if (b.se) {
      track(b.se.fc1);
      track(b.se.fc2);
    }
    return b;
  };

  const conv1 = track(buildConv(tf, t, 'conv1.conv.weight', 'conv1.bn', 'conv1.prelu.weight', 2, 3));
  const conv2 = track(
    buildConv(tf, t, 'conv2_dw.conv.weight', 'conv2_dw.bn', 'conv2_dw.prelu.weight', 1, outChannels(conv1)),
  );
  const stages: Bottleneck[] = [];
  let c = outChannels(conv2);
  const addB = (prefix: string, stride: number, residual: boolean) => {
    const b = trackB(buildBottleneck(tf, t, prefix, c, stride, residual));
    stages.push(b);
    c = outChannels(b.project);
  };
  const countBlocks = (stage: string): number => {
    let n = 0;
    while (t.has(`${stage}.model.${n}.conv.conv.weight`)) n++;
    if (n === 0) throw new Error(`MiniFASNet weights: no blocks in ${stage}`);
    return n;
  };
  addB('conv_23', 2, false);
  for (let i = 0, n = countBlocks('conv_3'); i < n; i++) addB(`conv_3.model.${i}`, 1, true);
  addB('conv_34', 2, false);
  for (let i = 0, n = countBlocks('conv_4'); i < n; i++) addB(`conv_4.model.${i}`, 1, true);
  addB('conv_45', 2, false);
  for (let i = 0, n = countBlocks('conv_5'); i < n; i++) addB(`conv_5.model.${i}`, 1, true);
  const sep = track(buildConv(tf, t, 'conv_6_sep.conv.weight', 'conv_6_sep.bn', 'conv_6_sep.prelu.weight', 1, c));
  const dw6 = track(buildConv(tf, t, 'conv_6_dw.conv.weight', 'conv_6_dw.bn', null, 1, outChannels(sep)));
  if (!dw6.depthwise || dw6.filter.shape[0] !== 5)
    throw new Error('MiniFASNet weights: conv_6_dw must be a 5x5 depthwise conv');

  // linear (no bias) + BatchNorm1d folded: W' = W * mul (per output), b' = add; then prob (no bias)
  const lin = get(t, 'linear.weight');
  const [embed, feat] = lin.shape as [number, number];
  const { mul, add } = bnFold(t, 'bn');
  const linW = new Float32Array(feat * embed);
  for (let o = 0; o < embed; o++) {
    for (let i = 0; i < feat; i++) linW[i * embed + o] = (lin.data[o * feat + i] ?? 0) * (mul[o] ?? 0);
  }
  const linearW = tf.tensor2d(linW, [feat, embed]);
  const linearB = tf.tensor1d(add);
  const prob = get(t, 'prob.weight');
  const [classes, embed2] = prob.shape as [number, number];
  if (embed2 !== embed) throw new Error('MiniFASNet weights: prob/linear shape mismatch');
  const probW = tf.transpose(tf.tensor2d(prob.data, [classes, embed])) as Tensor2D;
  all.push(linearW, linearB, probW);

  const forward = (x: Tensor4D): Tensor2D =>
    tf.tidy(() => {
      let y = runConv(tf, x, conv1, 'prelu');
      y = runConv(tf, y, conv2, 'prelu');
      for (const b of stages) y = runBottleneck(tf, y, b);
      y = runConv(tf, y, sep, 'prelu');
      y = runConv(tf, y, dw6, 'linear');
      const flat = tf.reshape(y, [y.shape[0], feat]) as Tensor2D;
      const emb = tf.add(tf.matMul(flat, linearW), linearB) as Tensor2D;
      return tf.softmax(tf.matMul(emb, probW)) as Tensor2D;
    });

  return {
    variant,
    scale: variant === 'v2' ? 2.7 : 4.0,
    sha256,
    async predict(input: Tensor4D) {
      if (input.shape[1] !== 80 || input.shape[2] !== 80 || input.shape[3] !== 3) {
        throw new Error(`MiniFASNet expects [n,80,80,3], got [${input.shape.join(',')}]`);
      }
      const out = forward(input);
      try {
        return (await out.array()) as number[][];
      } finally {
        out.dispose();
      }
    },
    dispose() {
      for (const d of all) d.dispose();
      all.length = 0;
    },
  };
}
