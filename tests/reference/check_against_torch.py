#!/usr/bin/python3
"""Independent check of paci's hand-written GPT against PyTorch (Debian python3-torch).

Runs exec_reference_dump, rebuilds the same nanoGPT-style model in PyTorch, loads our safetensors
weights (parsed by hand with numpy: the safetensors package is not assumed), runs the same batch
and compares logits, loss, every gradient, the three training losses and the weights after 3
AdamW updates. Prints max abs and relative error (max abs error / max abs reference) with the
tolerance for every tensor. Exit 0 pass, 1 mismatch, 77 skip (no torch).
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # ctest SKIP_RETURN_CODE
    print(f"SKIP: {e}; install python3-torch and python3-numpy (scripts/install-deps.sh --test)")
    sys.exit(77)

# fp32 on both sides, different summation orders: errors are relative to the tensor's scale.
TOL_FORWARD = 1e-5    # logits and loss
TOL_GRAD = 1e-4       # gradients
TOL_WEIGHTS = 1e-4    # weights after 3 AdamW updates
# The key third of attn.c_attn.bias has an analytically zero gradient (adding b_k shifts a whole
# softmax row), so both sides "update" it from rounding noise, which AdamW scales by lr/eps. It is
# compared separately with an absolute tolerance of lr/100.
TOL_KEY_BIAS_ABS = 1e-5


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", (path, name, e["dtype"])
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[b:end], dtype="<f4").reshape(e["shape"]).copy()
    return out, meta


class Block(nn.Module):
    def __init__(self, C, nh):
        super().__init__()
        self.nh = nh
        self.ln_1 = nn.LayerNorm(C)
        self.attn = nn.Module()
        self.attn.c_attn = nn.Linear(C, 3 * C)
        self.attn.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.mlp = nn.Module()
        self.mlp.c_fc = nn.Linear(C, 4 * C)
        self.mlp.c_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.attn.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = [t.view(B, T, self.nh, C // self.nh).transpose(1, 2) for t in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.nh)
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool))
        att = F.softmax(att.masked_fill(~mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attn.c_proj(y)
        return x + self.mlp.c_proj(F.gelu(self.mlp.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, V, maxT, L, C, nh, tie):
        super().__init__()
        self.transformer = nn.Module()
        self.transformer.wte = nn.Embedding(V, C)
        self.transformer.wpe = nn.Embedding(maxT, C)
        self.transformer.h = nn.ModuleList([Block(C, nh) for _ in range(L)])
        self.transformer.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, V, bias=False)
        if tie:
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.transformer.wte(idx) + self.transformer.wpe(torch.arange(T))
        for b in self.transformer.h:
            x = b(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


failures = []


def compare(name, ours, ref, tol):
    ours, ref = np.asarray(ours, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if ours.shape != ref.shape:
        failures.append(name)
        print(f"  {name:44s} SHAPE MISMATCH ours {ours.shape} torch {ref.shape}")
        return
    abs_err = float(np.max(np.abs(ours - ref))) if ours.size else 0.0
    scale = max(float(np.max(np.abs(ref))), 1e-12)
    rel = abs_err / scale
    ok = rel <= tol
    if not ok:
        failures.append(name)
    print(f"  {name:44s} max abs {abs_err:.3e}  rel {rel:.3e}  tol {tol:.0e}  {'ok' if ok else 'FAIL'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True, help="path of the exec_reference_dump binary")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--tie", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    subprocess.run([a.dump, a.workdir] + (["--tie"] if a.tie else []), check=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    weights, wmeta = read_safetensors(os.path.join(a.workdir, "weights.safetensors"))
    ours, meta = read_safetensors(os.path.join(a.workdir, "ours.safetensors"))
    after3, _ = read_safetensors(os.path.join(a.workdir, "after3.safetensors"))
    cfg = json.loads(wmeta["paci.config"])
    model = GPT(cfg["vocab_size"], cfg["block_size"], cfg["n_layer"], cfg["n_embd"], cfg["n_head"], cfg["tie"])
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    idx = torch.from_numpy(ours["tokens"].astype(np.int64))
    tgt = torch.from_numpy(ours["targets"].astype(np.int64))
    print(f"config {cfg}, batch {tuple(idx.shape)}")

    logits, loss = model(idx, tgt)
    loss.backward()
    compare("logits", ours["logits"], logits.detach().numpy(), TOL_FORWARD)
    compare("loss", ours["loss"], [loss.item()], TOL_FORWARD)
    named = dict(model.named_parameters())  # a tied lm_head appears once, as transformer.wte.weight
    for name, p in named.items():
        compare("grad." + name, ours["grad." + name], p.grad.numpy(), TOL_GRAD)

    decay = [p for n, p in named.items() if p.dim() >= 2]
    no_decay = [p for n, p in named.items() if p.dim() < 2]
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    lrs = [float(x) for x in meta["lrs"].split(",")]
    torch_losses = []
    for lr in lrs:
        opt.zero_grad(set_to_none=True)
        _, l = model(idx, tgt)
        l.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), float(meta["clip"]))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        torch_losses.append(l.item())
    compare("losses of the 3 updates", [float(x) for x in meta["losses"].split(",")], torch_losses, TOL_FORWARD)
    state = model.state_dict()
    C = cfg["n_embd"]
    for name in sorted(after3):
        ours_w, ref_w = after3[name], state[name].numpy()
        if name.endswith("attn.c_attn.bias"):
            k = slice(C, 2 * C)
            qv = np.concatenate([ours_w[:C], ours_w[2 * C:]]), np.concatenate([ref_w[:C], ref_w[2 * C:]])
            compare("after 3 AdamW: " + name + " [q,v]", qv[0], qv[1], TOL_WEIGHTS)
            err = float(np.max(np.abs(ours_w[k].astype(np.float64) - ref_w[k])))
            ok = err <= TOL_KEY_BIAS_ABS
            if not ok:
                failures.append(name + " [k]")
            print(f"  {'after 3 AdamW: ' + name + ' [k]':44s} max abs {err:.3e}  abs tol {TOL_KEY_BIAS_ABS:.0e}  "
                  f"{'ok' if ok else 'FAIL'}")
            continue
        compare("after 3 AdamW: " + name, ours_w, ref_w, TOL_WEIGHTS)

    print("overall okay: %d" % (not failures))
    if failures:
        print("mismatches: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
