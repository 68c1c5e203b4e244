"""Compares two training runs' logs and final weights (a measurement helper for scripts/mpi_agreement.sh).
Usage: compare_runs.py pretrain|distill RUN_A RUN_B"""
import json, struct, sys

def losses(path, keys):
    out = {}
    for line in open(path):
        o = json.loads(line)
        if "step" in o and all(k in o for k in keys):
            out[o["step"]] = [o[k] for k in keys]
    return out

def weights(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    out = {}
    for k, v in header.items():
        if k == "__metadata__": continue
        assert v["dtype"] == "F32", k
        a, b = v["data_offsets"]
        out[k] = struct.unpack("<%df" % ((b - a) // 4), data[8 + n + a:8 + n + b])
    return out

kind, a, b = sys.argv[1:4]
if kind == "pretrain":
    log, keys, model = "train_log.jsonl", ["loss"], "model"
else:
    log, keys, model = "distill_log.jsonl", ["generator_loss", "fake_loss"], "student"
la, lb = losses(f"{a}/{log}", keys), losses(f"{b}/{log}", keys)
assert la.keys() == lb.keys(), "the logs have different steps"
worst = max(abs(x - y) / max(abs(y), 1e-12) for s in la for x, y in zip(la[s], lb[s]))
wa, wb = weights(f"{a}/{model}/diffusion_pytorch_model.safetensors"), weights(f"{b}/{model}/diffusion_pytorch_model.safetensors")
assert wa.keys() == wb.keys()
# Weights: allclose(rtol 1e-4, atol 1e-6): the largest |a - b| / (1e-4 |b| + 1e-6) must be <= 1. The
# absolute term covers tensors whose gradient is zero in exact arithmetic (the key norm's bias: softmax
# ignores a shift shared by all keys), which hold only rounding noise of order 1e-7. Also printed: the
# largest absolute difference, and the largest relative to the model's weight scale (its largest |w|).
ratio = max(abs(x - y) / (1e-4 * abs(y) + 1e-6) for k in wa for x, y in zip(wa[k], wb[k]))
mx = max(abs(x - y) for k in wa for x, y in zip(wa[k], wb[k]))
scale = max(abs(y) for k in wb for y in wb[k])
def elapsed(path):
    last = [json.loads(l) for l in open(path)][-1]
    return last.get("elapsed_s")
print(f"  {kind}: {len(la)} logged steps, worst loss relative difference {worst:.2e} ({'ok' if worst <= 1e-5 else 'FAIL'} at 1e-5); "
      f"final weights: allclose(rtol 1e-4, atol 1e-6) ratio {ratio:.2f} ({'ok' if ratio <= 1 else 'FAIL'}), "
      f"worst absolute {mx:.2e}, relative to the weight scale {mx / scale:.2e}; "
      f"training loop time {elapsed(f'{a}/{log}'):.2f} s vs {elapsed(f'{b}/{log}'):.2f} s")
