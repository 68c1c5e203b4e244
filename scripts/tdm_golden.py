#!/usr/bin/env python3
"""Golden data for one TDM iteration (Tests/TDMVideoTests/TDMGoldenTests.swift).

A PyTorch reference of one iteration of Trajectory Distribution Matching, written from the authors'
train_tdm_demo.py (Luo-Yihong/TDM at 81b019f: generate_new, Predictor.add_noise, obtain_mixed_noise,
the fake-score and generator blocks of the training loop) and adapted to a v-prediction CogVideoX
teacher as docs/how-it-works.md and ../shared/docs/tdm.md say:
  x0 = a_t x - s_t v,  eps = s_t x + a_t v          (instead of the epsilon-prediction formulas)
  fake loss = w_IS * mean((v_fake - v_target)^2)    (v-MSE, the teacher's own loss; the demo's
              x0-MSE * min(SNR, 5) is tdm.fake_loss: x0_min_snr)
  v_target  = a_tau * mixed - s_tau * x0            (the v of x_tau = a_tau x0 + s_tau mixed)
  the student's grid [999, 856, 665, 399], the last step ending at the x0 prediction (t_mid = -1:
  a = 1, s = 0), and tau in [max(20, t_mid), t_g - 10).
The generator loss is the demo's elementwise pseudo-Huber over mean|x0 - x0_real| (c = 1e-3), plus the
paper's Eq. 11 vector form as a second value.

Networks: the tiny random CogVideoX of ../shared/fixtures/cogvideox-tiny-sincos as the teacher; the
student and the fake score are the teacher plus fixed random perturbations (so real - fake is not just
the guidance term). Everything else (prompt embeddings, the rollout's starting noise, every draw of
k, tau and noise) is fixed here and saved. The fake step's gradient is taken before its update, and
the generator step uses the fake score as given (the Swift test restores it after the fake step).

Run in a throwaway venv (torch CPU + diffusers 0.42.1 + safetensors):
  /work/venv-tdm/bin/python scripts/tdm_golden.py ../shared/fixtures Tests/Golden/tdm_iteration.safetensors
"""
import copy
import json
import sys

import numpy as np
import torch
from diffusers import CogVideoXTransformer3DModel
from safetensors.numpy import load_file, save_file

fixtures, out = sys.argv[1], sys.argv[2]
torch.manual_seed(19)
torch.set_num_threads(1)

teacher = CogVideoXTransformer3DModel.from_pretrained(f"{fixtures}/cogvideox-tiny-sincos").float().eval()
ab = load_file(f"{fixtures}/scheduler-cogvideox-2b/reference.safetensors")["alphas_cumprod"]  # float64 [1000]


def a_(t):  # sqrt(alpha_bar_t) in float32; 1 at the clean end (t < 0)
    return torch.tensor(1.0 if t < 0 else float(np.sqrt(ab[t])), dtype=torch.float32)


def s_(t):
    return torch.tensor(0.0 if t < 0 else float(np.sqrt(1 - ab[t])), dtype=torch.float32)


def perturbed(scale):
    m = copy.deepcopy(teacher)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(scale * torch.randn_like(p))
    return m


student, fake = perturbed(0.02), perturbed(0.02)
B, F, C, H, W = 2, 3, 4, 8, 12
L, D = 6, 12
per = F * C * H * W
text = torch.randn(B, L, D)
negative = torch.randn(1, L, D).repeat(B, 1, 1)
x_T = torch.randn(B, F, C, H, W)
grid = [999, 856, 665, 399]  # the shifted grid, shift 2, K = 4
K = len(grid)
guidance, huber_c = 2.0, 1e-3


def net(m, x, t, emb):
    ts = torch.tensor(t, dtype=torch.long)
    return m(hidden_states=x, encoder_hidden_states=emb, timestep=ts, return_dict=False)[0]


def x0_eps(v, x, ts):  # per-sample timesteps
    a = torch.stack([a_(t) for t in ts]).view(-1, 1, 1, 1, 1)
    s = torch.stack([s_(t) for t in ts]).view(-1, 1, 1, 1, 1)
    return a * x - s * v, s * x + a * v


# 0. Rollout without gradient (generate_new, deterministic DDIM with the model's own eps).
points, X0, EPS = {}, {}, {}
with torch.no_grad():
    x = x_T.clone()
    for idx, t in enumerate(grid):
        k = K - idx
        points[k] = x
        v = net(student, x, [t] * B, text)
        X0[k], EPS[k] = x0_eps(v, x, [t] * B)
        if k > 1:
            x = a_(grid[idx + 1]) * X0[k] + s_(grid[idx + 1]) * EPS[k]


def grid_pair(k):
    tg = grid[K - k]
    tm = grid[K - k + 1] if k > 1 else -1
    return tg, tm


def draws(ks):
    out = []
    for k in ks:
        tg, tm = grid_pair(k)
        lo, hi = max(20, tm), max(max(20, tm) + 1, tg - 10)
        tau = int(torch.randint(lo, hi, (1,)))
        out.append((k, tg, tm, tau, torch.randn(F, C, H, W)))
    return out


def diffuse(x0, eps, d):  # Predictor.add_noise after the DDIM step to t_mid, and obtain_mixed_noise
    k, tg, tm, tau, n = d
    at, st, am, sm = a_(tau), s_(tau), a_(tm), s_(tm)
    r = at / am
    beta = torch.clamp(st * st - (r * sm) ** 2, min=0).sqrt()
    xm = am * x0 + sm * eps
    xt = r * xm + beta * n
    mixed = (r * sm * eps + beta * n) / st
    return xt, mixed


# 1. Fake-score step (one sample per draw; k = 4 and 1: the noisiest interval and the last one).
fake_draws = draws([4, 1])
xt, mixed, x0t, taus = [], [], [], []
for b, d in enumerate(fake_draws):
    xtb, mb = diffuse(X0[d[0]][b], EPS[d[0]][b], d)
    xt.append(xtb); mixed.append(mb); x0t.append(X0[d[0]][b]); taus.append(d[3])
xt, mixed, x0t = torch.stack(xt), torch.stack(mixed), torch.stack(x0t)
noise = torch.stack([d[4] for d in fake_draws])
is_weight = torch.exp(-0.5 * (mixed ** 2).view(B, -1).mean(1)) / torch.exp(-0.5 * (noise ** 2).view(B, -1).mean(1))
a_tau = torch.stack([a_(t) for t in taus]).view(-1, 1, 1, 1, 1)
s_tau = torch.stack([s_(t) for t in taus]).view(-1, 1, 1, 1, 1)
v_target = a_tau * mixed - s_tau * x0t
fake.zero_grad()
v_fake = net(fake, xt, taus, text)
loss_fake = (((v_fake - v_target) ** 2).view(B, -1).mean(1) * is_weight).mean()
loss_fake.backward()
fake_grads = {n: p.grad.detach().clone() for n, p in fake.named_parameters()}

# 2. Generator step (k = 3 and 2), the fake score as given (not updated).
gen_draws = draws([3, 2])
xin = torch.stack([points[d[0]][b] for b, d in enumerate(gen_draws)])
tgs = [d[1] for d in gen_draws]
student.zero_grad()
v_s = net(student, xin, tgs, text)
x0s, epss = x0_eps(v_s, xin, tgs)
with torch.no_grad():
    xts = torch.stack([diffuse(x0s[b].detach(), epss[b].detach(), d)[0] for b, d in enumerate(gen_draws)])
    gtaus = [d[3] for d in gen_draws]
    cond = x0_eps(net(teacher, xts, gtaus, text), xts, gtaus)[0]
    uncond = x0_eps(net(teacher, xts, gtaus, negative), xts, gtaus)[0]
    fk = x0_eps(net(fake, xts, gtaus, text), xts, gtaus)[0]
    real = uncond + guidance * (cond - uncond)
    target = x0s.detach() + (real - fk)
    w = (x0s.detach().double() - real.double()).abs().mean(dim=[1, 2, 3, 4], keepdim=True)
loss_gen = torch.mean((torch.sqrt((x0s - target) ** 2 + huber_c ** 2) - huber_c) / w.float())
loss_gen.backward()
student_grads = {n: p.grad.detach().clone() for n, p in student.named_parameters()}
c_vec = 0.00054 * per ** 0.5
with torch.no_grad():
    loss_gen_vector = (torch.sqrt(((x0s - target) ** 2).view(B, -1).sum(1) + c_vec ** 2) - c_vec).mean()

t = {"text": text, "negative": negative, "x_T": x_T, "loss.fake": loss_fake.detach().view(1),
     "loss.generator": loss_gen.detach().view(1), "loss.generator_vector": loss_gen_vector.view(1),
     "is_weight": is_weight, "normaliser": w.float().view(-1)}
for name, ds in (("fake", fake_draws), ("gen", gen_draws)):
    t[f"draws.{name}.k"] = torch.tensor([d[0] for d in ds], dtype=torch.int64)
    t[f"draws.{name}.tau"] = torch.tensor([d[3] for d in ds], dtype=torch.int64)
    t[f"draws.{name}.noise"] = torch.stack([d[4] for d in ds])
for n, p in student.named_parameters():
    t["student." + n] = p.detach()
    t["grad.student." + n] = student_grads[n]
for n, p in fake.named_parameters():
    t["fake." + n] = p.detach()
    t["grad.fake." + n] = fake_grads[n]
save_file({k: v.detach().contiguous().numpy() for k, v in t.items()}, out,
          metadata={"made_by": "scripts/tdm_golden.py", "teacher": "cogvideox-tiny-sincos",
                    "guidance": str(guidance), "huber_c": str(huber_c), "grid": json.dumps(grid)})
print("fake loss %.6e  generator loss %.6e (vector %.6e)  IS %s  w %s" % (
    loss_fake.item(), loss_gen.item(), loss_gen_vector.item(), is_weight.tolist(), w.view(-1).tolist()))
