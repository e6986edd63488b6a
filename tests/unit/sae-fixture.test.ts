import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/compute/backend';
import { importCheck, saeEvalStats } from '@/compute/sae/import-check';
import { loadSae } from '@/compute/sae/load';
import { StandardSae, type Sae } from '@/compute/sae/sae';
import { FIXTURES_DIR } from '../shared';
import { makeTempDir } from './sae-helpers';
import { close, mismatch } from './sae-reference';

/** The reference fixture: a trained standard SAE on stories260K, blocks.2.hook_resid_post (fixtures/README.md §2). */
const SAE_DIR = path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard');

interface FixtureSequence {
  name: string;
  n_tokens: number;
  hook_in: number[][];
  per_token: { l0: number[]; sq_err: number[]; top5: [number, number][][] };
  feature_acts: Record<string, number[]>;
  reconstruction_last: number[];
  /** [position, feature, pre, kind]: decisions a float32 implementation may take either way */
  near_boundary: [number, number, number, string][];
}

interface Fixture {
  chosen_features: number[];
  sequences: FixtureSequence[];
}

let fixture: Fixture;
let sae: Sae;
let tmp: string;

beforeAll(async () => {
  await initBackend();
  fixture = JSON.parse(await fs.readFile(path.join(SAE_DIR, 'expected.json'), 'utf8'));
  sae = await loadSae(SAE_DIR);
  tmp = await makeTempDir('sae-fixture');
});
afterAll(async () => {
  sae.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('fixture sae-stories260K-l2-standard', () => {
  it('loads as a standard SAE with the cfg.json values', () => {
    expect(sae).toBeInstanceOf(StandardSae);
    expect(sae.cfg).toMatchObject({
      architecture: 'standard', dIn: 64, dSae: 256, applyBDecToInput: true, normalizeActivations: 'none',
      hookName: 'blocks.2.hook_resid_post', hookLayer: 2, prependBos: true, contextSize: 256, modelName: 'stories260K',
      datasetPath: 'stories260K samples', format: 'saelens-6',
    });
    expect(sae.weights.W_enc.shape).toEqual([64, 256]);
    expect(sae.logSparsity).toBeUndefined();
  });

  it('matches l0, sq_err, top5, chosen feature activations and the last reconstruction on every sequence', () => {
    for (const seq of fixture.sequences) {
      const x = tf.tensor2d(seq.hook_in);
      const { acts, reconstruction } = sae.forward(x);
      const actRows = acts.arraySync();
      const reconRows = reconstruction.arraySync();
      tf.dispose([x, acts, reconstruction]);

      for (let t = 0; t < seq.n_tokens; t++) {
        const where = `${seq.name} position ${t}`;
        const undecided = new Set(seq.near_boundary.filter(([pos]) => pos === t).map(([, feature]) => feature));
        const active = actRows[t].flatMap((a, f) => (a > 0 ? [f] : []));
        // l0 may differ only by features whose pre-activation is within 1e-4 of the relu boundary
        expect(Math.abs(active.length - seq.per_token.l0[t]), where).toBeLessThanOrEqual(undecided.size);

        const sqErr = seq.hook_in[t].reduce((sum, v, d) => sum + (v - reconRows[t][d]) ** 2, 0);
        expect(close(sqErr, seq.per_token.sq_err[t]), `${where}: sq_err ${sqErr} vs ${seq.per_token.sq_err[t]}`).toBe(true);

        // top5: descending, ties to the lower index; compared by value, and each expected feature's activation checked
        const top5 = active
          .map((f) => [f, actRows[t][f]] as const)
          .sort((a, b) => b[1] - a[1] || a[0] - b[0])
          .slice(0, 5);
        const expectedTop5 = seq.per_token.top5[t];
        if (undecided.size === 0) expect(top5.length, where).toBe(expectedTop5.length);
        for (const [f, value] of expectedTop5) {
          expect(close(actRows[t][f], value), `${where}: feature ${f} act ${actRows[t][f]} vs ${value}`).toBe(true);
        }
        expect(mismatch(top5.map(([, v]) => v), expectedTop5.map(([, v]) => v).slice(0, top5.length), `${where} top5 values`)).toBe('');
      }

      for (const feature of fixture.chosen_features) {
        const ours = actRows.map((row) => row[feature]);
        expect(mismatch(ours, seq.feature_acts[String(feature)], `${seq.name} feature ${feature} acts`)).toBe('');
      }
      expect(mismatch(reconRows[seq.n_tokens - 1], seq.reconstruction_last, `${seq.name} reconstruction_last`)).toBe('');
    }
  });
});

describe('import check', () => {
  /** every fixture token's hook activation, [121, 64] */
  const allHookIn = () => tf.tensor2d(fixture.sequences.flatMap((s) => s.hook_in));

  it('saeEvalStats agrees with the fixture per-token numbers', () => {
    const X = allHookIn();
    const stats = saeEvalStats(X, sae);
    X.dispose();
    const seqs = fixture.sequences;
    const n = seqs.reduce((a, s) => a + s.n_tokens, 0);
    const sqErr = seqs.reduce((a, s) => a + s.per_token.sq_err.reduce((x, y) => x + y, 0), 0);
    const l0 = seqs.reduce((a, s) => a + s.per_token.l0.reduce((x, y) => x + y, 0), 0) / n;
    expect(stats.nTokens).toBe(n);
    expect(close(stats.mse, sqErr / (n * 64))).toBe(true);
    expect(close(stats.l0, l0)).toBe(true);
  });

  it('finds the SAE good as configured, worse with apply_b_dec_to_input flipped, and does not warn', () => {
    const X = allHookIn();
    const before = tf.memory().numTensors;
    const result = importCheck(X, sae);
    expect(tf.memory().numTensors).toBe(before);
    X.dispose();
    expect(result.asGiven.varianceExplained).toBeGreaterThan(0.75);
    expect(result.flipped!.varianceExplained).toBeLessThan(result.asGiven.varianceExplained);
    expect(result.flipped!.mse).toBeGreaterThan(result.asGiven.mse);
    expect(result.warnings).toEqual([]);
  });

  it('warns loudly when cfg.json has apply_b_dec_to_input wrong', async () => {
    const dir = path.join(tmp, 'flipped-cfg');
    await fs.mkdir(dir);
    const cfg = JSON.parse(await fs.readFile(path.join(SAE_DIR, 'cfg.json'), 'utf8'));
    await fs.writeFile(path.join(dir, 'cfg.json'), JSON.stringify({ ...cfg, apply_b_dec_to_input: false }));
    await fs.copyFile(path.join(SAE_DIR, 'sae_weights.safetensors'), path.join(dir, 'sae_weights.safetensors'));
    const wrong = await loadSae(dir);

    const X = allHookIn();
    const result = importCheck(X, wrong);
    X.dispose();
    wrong.dispose();
    expect(result.flipped!.varianceExplained).toBeGreaterThan(result.asGiven.varianceExplained);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(/^apply_b_dec_to_input looks wrong: cfg.json says false, but with true the SAE reconstructs better/);
  });
});
