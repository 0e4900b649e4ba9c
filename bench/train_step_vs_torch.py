#!/usr/bin/python3
"""Our CPU training step beside PyTorch's, same config, same thread count, same step
(forward, backward, global-norm clip 1.0, AdamW with nanoGPT's decay groups), random tokens.
Prints tokens/s for both and the ratio ours/torch (goal: >= 1.2). Run with Debian's python3:
  /usr/bin/python3 bench/train_step_vs_torch.py --bench BUILD/bench/train_step_bench --threads 2
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import torch  # noqa: E402
from check_against_torch import GPT  # noqa: E402  (the same model the reference test checks)

CONFIGS = [  # (layers, dim, heads, seq, batch, vocab)
    (2, 64, 4, 32, 4, 256),     # the acceptance run of `paci train`
    (4, 128, 4, 64, 8, 256),
    (4, 256, 8, 128, 8, 256),
]


def torch_tokens_per_s(L, C, NH, T, B, V, steps, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = GPT(V, T, L, C, NH, False)
    named = dict(model.named_parameters())
    opt = torch.optim.AdamW([{"params": [p for p in named.values() if p.dim() >= 2], "weight_decay": 0.1},
                             {"params": [p for p in named.values() if p.dim() < 2], "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    data = torch.randint(0, V, (1 << 20,))

    def step():
        ix = torch.randint(0, len(data) - T - 1, (B,))
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + T + 1] for i in ix])
        opt.zero_grad(set_to_none=True)
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(3):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return B * T * steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="path of the train_step_bench binary")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    print(f"torch {torch.__version__}, threads {a.threads}, steps {a.steps}")
    print(f"{'L':>2} {'C':>4} {'NH':>3} {'T':>4} {'B':>3} {'V':>4} | {'ours tok/s':>11} {'torch tok/s':>11} {'ratio':>6}")
    for (L, C, NH, T, B, V) in CONFIGS:
        out = subprocess.run([a.bench] + [str(v) for v in (L, C, NH, T, B, V, a.steps, a.threads)],
                             check=True, capture_output=True, text=True).stdout
        ours = float(re.search(r"tokens_per_s=([0-9.]+)", out).group(1))
        theirs = torch_tokens_per_s(L, C, NH, T, B, V, a.steps, a.threads)
        print(f"{L:>2} {C:>4} {NH:>3} {T:>4} {B:>3} {V:>4} | {ours:>11.0f} {theirs:>11.0f} {ours / theirs:>6.2f}",
              flush=True)


if __name__ == "__main__":
    main()
