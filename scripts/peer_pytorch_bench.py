#!/usr/bin/env python3
"""The peer measurement for `tdm-video bench --preset small|teacher`: diffusers' CogVideoXTransformer3DModel
in PyTorch on the CPU at the same shape, timed the same way (an AdamW train step and a batch-1 forward,
median of repeated runs). A developer tool for docs/results.md only; tdm-video itself never runs Python.

    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/peer/bin/pip install diffusers transformers accelerate
    /tmp/peer/bin/python scripts/peer_pytorch_bench.py --threads 2 --preset teacher
"""
import argparse, json, statistics, time

import torch
from diffusers import CogVideoXTransformer3DModel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--preset", choices=["small", "teacher", "tiny"], default="small")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.preset == "teacher":
        # models/teacher/config.json; the latent of configs/pretrain.yaml's 16x32x32 clips is 8 x 12 x 8 x 8.
        shape = dict(layers=4, heads=4, channels=12, text_len=24, batch=32)
    else:
        # design.md's peer shape (tiny: the same at 2 layers).
        shape = dict(layers=2 if args.preset == "tiny" else 6, heads=6, channels=16, text_len=16, batch=8)
    ch, text_len = shape["channels"], shape["text_len"]
    model = CogVideoXTransformer3DModel(
        num_attention_heads=shape["heads"], attention_head_dim=32, in_channels=ch, out_channels=ch,
        time_embed_dim=128, text_embed_dim=64, num_layers=shape["layers"], sample_width=8, sample_height=8,
        sample_frames=29, patch_size=2, max_text_seq_length=text_len, use_rotary_positional_embeddings=False)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), weight_decay=0.01)
    b = shape["batch"]
    x = torch.randn(b, 8, ch, 8, 8)
    text = torch.randn(b, text_len, 64)
    t = torch.randint(0, 1000, (b,))
    target = torch.randn(b, 8, ch, 8, 8)

    def train_step():
        opt.zero_grad(set_to_none=True)
        out = model(hidden_states=x, encoder_hidden_states=text, timestep=t, return_dict=False)[0]
        loss = torch.nn.functional.mse_loss(out, target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    x1, text1, t1 = x[:1].clone(), text[:1].clone(), t[:1].clone()

    @torch.no_grad()
    def forward1():
        model(hidden_states=x1, encoder_hidden_states=text1, timestep=t1, return_dict=False)

    def median(f, warmup, n):
        for _ in range(warmup):
            f()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            f()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times)

    train_ms = median(train_step, 2, args.repeats)
    fwd_ms = median(forward1, 3, args.repeats * 3)
    print(json.dumps({"peer": f"pytorch {torch.__version__}", "preset": args.preset, "threads": args.threads,
                      "params": params, "batch": b, "tokens": text_len + 8 * 4 * 4, "train_step_ms": round(train_ms, 2),
                      "forward_ms": round(fwd_ms, 2)}, sort_keys=True))


if __name__ == "__main__":
    main()
