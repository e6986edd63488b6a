"""PyTorch reference for `npm run bench:activations`: one on-demand activations request on one thread.

    python3 activations_torch.py MODEL_DIR SAE_DIR IDS_JSON ACTS_OUT [--requests N] [--warmup N] [--top-k K]

Reads a Hugging Face GPT-2 directory (config.json, model.safetensors) and a standard SAELens SAE (cfg.json,
sae_weights.safetensors), runs GPT-2's forward pass on the token ids up to the SAE's hook (blocks.L.hook_resid_pre or
_post), encodes with the SAE and takes each token's top-k features, as Lexicon's featureActivations does. Writes the
feature activations [pos, d_sae] as raw little-endian float32 to ACTS_OUT and prints one JSON line of timings: the
request's, and its matrix products' alone (the same shapes, random operands).
"""

import argparse
import json
import math
import os
import re
import statistics
import sys
import time

# one thread, whichever BLAS torch was linked with (set before torch loads it)
for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[name] = "1"

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


def read_safetensors(path):
    """name -> float32 tensor: 8-byte little-endian header length, JSON header, raw data."""
    with open(path, "rb") as f:
        (length,) = np.frombuffer(f.read(8), dtype="<u8")
        header = json.loads(f.read(int(length)))
        data = bytearray(f.read())  # writable, as torch.from_numpy wants
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            sys.exit(f"{path}: {name} is {entry['dtype']}; this reference reads F32 only")
        start, end = entry["data_offsets"]
        tensors[name.removeprefix("transformer.")] = torch.from_numpy(np.frombuffer(data, dtype="<f4", count=(end - start) // 4, offset=start).reshape(entry["shape"]))
    return tensors


def hook_layers(hook):
    """How many blocks run before the hook: blocks.L.hook_resid_pre needs L, blocks.L.hook_resid_post L + 1."""
    match = re.fullmatch(r"blocks\.(\d+)\.hook_resid_(pre|post)", hook)
    if not match:
        sys.exit(f"hook {hook}: this reference runs to blocks.L.hook_resid_pre or _post only")
    return int(match[1]) + (1 if match[2] == "post" else 0)


def gelu_new(x):
    return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.pow(3))))


def block(x, w, l, n_heads, eps):
    seq, d = x.shape
    head_dim = d // n_heads
    p = f"h.{l}."
    h = torch.nn.functional.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
    qkv = torch.addmm(w[p + "attn.c_attn.bias"], h, w[p + "attn.c_attn.weight"])
    q, k, v = (t.reshape(seq, n_heads, head_dim).transpose(0, 1) for t in qkv.split(d, dim=1))
    scores = q @ k.transpose(1, 2) / math.sqrt(head_dim)
    causal = torch.ones(seq, seq, dtype=torch.bool).triu(1)
    pattern = torch.softmax(scores.masked_fill(causal, float("-inf")), dim=-1)
    z = (pattern @ v).transpose(0, 1).reshape(seq, d)
    x = x + torch.addmm(w[p + "attn.c_proj.bias"], z, w[p + "attn.c_proj.weight"])
    h = torch.nn.functional.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
    mlp = gelu_new(torch.addmm(w[p + "mlp.c_fc.bias"], h, w[p + "mlp.c_fc.weight"]))
    return x + torch.addmm(w[p + "mlp.c_proj.bias"], mlp, w[p + "mlp.c_proj.weight"])


def main():
    parser = argparse.ArgumentParser()
    for name in ("model_dir", "sae_dir", "ids_json", "acts_out"):
        parser.add_argument(name)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--top-k", type=int, default=5)
    args = parser.parse_args()

    config = json.load(open(os.path.join(args.model_dir, "config.json")))
    if config.get("model_type") != "gpt2":
        sys.exit(f"{args.model_dir}: model_type {config.get('model_type')}; this reference runs GPT-2 only")
    cfg = json.load(open(os.path.join(args.sae_dir, "cfg.json")))
    if cfg.get("architecture", "standard") != "standard" or cfg.get("normalize_activations", "none") != "none":
        sys.exit(f"{args.sae_dir}: this reference encodes standard SAEs without normalisation only")
    hook = cfg.get("hook_name") or cfg["metadata"]["hook_name"]
    layers = hook_layers(hook)
    w = read_safetensors(os.path.join(args.model_dir, "model.safetensors"))
    sae = read_safetensors(os.path.join(args.sae_dir, "sae_weights.safetensors"))
    ids = torch.tensor(json.load(open(args.ids_json)), dtype=torch.long)
    eps = config.get("layer_norm_epsilon", 1e-5)
    b_dec_in = sae["b_dec"] if cfg.get("apply_b_dec_to_input", True) else torch.zeros_like(sae["b_dec"])

    def request():
        with torch.no_grad():
            x = w["wte.weight"][ids] + w["wpe.weight"][: len(ids)]
            for l in range(layers):
                x = block(x, w, l, config["n_head"], eps)
            acts = torch.relu(torch.addmm(sae["b_enc"], x - b_dec_in, sae["W_enc"]))
            torch.topk(acts, args.top_k, dim=1)
            return acts

    d, d_mlp = config["n_embd"], 4 * config["n_embd"]
    products = [(d, 3 * d), (d, d), (d, d_mlp), (d_mlp, d)] * layers + [tuple(sae["W_enc"].shape)]
    operands = [(torch.randn(len(ids), k), torch.randn(k, n), torch.randn(n)) for k, n in products]

    def matrix_products():
        with torch.no_grad():
            for a, b, bias in operands:
                torch.addmm(bias, a, b)

    request_cpu, request_wall = timed(request, args)
    products_cpu, _ = timed(matrix_products, args)
    request().numpy().astype("<f4").tofile(args.acts_out)
    print(json.dumps({
        "torch": torch.__version__,
        "blas": loaded_blas(),
        "threads": torch.get_num_threads(),
        "cpuMs": request_cpu,
        "wallMs": request_wall,
        "productsCpuMs": products_cpu,
    }))


def timed(fn, args):
    """Median CPU and wall ms of fn over the requests after the warm-up ones."""
    cpu, wall = [], []
    for i in range(args.warmup + args.requests):
        c, t = time.process_time(), time.perf_counter()
        fn()
        if i >= args.warmup:
            cpu.append((time.process_time() - c) * 1000)
            wall.append((time.perf_counter() - t) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def loaded_blas():
    """The BLAS library this process mapped (Debian's torch uses whichever libblas.so.3 the alternatives name)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.split("/")[-1].lower()}
    return ", ".join(sorted(os.path.realpath(p) for p in paths)) or "unknown"


if __name__ == "__main__":
    main()
