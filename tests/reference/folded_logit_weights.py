#!/usr/bin/env python3
"""Independent reference for Lexicon's folded logit weights (issue 12), in float64 numpy.

Reads the llama2.c checkpoint and the SAELens SAE directly (no Lexicon code) and writes, for some features of
the SAE (FEATURES), the top and bottom 10 of

  folded: W_dec[f] @ (diag(rms_final) @ W_U)   -- TransformerLens fold_ln=True for an RMSNorm model (no centring)
  raw:    W_dec[f] @ W_U

with W_U = token_embedding.T (stories260K shares its embedding with the classifier).

Usage: python3 tests/reference/folded_logit_weights.py [SHARED_DIR]  (default ../shared)
Writes tests/reference/stories260K-folded-logit-weights.json next to this script.
"""
import json
import os
import struct
import sys

import numpy as np

K = 10
# every 16th feature and the five the SAE fixture's expected.json chose: enough to check, small enough to commit
FEATURES = sorted(set(range(0, 256, 16)) | {8, 82, 84, 103, 250})


def read_llama2c(path):
    """token_embedding [vocab, dim] and rms_final [dim] of a llama2.c legacy checkpoint."""
    with open(path, "rb") as f:
        data = f.read()
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack("<7i", data[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    kv_dim = dim * n_kv_heads // n_heads
    floats = np.frombuffer(data, dtype="<f4", offset=28)
    at = 0

    def take(n):
        nonlocal at
        out = floats[at:at + n]
        at += n
        return out

    embedding = take(vocab * dim).reshape(vocab, dim)
    take(n_layers * dim)  # rms_att
    take(n_layers * dim * dim)  # wq
    take(n_layers * kv_dim * dim)  # wk
    take(n_layers * kv_dim * dim)  # wv
    take(n_layers * dim * dim)  # wo
    take(n_layers * dim)  # rms_ffn
    take(n_layers * hidden * dim)  # w1
    take(n_layers * dim * hidden)  # w2
    take(n_layers * hidden * dim)  # w3
    rms_final = take(dim)
    head = dim // n_heads
    take(seq_len * head // 2)  # freq_cis_real
    take(seq_len * head // 2)  # freq_cis_imag
    classifier = embedding if shared else take(vocab * dim).reshape(vocab, dim)
    return classifier.astype(np.float64), rms_final.astype(np.float64)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[base + start:base + end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return tensors


def ranked(row):
    """top K (descending) and bottom K (ascending) as [token_id, value], ties to the lower id."""
    order = np.lexsort((np.arange(len(row)), -row))
    top = [[int(i), float(f"{row[i]:.9g}")] for i in order[:K]]
    order = np.lexsort((np.arange(len(row)), row))
    bottom = [[int(i), float(f"{row[i]:.9g}")] for i in order[:K]]
    return {"top10": top, "bottom10": bottom}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "..", "shared")
    classifier, rms_final = read_llama2c(os.path.join(shared, "models", "stories260K", "stories260K.bin"))
    sae = read_safetensors(os.path.join(shared, "fixtures", "sae-stories260K-l2-standard", "sae_weights.safetensors"))
    W_U = classifier.T  # [dim, vocab]
    W_dec = sae["W_dec"]  # [d_sae, dim]
    folded = W_dec @ (rms_final[:, None] * W_U)
    raw = W_dec @ W_U
    top10_differs = sum(
        set(np.argsort(-folded[f])[:K].tolist()) != set(np.argsort(-raw[f])[:K].tolist()) for f in range(W_dec.shape[0]))
    out = {
        "model": "shared/models/stories260K/stories260K.bin",
        "sae": "shared/fixtures/sae-stories260K-l2-standard",
        "definitions": {
            "computation": "float64 on the stored float32 weights; values rounded to 9 significant digits",
            "W_U": "token_embedding.T [64, 512] (the shared classifier)",
            "folded": "W_dec[f] @ (rms_final[:, None] * W_U): TransformerLens fold_ln for RMSNorm (no centring)",
            "raw": "W_dec[f] @ W_U",
            "top10": "10 largest, descending, [token_id, value]",
            "bottom10": "10 smallest, ascending, [token_id, value]",
        },
        "rms_final_range": [float(rms_final.min()), float(rms_final.max())],
        "features_whose_top10_set_differs": int(top10_differs),
        "features": FEATURES,
        "folded": {str(f): ranked(folded[f]) for f in FEATURES},
        "raw": {str(f): ranked(raw[f]) for f in FEATURES},
    }
    with open(os.path.join(here, "stories260K-folded-logit-weights.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
