import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeSafetensors } from '@/compute/weights/safetensors';
import { FIXTURES_DIR } from '../shared';
import { gaussian, seededRandom } from './sae-helpers';

/** The reference SAE: standard, on stories260K at blocks.2.hook_resid_post (fixtures/README.md §2). */
export const SAE_DIR = path.join(FIXTURES_DIR, 'sae-stories260K-l2-standard');

export interface FixtureSequence {
  name: string;
  ids: number[];
  n_tokens: number;
  hook_in: number[][];
  per_token: { l0: number[]; top5: [number, number][][] };
  feature_acts: Record<string, number[]>;
  /** [position, feature, pre, kind]: decisions a float32 implementation may take either way */
  near_boundary: [number, number, number, string][];
}

export interface SaeFixture {
  chosen_features: number[];
  sequences: FixtureSequence[];
  logit_weights: Record<string, { top10: [number, number][]; bottom10: [number, number][] }>;
  ablation: {
    feature: number;
    sequences: {
      name: string;
      feature_fires_at: number[];
      clean_loss: number[];
      ablated_loss: number[];
      last_position_most_decreased_logits: [number, number][];
    }[];
  };
}

export async function readSaeFixture(): Promise<SaeFixture> {
  return JSON.parse(await fs.readFile(path.join(SAE_DIR, 'expected.json'), 'utf8'));
}

/** A copy of the reference SAE whose cfg.json names a hook stories260K does not have. */
export async function writeUnknownHookSae(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const cfg = JSON.parse(await fs.readFile(path.join(SAE_DIR, 'cfg.json'), 'utf8'));
  cfg.metadata.hook_name = 'blocks.9.hook_resid_post';
  await fs.writeFile(path.join(dir, 'cfg.json'), JSON.stringify(cfg));
  await fs.copyFile(path.join(SAE_DIR, 'sae_weights.safetensors'), path.join(dir, 'sae_weights.safetensors'));
  return dir;
}

/** A well-formed SAE at the reference SAE's hook but with d_in 32, half of stories260K's d_model. */
export async function writeNarrowSae(dir: string): Promise<string> {
  await fs.mkdir(dir, { recursive: true });
  const [dIn, dSae] = [32, 16];
  const cfg = JSON.parse(await fs.readFile(path.join(SAE_DIR, 'cfg.json'), 'utf8'));
  await fs.writeFile(path.join(dir, 'cfg.json'), JSON.stringify({ ...cfg, d_in: dIn, d_sae: dSae }));
  const random = seededRandom(7);
  await writeSafetensors(path.join(dir, 'sae_weights.safetensors'), {
    W_enc: { shape: [dIn, dSae], data: gaussian(random, dIn * dSae) },
    W_dec: { shape: [dSae, dIn], data: gaussian(random, dSae * dIn) },
    b_enc: { shape: [dSae], data: new Float32Array(dSae) },
    b_dec: { shape: [dIn], data: new Float32Array(dIn) },
  });
  return dir;
}
