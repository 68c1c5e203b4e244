#!/usr/bin/env python3
"""Checks that diffusers reads a model folder written by tdm-video: loads it with
CogVideoXTransformer3DModel.from_pretrained, runs the reference inputs, and compares with the reference
output (which tdm-video also matches). A developer check for docs/results.md; tdm-video never runs Python.

    /tmp/peer/bin/python scripts/check_diffusers_loads_ours.py SAVED_DIR REFERENCE.safetensors
"""
import sys

import torch
from diffusers import CogVideoXTransformer3DModel
from safetensors.torch import load_file

folder, reference = sys.argv[1], sys.argv[2]
model = CogVideoXTransformer3DModel.from_pretrained(folder).eval()
ref = load_file(reference)
kwargs = {}
if "rotary.cos" in ref:
    kwargs["image_rotary_emb"] = (ref["rotary.cos"], ref["rotary.sin"])
with torch.no_grad():
    out = model(hidden_states=ref["hidden_states"], encoder_hidden_states=ref["encoder_hidden_states"],
                timestep=ref["timestep"], return_dict=False, **kwargs)[0]
err = (out - ref["output"]).abs().max().item() / ref["output"].abs().max().item()
print(f"diffusers loaded {folder}: rel_err vs reference output {err:.3e}")
sys.exit(0 if err <= 1e-4 else 1)
