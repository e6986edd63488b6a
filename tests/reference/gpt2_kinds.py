"""Independent reference for issue 12's hooks and SAE kinds, on the tiny GPT-2 fixture (shared/fixtures/gpt2-tiny-a).

Writes, next to this file, under gpt2-tiny-a-kinds/:
  hook-z-sae/        a standard SAE on blocks.1.attn.hook_z (SAELens 6 cfg, reshape_activations "hook_z")
  skip-transcoder/   a skip transcoder from blocks.0.ln2.hook_normalized to blocks.0.hook_mlp_out
  expected.json      hook activations, feature activations, transcoder outputs, ablations and DFA

The GPT-2 forward pass is written here in numpy (float64 on the stored float32 weights), from the safetensors file,
following TransformerLens's hook names and shapes. Nothing here imports or runs Lexicon's code.
Run from the repository root:  python3 tests/reference/gpt2_kinds.py
"""
import json
import math
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# ../shared beside the repository, as tests/shared.ts finds it
SHARED = os.environ.get('LEXICON_SHARED_DIR', os.path.join(os.path.dirname(ROOT), 'shared'))
MODEL_DIR = os.path.join(SHARED, 'fixtures', 'gpt2-tiny-a')
OUT = os.path.join(HERE, 'gpt2-tiny-a-kinds')
N_HEADS = 4
EPS = 1e-5


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32'
        start, end = info['data_offsets']
        out[name] = np.frombuffer(data[start:end], dtype='<f4').reshape(info['shape']).astype(np.float64)
    return out


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype='<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(array.shape), 'data_offsets': [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def as_f32(array):
    """What the saved file holds, back in float64 for the arithmetic."""
    return np.asarray(array, dtype=np.float32).astype(np.float64)


W = read_safetensors(os.path.join(MODEL_DIR, 'model.safetensors'))
N_LAYERS = 2
D = W['wte.weight'].shape[1]
D_HEAD = D // N_HEADS


def normalize(x):
    """LayerNorm before its weight and bias: TransformerLens's hook_normalized."""
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS)


def layer_norm(x, w, b):
    return normalize(x) * w + b


def gelu_new(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def forward(ids, hooks=None):
    """Logits [T, vocab] and every hook's activation (without the batch axis). `hooks` maps a hook name to a function
    that returns the replacement activation."""
    hooks = hooks or {}
    cache = {}

    def at(name, act):
        act = hooks[name](act) if name in hooks else act
        cache[name] = act
        return act

    T = len(ids)
    x = W['wte.weight'][ids] + W['wpe.weight'][:T]
    for l in range(N_LAYERS):
        p = f'h.{l}.'
        b = f'blocks.{l}.'
        x = at(b + 'hook_resid_pre', x)
        h = at(b + 'ln1.hook_normalized', normalize(x)) * W[p + 'ln_1.weight'] + W[p + 'ln_1.bias']
        qkv = h @ W[p + 'attn.c_attn.weight'] + W[p + 'attn.c_attn.bias']
        q, k, v = (qkv[:, i * D:(i + 1) * D].reshape(T, N_HEADS, D_HEAD) for i in range(3))  # [pos, head, d_head]
        q = at(b + 'attn.hook_q', q)
        k = at(b + 'attn.hook_k', k)
        v = at(b + 'attn.hook_v', v)
        scores = np.einsum('qhd,khd->hqk', q, k) / math.sqrt(D_HEAD)
        scores = np.where(np.tril(np.ones((T, T), dtype=bool)), scores, -np.inf)
        scores = at(b + 'attn.hook_attn_scores', scores)
        e = np.exp(scores - scores.max(-1, keepdims=True))
        pattern = at(b + 'attn.hook_pattern', e / e.sum(-1, keepdims=True))  # [head, query, key]
        z = at(b + 'attn.hook_z', np.einsum('hqk,khd->qhd', pattern, v))
        attn_out = at(b + 'hook_attn_out', z.reshape(T, D) @ W[p + 'attn.c_proj.weight'] + W[p + 'attn.c_proj.bias'])
        x = at(b + 'hook_resid_mid', x + attn_out)
        h2 = at(b + 'ln2.hook_normalized', normalize(x)) * W[p + 'ln_2.weight'] + W[p + 'ln_2.bias']
        pre = at(b + 'mlp.hook_pre', h2 @ W[p + 'mlp.c_fc.weight'] + W[p + 'mlp.c_fc.bias'])
        post = at(b + 'mlp.hook_post', gelu_new(pre))
        mlp_out = at(b + 'hook_mlp_out', post @ W[p + 'mlp.c_proj.weight'] + W[p + 'mlp.c_proj.bias'])
        x = at(b + 'hook_resid_post', x + mlp_out)
    final = at('ln_final.hook_normalized', layer_norm(x, W['ln_f.weight'], W['ln_f.bias']))
    return final @ W['wte.weight'].T, cache


def losses(logits, ids):
    m = logits.max(-1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(-1, keepdims=True))
    return [float(-log_probs[t, ids[t + 1]]) for t in range(len(ids) - 1)]


def r(x):
    """Rounded to 9 significant digits, -inf as null (JSON has no infinities)."""
    if isinstance(x, np.ndarray):
        return [r(v) for v in x]
    if isinstance(x, list):
        return [r(v) for v in x]
    x = float(x)
    return None if math.isinf(x) else float(f'{x:.9g}')


rng = np.random.default_rng(20261206)
SEQUENCES = {
    'quick_brown_fox': [464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13],
    'random16': [int(i) for i in rng.integers(0, 50257, 16)],
}

# --- hook_z SAE (standard, b_dec subtracted from the input) -------------------------------------------------------
Z_HOOK = 'blocks.1.attn.hook_z'
Z_SAE = {
    'W_enc': as_f32(rng.normal(0, 1 / math.sqrt(D), (D, 32))),
    'W_dec': None,
    'b_enc': as_f32(rng.normal(-0.6, 0.2, 32)),
    'b_dec': as_f32(rng.normal(0, 0.1, D)),
}
dec = rng.normal(0, 1, (32, D))
Z_SAE['W_dec'] = as_f32(dec / np.linalg.norm(dec, axis=1, keepdims=True))
Z_CFG = {
    'architecture': 'standard', 'd_in': D, 'd_sae': 32, 'dtype': 'float32', 'device': 'cpu',
    'apply_b_dec_to_input': True, 'normalize_activations': 'none', 'reshape_activations': 'hook_z',
    'metadata': {'model_name': 'gpt2-tiny-a', 'hook_name': Z_HOOK, 'hook_head_index': None, 'prepend_bos': False,
                 'context_size': 64, 'sae_lens_version': '6.0.0'},
}

# --- skip transcoder: ln2.hook_normalized → hook_mlp_out of block 0 -----------------------------------------------
T_IN, T_OUT = 'blocks.0.ln2.hook_normalized', 'blocks.0.hook_mlp_out'
TC = {
    'W_enc': as_f32(rng.normal(0, 1 / math.sqrt(D), (D, 48))),
    'b_enc': as_f32(rng.normal(-0.5, 0.2, 48)),
    'W_dec': as_f32(rng.normal(0, 0.5, (48, D))),
    'b_dec': as_f32(rng.normal(0, 0.1, D)),
    'W_skip': as_f32(rng.normal(0, 0.05, (D, D))),
}
TC_CFG = {
    'architecture': 'skip_transcoder', 'd_in': D, 'd_sae': 48, 'd_out': D, 'dtype': 'float32', 'device': 'cpu',
    'apply_b_dec_to_input': False, 'normalize_activations': 'none', 'reshape_activations': 'none',
    'hook_name_out': T_OUT, 'hook_layer_out': 0, 'hook_head_index_out': None,
    'metadata': {'model_name': 'gpt2-tiny-a', 'hook_name': T_IN, 'hook_head_index': None, 'prepend_bos': False,
                 'context_size': 64, 'sae_lens_version': '6.0.0'},
}


def z_encode(z):
    """z [T, head, d_head] → (pre, acts) [T, d_sae]; the heads concatenated as SAELens's hook_z reshape does."""
    pre = (z.reshape(len(z), D) - Z_SAE['b_dec']) @ Z_SAE['W_enc'] + Z_SAE['b_enc']
    return pre, np.maximum(pre, 0)


def tc_forward(x):
    pre = x @ TC['W_enc'] + TC['b_enc']
    acts = np.maximum(pre, 0)
    return pre, acts, acts @ TC['W_dec'] + TC['b_dec'] + x @ TC['W_skip'].T


def top10(values):
    order = np.argsort(-values, kind='stable')[:10]
    return [[int(i), r(values[i])] for i in order]


def dfa(v, pattern, feature, position):
    """SAEDashboard's direct feature attribution of a hook_z feature at one destination position: for each source
    position s, sum over heads of pattern[h, position, s] · (v[s, h] · W_enc[h's slice, feature])."""
    w = Z_SAE['W_enc'][:, feature].reshape(N_HEADS, D_HEAD)
    per_head = np.einsum('shd,hd->sh', v, w)  # [source, head]
    return np.einsum('hs,sh->s', pattern[:, position, :position + 1], per_head[:position + 1])


CAPTURED = ['blocks.0.ln1.hook_normalized', 'blocks.1.attn.hook_q', 'blocks.1.attn.hook_k', 'blocks.1.attn.hook_v',
            'blocks.1.attn.hook_z', 'blocks.1.attn.hook_attn_scores', 'blocks.1.attn.hook_pattern',
            'blocks.1.ln2.hook_normalized', 'blocks.0.mlp.hook_pre']

expected = {
    'fixture': 'gpt2-tiny-a', 'generator': 'tests/reference/gpt2_kinds.py',
    'definitions': {
        'hooks': 'TransformerLens names and shapes without the batch axis: hook_q/k/v/z [pos, head, d_head]; '
                 'hook_attn_scores / hook_pattern [head, query_pos, key_pos] (scores scaled by 1/sqrt(d_head), '
                 'masked entries null = -inf); ln1/ln2.hook_normalized (x - mean) / sqrt(var + eps), before the '
                 'LayerNorm weight and bias, as TransformerLens (which folds them into the next layer by default)',
        'hook_z_sae': 'standard SAE on blocks.1.attn.hook_z with heads concatenated (head-major): '
                      'acts = relu((z - b_dec) @ W_enc + b_enc)',
        'transcoder': 'skip transcoder: acts = relu(x @ W_enc + b_enc) with x = blocks.0.ln2.hook_normalized; '
                      'out = acts @ W_dec + b_dec + x @ W_skip.T, approximating blocks.0.hook_mlp_out',
        'ablation': 'zero-ablation of one feature at the output hook, every position: act_out - acts[:, f] * W_dec[f] '
                    '(per head for hook_z), then the model runs on; per_token_loss as in gpt2-tiny-a/expected.json',
        'logit_weights': 'raw direct path of the hook_z feature: W_dec[f] @ W_O @ W_U, W_O = h.1.attn.c_proj.weight '
                         '(heads concatenated), W_U = wte.T, no final LayerNorm; top10 as [token_id, value]',
        'dfa': 'for the hook_z feature at `position`: sources[s] = sum_h pattern[h, position, s] * '
               '(v[s, h] . W_enc[h*d_head:(h+1)*d_head, feature]); sum(sources) + bias = pre, '
               'bias = b_enc[f] - b_dec . W_enc[:, f]',
    },
    'hook_z_sae': {'dir': 'hook-z-sae', 'hook': Z_HOOK},
    'transcoder': {'dir': 'skip-transcoder', 'hook_in': T_IN, 'hook_out': T_OUT},
    'sequences': [],
}

for name, ids in SEQUENCES.items():
    logits, cache = forward(ids)
    seq = {'name': name, 'ids': ids, 'per_token_loss': r(losses(logits, ids)),
           'hooks': {h: r(cache[h]) for h in CAPTURED}}

    z_pre, z_acts = z_encode(cache[Z_HOOK])
    f_z = int(np.argmax(z_acts.max(0)))  # the feature firing hardest in this sequence
    position = 3 + int(np.argmax(z_acts[3:, f_z]))  # a later position, so that several sources compete
    ablate_z = {Z_HOOK: lambda z: z - (z_acts[:, f_z:f_z + 1] * Z_SAE['W_dec'][f_z]).reshape(z.shape)}
    bias = Z_SAE['b_enc'][f_z] - Z_SAE['b_dec'] @ Z_SAE['W_enc'][:, f_z]
    sources = dfa(cache['blocks.1.attn.hook_v'], cache['blocks.1.attn.hook_pattern'], f_z, position)
    assert abs(sources.sum() + bias - z_pre[position, f_z]) < 1e-9
    seq['hook_z_sae'] = {
        'acts': r(z_acts),
        'min_abs_pre': r(np.abs(z_pre).min()),
        'ablation': {'feature': f_z, 'per_token_loss': r(losses(forward(ids, ablate_z)[0], ids))},
        # raw logit weights (no final LayerNorm folded in): W_dec[f] through W_O (c_proj, without its bias) to W_U
        'logit_weights': {'feature': f_z, 'top10': top10(Z_SAE['W_dec'][f_z] @ W['h.1.attn.c_proj.weight'] @ W['wte.weight'].T)},
        'dfa': {'feature': f_z, 'position': position, 'pre': r(z_pre[position, f_z]), 'bias': r(bias),
                'sources': r(sources)},
    }

    x_in = cache[T_IN]
    t_pre, t_acts, t_out = tc_forward(x_in)
    f_t = int(np.argmax(t_acts.sum(0)))
    ablate_t = {T_OUT: lambda y: y - t_acts[:, f_t:f_t + 1] * TC['W_dec'][f_t]}
    seq['transcoder'] = {
        'acts': r(t_acts),
        'out': r(t_out),
        'target': r(cache[T_OUT]),
        'min_abs_pre': r(np.abs(t_pre).min()),
        'ablation': {'feature': f_t, 'per_token_loss': r(losses(forward(ids, ablate_t)[0], ids))},
    }
    expected['sequences'].append(seq)
    print(name, 'hook_z feature', f_z, 'at', position, 'L0', (z_acts > 0).sum(1).mean(),
          '| transcoder feature', f_t, 'L0', (t_acts > 0).sum(1).mean(), file=sys.stderr)

os.makedirs(os.path.join(OUT, 'hook-z-sae'), exist_ok=True)
os.makedirs(os.path.join(OUT, 'skip-transcoder'), exist_ok=True)
write_safetensors(os.path.join(OUT, 'hook-z-sae', 'sae_weights.safetensors'), Z_SAE)
write_safetensors(os.path.join(OUT, 'skip-transcoder', 'sae_weights.safetensors'), TC)
for sub, cfg in (('hook-z-sae', Z_CFG), ('skip-transcoder', TC_CFG)):
    with open(os.path.join(OUT, sub, 'cfg.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
        f.write('\n')
with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump(expected, f, separators=(',', ':'))
    f.write('\n')
