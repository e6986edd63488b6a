/**
 * SAELens pretrained releases (`--release gpt2-small-res-jb --sae-id blocks.8.hook_resid_pre`): where each SAE lives
 * on the Hugging Face Hub. Taken from SAELens `sae_lens/pretrained_saes.yaml`: the releases stored as SAELens
 * directories (no `conversion_func`), and Gemma Scope (`conversion_func: gemma_2`, one params.npz per SAE). `cfg`
 * holds what the yaml adds to a cfg.json that changes what the SAE computes (`config_overrides.normalize_activations`,
 * an SAE's `norm_scaling_factor`; not the dataset names): SAELens applies it on load, Lexicon writes it into the
 * downloaded cfg.json. For Gemma Scope, which has no cfg.json, `cfg` is the whole of it but d_in and d_sae, which are
 * read from params.npz (compute/sae/gemma-scope.ts).
 */
import { InputError } from '../errors';

export type ReleaseSae =
  | { layout: 'saelens'; repoId: string; /** the SAE's folder in the repository */ path: string; cfg: Record<string, unknown> }
  | {
      layout: 'gemma-scope';
      repoId: string;
      /** `layer_L/width_W/average_l0_K`; for a canonical SAE, the width folder `layer_L/width_W`, whose average_l0_K is chosen on the Hub */
      path: string;
      canonical: boolean;
      /** d_sae as the folder name gives it (width_16k → 16384) */
      width: number;
      cfg: Record<string, unknown>;
    };

interface Release {
  repoId: string;
  /** the model the release was trained on (TransformerLens name) */
  model: string;
  cfg?: Record<string, unknown>;
  /** sae id → folder, and that SAE's own cfg additions */
  saes: Record<string, { path: string; cfg?: Record<string, unknown> }>;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sameName = (ids: string[]) => Object.fromEntries(ids.map((id) => [id, { path: id }]));
/** the OpenAI v5 SAEs of GPT-2 small, one folder per layer */
const openAiV5 = (repoId: string, hook: string, width: '32k' | '128k'): Release => ({
  repoId,
  model: 'gpt2-small',
  saes: Object.fromEntries(range(12).map((l) => [`blocks.${l}.${hook}`, { path: `v5_${width}_layer_${l}` }])),
});
const MLP_TM_NORM_SCALING = [
  1.049317316132615, 2.3693984005104283, 1.6411934982190302, 1.8958522157897557, 1.81673478700627, 1.550234472245924,
  1.3237742807210804, 1.1042905114723296, 0.9123762783479742, 0.6955335635232373, 0.3619728926727644, 0.2851548652550073,
];
const MLP_TM_VERSION: Record<number, string> = { 0: 'v1', 8: 'v1', 11: 'v2' };

export const RELEASES: Record<string, Release> = {
  'gpt2-small-res-jb': {
    repoId: 'jbloom/GPT2-Small-SAEs-Reformatted',
    model: 'gpt2-small',
    saes: sameName([...range(12).map((l) => `blocks.${l}.hook_resid_pre`), 'blocks.11.hook_resid_post']),
  },
  'gpt2-small-res-jb-feature-splitting': {
    repoId: 'jbloom/GPT2-Small-Feature-Splitting-Experiment-Layer-8',
    model: 'gpt2-small',
    saes: sameName([768, 1536, 3072, 6144, 12288, 24576, 49152, 98304].map((w) => `blocks.8.hook_resid_pre_${w}`)),
  },
  'gpt2-small-mlp-tm': {
    repoId: 'tommmcgrath/gpt2-small-mlp-out-saes',
    model: 'gpt2-small',
    saes: Object.fromEntries(
      range(12).map((l) => [
        `blocks.${l}.hook_mlp_out`,
        { path: `sae_group_gpt2_blocks.${l}.hook_mlp_out_24576:${MLP_TM_VERSION[l] ?? 'v0'}`, cfg: { norm_scaling_factor: MLP_TM_NORM_SCALING[l] } },
      ]),
    ),
  },
  'gpt2-small-resid-post-v5-128k': openAiV5('jbloom/GPT2-Small-OAI-v5-128k-resid-post-SAEs', 'hook_resid_post', '128k'),
  'gpt2-small-resid-mid-v5-32k': openAiV5('jbloom/GPT2-Small-OAI-v5-32k-resid-mid-SAEs', 'hook_resid_mid', '32k'),
  'gpt2-small-resid-mid-v5-128k': openAiV5('jbloom/GPT2-Small-OAI-v5-128k-resid-mid-SAEs', 'hook_resid_mid', '128k'),
  'gpt2-small-mlp-out-v5-32k': openAiV5('jbloom/GPT2-Small-OAI-v5-32k-mlp-out-SAEs', 'hook_mlp_out', '32k'),
  'gpt2-small-mlp-out-v5-128k': openAiV5('jbloom/GPT2-Small-OAI-v5-128k-mlp-out-SAEs', 'hook_mlp_out', '128k'),
  'gpt2-small-attn-out-v5-32k': openAiV5('jbloom/GPT2-Small-OAI-v5-32k-attn-out-SAEs', 'hook_attn_out', '32k'),
  'gpt2-small-attn-out-v5-128k': openAiV5('jbloom/GPT2-Small-OAI-v5-128k-attn-out-SAEs', 'hook_attn_out', '128k'),
  'gemma-2b-res-jb': {
    repoId: 'jbloom/Gemma-2b-Residual-Stream-SAEs',
    model: 'gemma-2b',
    saes: {
      'blocks.0.hook_resid_post': { path: 'gemma_2b_blocks.0.hook_resid_post_16384_anthropic' },
      'blocks.6.hook_resid_post': { path: 'gemma_2b_blocks.6.hook_resid_post_16384_anthropic_fast_lr' },
      'blocks.10.hook_resid_post': { path: 'gemma_2b_blocks.10.hook_resid_post_16384' },
      'blocks.12.hook_resid_post': { path: 'gemma_2b_blocks.12.hook_resid_post_16384', cfg: { norm_scaling_factor: 0.21381938399317255 } },
      'blocks.17.hook_resid_post': { path: 'gemma_2b_blocks.17.hook_resid_post_16384' },
    },
  },
  'gemma-2b-it-res-jb': {
    repoId: 'jbloom/Gemma-2b-IT-Residual-Stream-SAEs',
    model: 'gemma-2b-it',
    saes: { 'blocks.12.hook_resid_post': { path: 'gemma_2b_it_blocks.12.hook_resid_post_16384' } },
  },
  'mistral-7b-res-wg': {
    repoId: 'JoshEngels/Mistral-7B-Residual-Stream-SAEs',
    model: 'mistral-7b',
    cfg: { normalize_activations: 'constant_norm_rescale' },
    saes: Object.fromEntries([8, 16, 24].map((l) => [`blocks.${l}.hook_resid_pre`, { path: `mistral_7b_layer_${l}` }])),
  },
};

/**
 * Gemma Scope (google/gemma-scope-2b-pt-{res,mlp,att}): one JumpReLU SAE per `layer_L/width_W/average_l0_K/params.npz`,
 * configured as SAELens's `get_gemma_2_config_from_hf` does. Its `-canonical` releases name `layer_L/width_W/canonical`,
 * the SAE of that layer and width whose average L0 is closest to 100 (the Gemma Scope report's definition; the yaml
 * lists the same folders).
 */
interface GemmaScopeRelease {
  repoId: string;
  model: string;
  layers: number;
  hook: (layer: number) => string;
  canonical: boolean;
}

const GEMMA_SCOPE_HOOKS = {
  res: (l: number) => `blocks.${l}.hook_resid_post`,
  mlp: (l: number) => `blocks.${l}.hook_mlp_out`,
  att: (l: number) => `blocks.${l}.attn.hook_z`,
};

const GEMMA_SCOPE: Record<string, GemmaScopeRelease> = Object.fromEntries(
  (Object.keys(GEMMA_SCOPE_HOOKS) as (keyof typeof GEMMA_SCOPE_HOOKS)[]).flatMap((kind) =>
    [false, true].map((canonical) => [
      `gemma-scope-2b-pt-${kind}${canonical ? '-canonical' : ''}`,
      { repoId: `google/gemma-scope-2b-pt-${kind}`, model: 'gemma-2-2b', layers: 26, hook: GEMMA_SCOPE_HOOKS[kind], canonical },
    ]),
  ),
);

const GEMMA_SCOPE_ID = /^layer_(\d+)\/width_(\w+)\/(canonical|average_l0_\d+)$/;
/** the folder names' widths, powers of two (SAELens's width_map) */
const GEMMA_SCOPE_WIDTHS: Record<string, number> = {
  '4k': 2 ** 12, '16k': 2 ** 14, '32k': 2 ** 15, '65k': 2 ** 16, '131k': 2 ** 17, '262k': 2 ** 18, '524k': 2 ** 19, '1m': 2 ** 20,
};

function resolveGemmaScope(release: string, entry: GemmaScopeRelease, saeId: string): ReleaseSae {
  const match = GEMMA_SCOPE_ID.exec(saeId);
  const form = entry.canonical ? 'layer_L/width_W/canonical (e.g. layer_12/width_16k/canonical)' : 'layer_L/width_W/average_l0_K (e.g. layer_12/width_16k/average_l0_82)';
  if (!match || !Object.hasOwn(GEMMA_SCOPE_WIDTHS, match[2]!) || (match[3] === 'canonical') !== entry.canonical) {
    throw new InputError(
      `release "${release}" has no SAE "${saeId}"; its SAE ids are ${form}, W one of ${Object.keys(GEMMA_SCOPE_WIDTHS).join(', ')}` +
        (entry.canonical ? '' : `; or use ${release}-canonical`),
    );
  }
  const layer = Number(match[1]);
  if (layer >= entry.layers) throw new InputError(`release "${release}" has no SAE "${saeId}": ${entry.model} has layers 0 to ${entry.layers - 1}`);
  const width = GEMMA_SCOPE_WIDTHS[match[2]!]!;
  return {
    layout: 'gemma-scope',
    repoId: entry.repoId,
    path: entry.canonical ? saeId.replace(/\/canonical$/, '') : saeId,
    canonical: entry.canonical,
    width,
    cfg: {
      architecture: 'jumprelu',
      dtype: 'float32',
      model_name: entry.model,
      hook_name: entry.hook(layer),
      hook_layer: layer,
      apply_b_dec_to_input: false,
      normalize_activations: 'none',
      prepend_bos: true,
      context_size: 1024,
      dataset_path: 'monology/pile-uncopyrighted',
    },
  };
}

/** Releases SAELens converts on load from a layout Lexicon does not read: asking for one says so. */
const OTHER_LAYOUTS: Record<string, string> = {
  'gemma-scope-': 'the release table holds the Gemma Scope releases gemma-scope-2b-pt-res, -mlp and -att (each also -canonical), not this one',
  llama_scope_: 'Llama Scope stores its SAEs as hyperparams.json and checkpoints/final.safetensors, not as an SAELens directory',
  'gpt2-small-hook-z-kk': 'these attention SAEs are PyTorch .pt files, not SAELens directories',
  'gpt2-small-resid-post-v5-32k': 'these SAEs are PyTorch .pt files, not SAELens directories',
};

/** The Hub folder of a release's SAE; an unknown release or SAE id is an error listing what is known. */
export function resolveRelease(release: string, saeId: string): ReleaseSae {
  if (Object.hasOwn(GEMMA_SCOPE, release)) return resolveGemmaScope(release, GEMMA_SCOPE[release]!, saeId);
  const entry = Object.hasOwn(RELEASES, release) ? RELEASES[release] : undefined;
  if (!entry) {
    const other = Object.entries(OTHER_LAYOUTS).find(([prefix]) => release.startsWith(prefix));
    if (other) throw new InputError(`release "${release}" cannot be read: ${other[1]}; convert it with SAELens and add the directory`);
    throw new InputError(`unknown release "${release}"; the known releases are: ${[...Object.keys(RELEASES), ...Object.keys(GEMMA_SCOPE)].join(', ')}`);
  }
  const sae = Object.hasOwn(entry.saes, saeId) ? entry.saes[saeId] : undefined;
  if (!sae) throw new InputError(`release "${release}" has no SAE "${saeId}"; its SAE ids are: ${Object.keys(entry.saes).join(', ')}`);
  return { layout: 'saelens', repoId: entry.repoId, path: sae.path, cfg: { ...entry.cfg, ...sae.cfg } };
}
