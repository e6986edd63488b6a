/**
 * An independent plain-JavaScript (float64) SAE forward pass, written from the SAELens definitions, to check the
 * TensorFlow.js classes against. Matrices are row-major Float32Arrays as stored on disk.
 */

export interface ReferenceSpec {
  architecture: 'standard' | 'topk' | 'jumprelu' | 'gated';
  dIn: number;
  dSae: number;
  applyBDecToInput: boolean;
  normalize?: 'none' | 'constant_norm_rescale' | 'layer_norm' | 'expected_average_only_in';
  /** expected_average_only_in: input multiplied by it, reconstruction divided by it */
  normScalingFactor?: number;
  k?: number;
  rescaleActsByDecoderNorm?: boolean;
  tensors: Record<string, Float32Array>;
}

export function referenceForward(spec: ReferenceSpec, x: number[]): { acts: number[]; reconstruction: number[] } {
  const { dIn, dSae, tensors: w } = spec;
  const W_enc = w.W_enc;
  const W_dec = w.W_dec;
  const b_dec = w.b_dec;

  // input normalisation
  let input = [...x];
  let undo = (v: number[]) => v;
  if (spec.normalize === 'constant_norm_rescale') {
    const c = Math.sqrt(dIn) / Math.hypot(...x);
    input = x.map((v) => v * c);
    undo = (v) => v.map((u) => u / c);
  } else if (spec.normalize === 'layer_norm') {
    const mu = x.reduce((a, b) => a + b, 0) / dIn;
    const std = Math.sqrt(x.reduce((a, b) => a + (b - mu) ** 2, 0) / (dIn - 1));
    input = x.map((v) => (v - mu) / (std + 1e-5));
    undo = (v) => v.map((u) => u * std + mu);
  } else if (spec.normalize === 'expected_average_only_in') {
    const s = spec.normScalingFactor!;
    input = x.map((v) => v * s);
    undo = (v) => v.map((u) => u / s);
  }
  if (spec.applyBDecToInput) input = input.map((v, i) => v - b_dec[i]);

  const project = (j: number) => {
    let sum = 0;
    for (let i = 0; i < dIn; i++) sum += input[i] * W_enc[i * dSae + j];
    return sum;
  };
  const decoderNorm = (j: number) => {
    let sum = 0;
    for (let i = 0; i < dIn; i++) sum += W_dec[j * dIn + i] ** 2;
    return Math.sqrt(sum);
  };

  const acts = new Array<number>(dSae).fill(0);
  if (spec.architecture === 'gated') {
    for (let j = 0; j < dSae; j++) {
      const p = project(j);
      const on = p + w.b_gate[j] > 0;
      const magnitude = Math.max(0, p * Math.exp(w.r_mag[j]) + w.b_mag[j]);
      acts[j] = on ? magnitude : 0;
    }
  } else {
    const pre = Array.from({ length: dSae }, (_, j) => project(j) + w.b_enc[j]);
    if (spec.architecture === 'standard') {
      pre.forEach((p, j) => (acts[j] = Math.max(0, p)));
    } else if (spec.architecture === 'jumprelu') {
      pre.forEach((p, j) => (acts[j] = p > w.threshold[j] ? Math.max(0, p) : 0));
    } else {
      const ranked = pre.map((p, j) => (spec.rescaleActsByDecoderNorm ? p * decoderNorm(j) : p));
      const order = ranked.map((_, j) => j).sort((a, b) => ranked[b] - ranked[a]);
      for (const j of order.slice(0, spec.k)) acts[j] = Math.max(0, ranked[j]);
    }
  }

  const out = [...b_dec];
  for (let j = 0; j < dSae; j++) {
    if (acts[j] === 0) continue;
    let a = acts[j];
    if (spec.rescaleActsByDecoderNorm) a /= decoderNorm(j);
    if (w.scaling_factor) a *= w.scaling_factor[j];
    for (let i = 0; i < dIn; i++) out[i] += a * W_dec[j * dIn + i];
  }
  return { acts, reconstruction: undo(out) };
}

/** |a − b| ≤ 1e-4 + 1e-4·|b|, the fixtures' tolerance */
export function close(a: number, b: number, atol = 1e-4, rtol = 1e-4): boolean {
  return Math.abs(a - b) <= atol + rtol * Math.abs(b);
}

/** Every element close, else a message naming the first mismatch (for expect(...).toBe('')). */
export function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-4, rtol = 1e-4): string {
  if (actual.length !== expected.length) return `${what}: length ${actual.length} vs ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    if (!close(actual[i], expected[i], atol, rtol)) return `${what}[${i}]: ${actual[i]} vs expected ${expected[i]}`;
  }
  return '';
}
