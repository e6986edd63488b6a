import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORIES_DIR } from '../shared';
import { SAE_DIR, writeNarrowSae, writeUnknownHookSae } from './analyses-helpers';
import { lexicon } from './cli-helpers';
import { makeTempDir } from './sae-helpers';

/** "Once upon a time" with BOS */
const PROMPT = ['--token-ids', '1,403,407,261,378'];

/** One invocation of every analysis command, without the model and SAE directories. */
const COMMANDS: Record<string, string[]> = {
  activations: ['activations', ...PROMPT, '--features', '84,8', '--top-k', '3'],
  'logit-weights': ['logit-weights', '--feature', '84', '--k', '4'],
  ablate: ['ablate', ...PROMPT, '--feature', '8', '--top', '3'],
  steer: ['steer', ...PROMPT, '--feature', '84', '--coefficients', '-10:10:21', '--target-token', ' One', '--top', '2'],
  'feature-stats': ['feature-stats', '--features', '84,8,0'],
};

async function json(saeDir: string, ...args: string[]): Promise<any> {
  const { code, stdout, stderr } = await lexicon(...args, '--model', STORIES_DIR, '--sae', saeDir, '--json');
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout);
}

let tmp: string;
beforeAll(async () => {
  tmp = await makeTempDir('analyses-cli');
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('analysis commands print one JSON object with --json', () => {
  it('activations: tokens, pieces, listed features, top features per token, and the composed probe', async () => {
    const [plain, composed] = await Promise.all([
      json(SAE_DIR, ...COMMANDS.activations),
      json(SAE_DIR, ...COMMANDS.activations, '--compose', 'mean'),
    ]);
    expect(Object.keys(plain)).toEqual(['tokens', 'pieces', 'features', 'top']);
    expect(plain.tokens).toEqual([1, 403, 407, 261, 378]);
    expect(plain.pieces).toEqual(['\n<s>\n', ' Once', ' upon', ' a', ' time']);
    expect(Object.keys(plain.features)).toEqual(['8', '84']);
    expect(plain.features['84']).toHaveLength(5);
    expect(plain.top).toHaveLength(5);
    expect(Object.keys(plain.top[0][0])).toEqual(['feature', 'act']);
    expect(plain.top[0].length).toBeLessThanOrEqual(3);
    expect(Object.keys(composed.composed)).toEqual(['features', 'compose', 'pre', 'act']);
    expect(composed.composed).toMatchObject({ features: [84, 8], compose: 'mean' });
    expect(composed.composed.act).toHaveLength(5);
  });

  it('logit-weights: top and bottom tokens, of a feature or of a composed direction, folded unless --no-fold-ln', async () => {
    const [single, composed, raw] = await Promise.all([
      json(SAE_DIR, ...COMMANDS['logit-weights']),
      json(SAE_DIR, 'logit-weights', '--features', '84,8', '--compose', 'sum', '--k', '4'),
      json(SAE_DIR, ...COMMANDS['logit-weights'], '--no-fold-ln'),
    ]);
    for (const result of [single, composed, raw]) {
      expect(Object.keys(result)).toEqual(['foldLn', 'top', 'bottom']);
      expect(result.top).toHaveLength(4);
      expect(result.bottom).toHaveLength(4);
      expect(Object.keys(result.top[0])).toEqual(['id', 'piece', 'value']);
    }
    // tests/reference/stories260K-folded-logit-weights.json: feature 84's top two tokens, folded and raw
    expect([single.foldLn, raw.foldLn]).toEqual([true, false]);
    expect(single.top.slice(0, 2).map((t: { id: number }) => t.id)).toEqual([385, 338]);
    expect(raw.top.slice(0, 2).map((t: { id: number }) => t.id)).toEqual([385, 321]);
    expect(raw.top[0].piece).toBe(' One');
    expect(composed.top).not.toEqual(single.top);
  });

  it('ablate: per-position losses and KL, and the most decreased last-position logits', async () => {
    const result = await json(SAE_DIR, ...COMMANDS.ablate);
    expect(Object.keys(result)).toEqual(['tokens', 'acts', 'lossClean', 'lossAblated', 'logitDeltas', 'kl']);
    expect(result.lossClean).toHaveLength(4);
    expect(result.lossAblated).toHaveLength(4);
    expect(result.kl).toHaveLength(5);
    expect(result.logitDeltas).toHaveLength(3);
    expect(Object.keys(result.logitDeltas[0])).toEqual(['id', 'piece', 'delta']);
    expect(result.logitDeltas[0].delta).toBeLessThan(0);
  });

  it('steer: one result per coefficient of the scan, with the target token given by its piece', async () => {
    const result = await json(SAE_DIR, ...COMMANDS.steer);
    expect(Object.keys(result)).toEqual(['tokens', 'target', 'coefficients', 'results']);
    expect(result.target).toEqual({ id: 385, piece: ' One' });
    expect(result.coefficients).toEqual(Array.from({ length: 21 }, (_, i) => i - 10));
    expect(result.results).toHaveLength(21);
    expect(Object.keys(result.results[0])).toEqual(['coefficient', 'loss', 'top', 'targetLogit']);
    expect(Object.keys(result.results[0].top[0])).toEqual(['id', 'piece', 'prob']);
    expect(result.results[20].targetLogit).toBeGreaterThan(result.results[0].targetLogit);
  });

  it('steer --generate: the default and the steered continuation, each token with its top log-probs; scan options refused', async () => {
    const args = ['steer', '--generate', ...PROMPT, '--feature', '8', '--strength', '20', '--max-tokens', '6', '--temperature', '0', '--top', '3'];
    const [result, stray] = await Promise.all([
      json(SAE_DIR, ...args),
      lexicon(...args, '--coefficients', '-4:4:5', '--model', STORIES_DIR, '--sae', SAE_DIR),
    ]);
    expect(Object.keys(result)).toEqual(['tokens', 'steeringNorm', 'default', 'steered']);
    expect(result.tokens).toEqual([1, 403, 407, 261, 378]);
    for (const c of [result.default, result.steered]) {
      expect(Object.keys(c)).toEqual(['tokens', 'pieces', 'logprobs', 'top', 'stop']);
      expect(c.tokens).toHaveLength(6);
      expect(c.top[0]).toHaveLength(3);
      // greedy: each token is the likeliest
      expect(c.tokens).toEqual(c.top.map((top: { id: number }[]) => top[0]!.id));
    }
    expect(result.steered.tokens).not.toEqual(result.default.tokens);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('--coefficients is for a coefficient scan, not --generate');
  });

  it('negative option values as written: --coefficients -4:4:5, --value -3', async () => {
    const [steer, clamped] = await Promise.all([
      json(SAE_DIR, 'steer', ...PROMPT, '--feature', '84', '--coefficients', '-4:4:5'),
      json(SAE_DIR, 'ablate', ...PROMPT, '--feature', '8', '--mode', 'clamp', '--value', '-3'),
    ]);
    expect(steer.coefficients).toEqual([-4, -2, 0, 2, 4]);
    expect(steer.results.map((r: { coefficient: number }) => r.coefficient)).toEqual([-4, -2, 0, 2, 4]);
    // clamped to -3, the feature's contribution is -3·W_dec[8] at every position: the loss moves
    expect(clamped.lossAblated).not.toEqual(clamped.lossClean);
  });

  it('feature-stats: one entry per feature asked for', async () => {
    const result = await json(SAE_DIR, ...COMMANDS['feature-stats']);
    expect(Object.keys(result)).toEqual(['features']);
    expect(result.features.map((s: { feature: number }) => s.feature)).toEqual([84, 8, 0]);
    expect(Object.keys(result.features[0])).toEqual(['feature', 'encoderBias', 'encoderNorm', 'decoderNorm', 'deDot', 'deCos']);
  });
});

describe('analysis commands exit 1 with a clear message for bad input', () => {
  const failures = async (saeDir: string, edit: (args: string[]) => string[] = (args) => args) =>
    Promise.all(Object.entries(COMMANDS).map(async ([name, args]) => ({ name, ...(await lexicon(...edit(args), '--model', STORIES_DIR, '--sae', saeDir, '--json')) })));

  const expectFailure = (results: { name: string; code: number; stdout: string; stderr: string }[], message: string) => {
    for (const { name, code, stdout, stderr } of results) {
      expect(code, `${name}: ${stderr}`).toBe(1);
      expect(stdout, name).toBe('');
      expect(stderr, name).toContain(`lexicon: ${message}`);
      expect(stderr, name).not.toMatch(/\n\s+at /);
    }
  };

  it('an SAE on a hook the model does not have', async () => {
    const dir = await writeUnknownHookSae(path.join(tmp, 'unknown-hook'));
    expectFailure(await failures(dir), 'SAE hook "blocks.9.hook_resid_post" (cfg.json hook_name) does not exist in this model');
  });

  it("an SAE whose d_in is not the hook's width", async () => {
    const dir = await writeNarrowSae(path.join(tmp, 'narrow'));
    expectFailure(await failures(dir), 'SAE d_in = 32 does not match the width of "blocks.2.hook_resid_post" in this model (d_model = 64)');
  });

  it('a feature out of range', async () => {
    const replaced: Record<string, string> = { '84': '256', '8': '256', '84,8': '84,256', '84,8,0': '84,256' };
    const outOfRange = (args: string[]) => args.map((arg, i) => (args[i - 1]?.startsWith('--feature') ? replaced[arg] : arg));
    expectFailure(await failures(SAE_DIR, outOfRange), 'feature 256 is out of range: this SAE has features 0..255');
  });

  it('an unknown target token and an empty prompt', async () => {
    const [target, empty] = await Promise.all([
      lexicon(...COMMANDS.steer.map((arg) => (arg === ' One' ? 'no-such-piece' : arg)), '--model', STORIES_DIR, '--sae', SAE_DIR),
      lexicon('activations', '--text', '', '--model', STORIES_DIR, '--sae', SAE_DIR),
    ]);
    expectFailure([{ name: 'steer', ...target }], `no token's piece is "no-such-piece"; give the token id instead`);
    expectFailure([{ name: 'activations', ...empty }], 'the prompt is empty');
  });

  it('and exit 2 for a malformed command line', async () => {
    const { code, stderr } = await lexicon('logit-weights', '--model', STORIES_DIR, '--sae', SAE_DIR, '--features', '3,17');
    expect(code).toBe(2);
    expect(stderr).toContain('--features needs --compose mean|sum to combine them into one direction');
  });
});
