#!/usr/bin/python3
"""Independent PyTorch implementation of the PEFT methods (BitFit, LoRA, Houlsby, Pfeiffer, Compacter,
Compacter++, AdaMix, MixPHM), the routing functions and MixPHM's regularisers, written from the
descriptions in docs/methods.md (the methods, the regulariser, the routing functions) on the plain-torch
VL-T5 of vlt5_reference.py, in float64.  Dropout is off and the experts are fixed.

    /usr/bin/python3 tests/reference/peft_reference.py          # writes tests/reference/fixtures/peft.h5

Weights are not stored: the backbone's come from fixture_weights.py (seed 3), and every PEFT tensor is
fixture_tensor(name, seed 17) times a factor (peft_factor below; tests/unit/test_peft_reference.c
computes the same float32 values).

For every case NAME the file holds, at its root:
  NAME.config       [method, routing, lora r, lora alpha, bottleneck, phm_dim, rank, experts, share_up,
                     share_down, alpha, red_weight, mi_weight, red_lambda, consistency, offset_A, offset_B]
  NAME.logits       [B, Ld, V] of the training forward (experts (offset_A + layer + 2 stack + proj) mod E)
  NAME.loss         [answer loss, redundancy term, MI term, consistency term]
  NAME.grad         every trainable tensor's gradient of the sum of the four, concatenated in the order
                    of NAME.grad_names ('\\n'-separated, as bytes)
  NAME.logits_eval  (AdaMix, MixPHM) the forward with every expert's factors averaged
and train.* (train_case): MixPHM trained for a few optimizer steps as the authors' loop takes them
(config, loss per step, every tensor after the last step, each tensor's AdamW step count), and the inputs (text, feats, boxes, labels, weights) with the configuration as attributes.
"""
import math
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vlt5_reference as V  # noqa: E402
from fixture_weights import fixture_tensor  # noqa: E402

torch.set_default_dtype(torch.float64)
C = V.CONFIG_A
WEIGHT_SEED, PEFT_SEED = 3, 17
METHODS = ["full", "bitfit", "lora", "houlsby", "pfeiffer", "compacter", "compacter++", "adamix", "mixphm"]
ROUTES = ["none", "mul", "add", "proj", "expand"]


# ---- parameter values ---------------------------------------------------------------------------
def peft_factor(name, shape):
    if name == "phm_rule":
        return np.float32(0.5)
    if name.endswith("W_left") or name.endswith("W_right"):
        return np.float32(0.25)
    if name.endswith(".b"):
        return np.float32(0.1)
    if name.endswith(".bias"):
        return np.float32(1.0)
    return np.float32(1.0 / math.sqrt(shape[-1]))


def peft_tensor(name, shape):
    w = fixture_tensor(name, shape, C, PEFT_SEED) * peft_factor(name, shape)
    return torch.tensor(w.astype(np.float32), dtype=torch.float64, requires_grad=True)


# ---- the pieces ----------------------------------------------------------------------------------
def route(kind, xt, xv):
    """xt [B, T, r], xv [B, 1, r] (docs/methods.md, "Routing functions")."""
    if kind == "mul":
        return xt * xv
    if kind == "add":
        return xt + xv
    if kind == "proj":
        return (xt @ xv.transpose(1, 2)) @ xv
    if kind == "expand":
        return xt @ xv.expand(-1, xt.shape[-1], -1)
    return xt


def phm_matrix(S, T, U):
    """H = sum_i kron(S_i, T_i U_i) [in, out]."""
    return sum(torch.kron(S[i], T[i] @ U[i]) for i in range(S.shape[0]))


ACT = {"swish": F.silu, "relu": torch.relu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
       "gelu": lambda x: F.gelu(x)}


def site_prefix(stack, layer, sub):
    k = {"self": 0, "cross": 1, "ffn": 1 if stack == 0 else 2}[sub]
    return f"{['encoder', 'decoder'][stack]}.block.{layer}.layer.{k}"


class Method:
    def __init__(self, method, routing, o):
        self.method, self.routing, self.o = method, routing, o
        self.P = {}  # name -> tensor, in registration order (as the C registry)
        self.offset, self.merged = 0, False
        self.kept = [[], []]  # per stack, per FFN layer: (h, h_a)
        d, inner = C["d_model"], C["n_heads"] * C["d_kv"]
        L = [C["n_enc_layers"], C["n_dec_layers"]]
        if method == "bitfit":
            for s in range(2):
                for l in range(L[s]):
                    for sub, mod in ([("self", "SelfAttention")] + ([("cross", "EncDecAttention")] if s else [])):
                        for lin in "qkvo":
                            self.add(f"{site_prefix(s, l, sub)}.{mod}.{lin}.bias", (inner if lin != "o" else d,))
                    self.add(f"{site_prefix(s, l, 'ffn')}.DenseReluDense.wi.bias", (C["d_ff"],))
                    self.add(f"{site_prefix(s, l, 'ffn')}.DenseReluDense.wo.bias", (d,))
        elif method == "lora":
            for s in range(2):
                for l in range(L[s]):
                    for sub, mod in ([("self", "SelfAttention")] + ([("cross", "EncDecAttention")] if s else [])):
                        for lin in "qv":
                            self.add(f"{site_prefix(s, l, sub)}.{mod}.{lin}.lora_A", (o["r"], d))
                            self.add(f"{site_prefix(s, l, sub)}.{mod}.{lin}.lora_B", (inner, o["r"]))
        else:
            self.adapter_setup(L, d)

    def add(self, name, shape):
        self.P[name] = peft_tensor(name, shape)

    # ---- adapters -----------------------------------------------------------------------------
    def adapter_setup(self, L, d):
        m, o = self.method, self.o
        b = o["bottleneck"]
        self.phm = m in ("compacter", "compacter++", "mixphm")
        self.mixture = m in ("adamix", "mixphm")
        self.module, self.names = {
            "houlsby": ("adapter", ("adapter_A", "adapter_B")),
            "pfeiffer": ("adapter", ("adapter_A", "adapter_B")),
            "compacter": ("phm_adapter", ("down_sampler", "up_sampler")),
            "compacter++": ("phm_adapter", ("down_sampler", "up_sampler")),
            "adamix": ("ExpertSoup", ("MoA_A", "MoA_B")),
            "mixphm": ("phm_adapter_moe", ("MoA_A", "MoA_B")),
        }[m]
        self.attn_module = {"houlsby": "adapter", "compacter": "self_attn_phm_adapter"}.get(m)
        self.act = {"houlsby": "swish", "pfeiffer": "relu", "adamix": "gelu"}.get(m, "gelu_new")
        self.E = (1 if o["share_down"] else o["experts"], 1 if o["share_up"] else o["experts"])
        if not self.mixture:
            self.E = (1, 1)
        if self.phm:
            n = o["phm_dim"]
            self.add("phm_rule", (n, n, n))
        for s in range(2):
            for l in range(L[s]):
                if self.attn_module:
                    self.add_site(s, l, "self", self.attn_module, d, b)
                self.add_site(s, l, "ffn", self.module, d, b)

    def proj_names(self, s, l, sub, module, p, e):
        base = f"{site_prefix(s, l, sub)}.{module}.{self.names[p]}"
        return base + (f".deepspeed_experts.{e}" if self.mixture else "")

    def add_site(self, s, l, sub, module, d, b):
        for p, (i, o) in enumerate([(d, b), (b, d)]):
            for e in range(self.E[p]):
                base = self.proj_names(s, l, sub, module, p, e)
                if self.phm:
                    n, r = self.o["phm_dim"], self.o["rank"]
                    self.add(base + ".W_left", (n, i // n, r))
                    self.add(base + ".W_right", (n, r, o // n))
                    self.add(base + ".b", (o,))
                else:
                    self.add(base + ".weight", (o, i))
                    self.add(base + ".bias", (o,))

    def expert_tensors(self, base_of, E, leaves, e):
        """The leaves of expert e, or their averages over the experts (merged)."""
        if self.merged:
            return [sum(self.P[base_of(x) + leaf] for x in range(E)) / E for leaf in leaves]
        return [self.P[base_of(e) + leaf] for leaf in leaves]

    def project(self, s, l, sub, module, p, x):
        E = self.E[p]
        e = (self.offset + l + 2 * s + p) % E
        base_of = lambda x_: self.proj_names(s, l, sub, module, p, x_)  # noqa: E731
        if self.phm:
            T, U, b = self.expert_tensors(base_of, E, [".W_left", ".W_right", ".b"], e)
            return x @ phm_matrix(self.P["phm_rule"], T, U) + b
        W, b = self.expert_tensors(base_of, E, [".weight", ".bias"], e)
        return x @ W.T + b

    def adapter(self, s, l, sub, module, h, cond):
        zd = self.project(s, l, sub, module, 0, h)
        if self.routing != "none":
            zd = route(self.routing, zd, self.project(s, l, sub, module, 0, cond[:, None, :]))
        ha = self.o["alpha"] * self.project(s, l, sub, module, 1, ACT[self.act](zd))
        if sub == "ffn":
            self.kept[s].append((h, ha))
        return h + ha

    # ---- hooks ----------------------------------------------------------------------------------
    def lin(self, s, l, sub, mod, lin, x, cond):
        if self.method == "bitfit":
            key = (f"{site_prefix(s, l, sub)}.{mod}.{lin}.bias" if sub != "ffn"
                   else f"{site_prefix(s, l, sub)}.DenseReluDense.{lin}.bias")
            return self.P[key]
        if self.method == "lora" and lin in "qv" and sub != "ffn":
            A = self.P[f"{site_prefix(s, l, sub)}.{mod}.{lin}.lora_A"]
            B = self.P[f"{site_prefix(s, l, sub)}.{mod}.{lin}.lora_B"]
            g = route(self.routing, x @ A.T, (cond @ A.T)[:, None, :])
            return self.o["lora_alpha"] / self.o["r"] * g @ B.T
        return None

    def out(self, s, l, sub, h, cond):
        if self.method in ("full", "bitfit", "lora"):
            return h
        if sub == "ffn":
            return self.adapter(s, l, sub, self.module, h, cond)
        if sub == "self" and self.attn_module:
            return self.adapter(s, l, sub, self.attn_module, h, cond)
        return h


# ---- VL-T5 with the hooks (vlt5_reference.py's model, opened up) --------------------------------------
def linear(W, M, s, l, sub, mod, lin, name, x, cond):
    y = x @ W[name].T
    d = M.lin(s, l, sub, mod, lin, x, cond)
    return y if d is None else y + d


def attention(W, M, s, l, sub, mod, prefix, x_q, x_kv, additive, cond):
    B, Tq, _ = x_q.shape
    Tk = x_kv.shape[1]
    H, dk = C["n_heads"], C["d_kv"]
    p = f"{prefix}.{mod}."
    q = linear(W, M, s, l, sub, mod, "q", p + "q.weight", x_q, cond).view(B, Tq, H, dk).transpose(1, 2)
    k = linear(W, M, s, l, sub, mod, "k", p + "k.weight", x_kv, cond).view(B, Tk, H, dk).transpose(1, 2)
    v = linear(W, M, s, l, sub, mod, "v", p + "v.weight", x_kv, cond).view(B, Tk, H, dk).transpose(1, 2)
    ctx = (torch.softmax(q @ k.transpose(-1, -2) + additive, dim=-1) @ v).transpose(1, 2).reshape(B, Tq, H * dk)
    return M.out(s, l, sub, linear(W, M, s, l, sub, mod, "o", p + "o.weight", ctx, cond), cond)


def ffn(W, M, s, l, prefix, x, cond):
    h = torch.relu(linear(W, M, s, l, "ffn", None, "wi", prefix + ".DenseReluDense.wi.weight", x, cond))
    return M.out(s, l, "ffn", linear(W, M, s, l, "ffn", None, "wo", prefix + ".DenseReluDense.wo.weight", h, cond), cond)


def forward(W, M, text, feats, boxes, labels):
    M.kept = [[], []]
    vis = V.visual_embedding(W, feats, boxes, C)
    cond = vis.mean(1)  # x_R: the mean visual token of each example
    mask = V.encoder_mask(text, C)
    x = torch.cat([W["shared.weight"][text], vis], dim=1)
    T, Lt = x.shape[1], text.shape[1]
    bias = torch.zeros(C["n_heads"], T, T)
    bias[:, :Lt, :Lt] = V.position_bias(W["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"],
                                        Lt, Lt, True)
    additive = bias[None] + (~mask)[:, None, None, :] * V.NEG
    for l in range(C["n_enc_layers"]):
        pre = f"encoder.block.{l}.layer."
        h = V.rms_norm(x, W[pre + "0.layer_norm.weight"])
        x = x + attention(W, M, 0, l, "self", "SelfAttention", pre + "0", h, h, additive, cond)
        x = x + ffn(W, M, 0, l, pre + "1", V.rms_norm(x, W[pre + "1.layer_norm.weight"]), cond)
    enc = V.rms_norm(x, W["encoder.final_layer_norm.weight"])
    y = W["shared.weight"][V.shift_right(labels)]
    Ld = y.shape[1]
    causal = torch.ones(Ld, Ld, dtype=torch.bool).tril()
    self_add = (V.position_bias(W["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"], Ld, Ld,
                                False) + (~causal) * V.NEG)[None]
    cross_add = (~mask)[:, None, None, :] * V.NEG
    for l in range(C["n_dec_layers"]):
        pre = f"decoder.block.{l}.layer."
        h = V.rms_norm(y, W[pre + "0.layer_norm.weight"])
        y = y + attention(W, M, 1, l, "self", "SelfAttention", pre + "0", h, h, self_add, cond)
        h = V.rms_norm(y, W[pre + "1.layer_norm.weight"])
        y = y + attention(W, M, 1, l, "cross", "EncDecAttention", pre + "1", h, enc, cross_add, cond)
        y = y + ffn(W, M, 1, l, pre + "2", V.rms_norm(y, W[pre + "2.layer_norm.weight"]), cond)
    dec = V.rms_norm(y, W["decoder.final_layer_norm.weight"])
    return V.lm_logits(W, dec, C), enc, dec, mask


# ---- MixPHM's regulariser, as the authors' R2Loss and MILoss compute it (docs/methods.md) -------------
def first_positions(x, mask):
    lens = mask.long().sum(-1).clamp(min=1)
    return torch.cat([x[i][:lens[i]] for i in range(x.shape[0])]), lens


def redundancy(up, res, mask, lam):
    u, _ = first_positions(up, mask)
    r, _ = first_positions(res, mask)
    c = F.normalize(u, dim=1).T @ F.normalize(r, dim=1)
    off = c - torch.diag(torch.diagonal(c))
    return lam * off.pow(2).sum() / up.shape[0]


def mutual_information(up, g, mask):
    tok, lens = first_positions(up, mask)
    M, B = tok.shape[0], g.shape[0]
    own = torch.repeat_interleave(torch.arange(B), lens)
    pos = torch.zeros(M, B)
    pos[torch.arange(M), own] = 1.0
    neg = 1.0 - pos
    res = tok @ g.T
    e_pos = torch.sum(math.log(2.0) - F.softplus(-res * pos)) / M
    q = res * neg
    e_neg = torch.sum(F.softplus(-q) + q - math.log(2.0)) / (M * (B - 1))
    return e_neg - e_pos


def regularisers(M, enc, dec, mask, o):
    masks = [mask, torch.ones(dec.shape[0], dec.shape[1], dtype=torch.bool)]
    outs = [enc, dec]
    red, mi = [], []
    for s in range(2):
        red.append(torch.stack([redundancy(ha, h, masks[s], o["red_lambda"]) for h, ha in M.kept[s]]).mean())
        mi.append(torch.stack([mutual_information(ha, outs[s].mean(1), masks[s]) for h, ha in M.kept[s]]).mean())
    return o["red_weight"] * 0.5 * (red[0] + red[1]), o["mi_weight"] * 0.5 * (mi[0] + mi[1])


def kl_to(z, target):
    """F.kl_div(log_softmax(z), softmax(target.detach()), batchmean) over the rows."""
    V_ = z.shape[-1]
    return F.kl_div(F.log_softmax(z.reshape(-1, V_), -1), F.softmax(target.detach().reshape(-1, V_), -1),
                    reduction="batchmean")


# ---- the cases --------------------------------------------------------------------------------------
BASE = dict(r=2, lora_alpha=3.0, bottleneck=4, phm_dim=4, rank=2, experts=3, share_up=0, share_down=0, alpha=1.0,
            red_weight=0.0, mi_weight=0.0, red_lambda=3.9e-3, consistency=0.0, offset_A=1, offset_B=2)


def cases():
    yield "bitfit", "bitfit", "none", {}
    for r in ROUTES:
        suffix = "" if r == "none" else "+" + r
        yield "lora" + suffix, "lora", r, {}
        yield "houlsby" + suffix, "houlsby", r, {}
        yield "pfeiffer" + suffix, "pfeiffer", r, {}
        yield "mixphm" + suffix, "mixphm", r, dict(bottleneck=8, share_down=1, alpha=1.5, red_weight=0.2,
                                                   mi_weight=0.04)
    yield "compacter", "compacter", "none", dict(bottleneck=8, rank=1)
    yield "compacter++", "compacter++", "none", dict(bottleneck=8, rank=1)
    yield "adamix", "adamix", "none", dict(share_up=1)
    yield "adamix_consistency", "adamix", "none", dict(share_up=1, consistency=2.0)


def run_case(f, W, inputs, name, method, routing, extra):
    text, feats, boxes, labels, weights = inputs
    o = dict(BASE, **extra)
    M = Method(method, routing, o)
    M.offset = o["offset_A"]
    logits, enc, dec, mask = forward(W, M, text, feats, boxes, labels)
    vqa, _ = V.vqa_loss(logits, labels, weights, text.shape[0])
    red = mi = cons = torch.zeros(())
    if method == "mixphm":
        red, mi = regularisers(M, enc, dec, mask, o)
    if o["consistency"] > 0:  # a second pass with other experts, both targets detached
        M.offset = o["offset_B"]
        logits_b, _, _, _ = forward(W, M, text, feats, boxes, labels)
        cons = o["consistency"] * 0.5 * (kl_to(logits, logits_b) + kl_to(logits_b, logits))
    total = vqa + red + mi + cons
    total.backward()
    p = name + "."
    config = [METHODS.index(method), ROUTES.index(routing), o["r"], o["lora_alpha"], o["bottleneck"], o["phm_dim"],
              o["rank"], o["experts"], o["share_up"], o["share_down"], o["alpha"], o["red_weight"], o["mi_weight"],
              o["red_lambda"], o["consistency"], o["offset_A"], o["offset_B"]]
    f[p + "config"] = np.array(config, np.float64)
    f[p + "logits"] = V.f32(logits)
    f[p + "loss"] = np.array([vqa.item(), red.item(), mi.item(), cons.item()], np.float64)
    # experts that were not used get no gradient (None in torch): zeros here
    f[p + "grad"] = np.concatenate([V.f32(t.grad if t.grad is not None else torch.zeros_like(t)).ravel()
                                    for t in M.P.values()])
    f[p + "grad_names"] = np.frombuffer("\n".join(M.P).encode(), np.uint8)
    if method in ("adamix", "mixphm"):
        with torch.no_grad():
            M.merged = True
            f[p + "logits_eval"] = V.f32(forward(W, M, text, feats, boxes, labels)[0])
    print(f"{name:20s} loss {vqa.item():.6f} red {red.item():.6f} mi {mi.item():.6f} cons {cons.item():.6f}, "
          f"{len(M.P)} tensors")


# ---- several optimizer steps, as the authors' loop takes them ------------------------------------
TRAIN_STEPS, TRAIN_LR, TRAIN_WD, TRAIN_CLIP = 6, 1e-3, 0.01, 5.0


def train_case(f, W, inputs):
    """MixPHM with its regulariser, TRAIN_STEPS steps as MixPHM's train.py takes them: step s draws the
    experts (s + layer + 2 stack + proj) mod E; clip_grad_norm_ over every parameter; HF AdamW, which
    skips a parameter whose .grad is None (an expert not drawn); then every .grad set to None."""
    text, feats, boxes, labels, weights = inputs
    o = dict(BASE, bottleneck=8, share_down=1, alpha=1.5, red_weight=0.2, mi_weight=0.04, offset_A=0)
    M = Method("mixphm", "none", o)
    state, losses = {}, []
    for step in range(TRAIN_STEPS):
        M.offset = step
        logits, enc, dec, mask = forward(W, M, text, feats, boxes, labels)
        vqa, _ = V.vqa_loss(logits, labels, weights, text.shape[0])
        red, mi = regularisers(M, enc, dec, mask, o)
        total = vqa + red + mi
        total.backward()
        live = [(n, t) for n, t in M.P.items() if t.grad is not None]
        torch.nn.utils.clip_grad_norm_([t for _, t in live], TRAIN_CLIP)
        V.hf_adamw_step([t for _, t in live], [n for n, _ in live], state, TRAIN_LR, TRAIN_WD)
        for t in M.P.values():
            t.grad = None
        losses.append(total.item())
    f["train.config"] = np.array([TRAIN_STEPS, TRAIN_LR, TRAIN_WD, TRAIN_CLIP, o["bottleneck"], o["phm_dim"],
                                  o["rank"], o["experts"], o["share_up"], o["share_down"], o["alpha"],
                                  o["red_weight"], o["mi_weight"], o["red_lambda"]], np.float64)
    f["train.loss"] = np.array(losses, np.float64)
    f["train.params"] = np.concatenate([V.f32(t.detach()).ravel() for t in M.P.values()])
    f["train.adam_step"] = np.array([state[n]["step"] if n in state else 0 for n in M.P], np.int32)
    f["train.names"] = np.frombuffer("\n".join(M.P).encode(), np.uint8)
    print(f"{'train':20s} {TRAIN_STEPS} steps, loss {losses[0]:.6f} -> {losses[-1]:.6f}")


def main():
    out = os.path.join(HERE, "fixtures", "peft.h5")
    text, feats, boxes, labels = V.make_inputs(C, [5, 9, 12], [3, 1, 4], seed=11)
    weights = torch.tensor([1.0, 0.3, 0.6])
    W = V.make_weights(C, WEIGHT_SEED)
    inputs = (text, feats.double(), boxes.double(), labels, weights)
    with h5py.File(out, "w") as f:
        V.write_common(f, C, text, feats, boxes, labels, weights, WEIGHT_SEED, text.shape[0])
        f.attrs["peft_seed"] = np.int64(PEFT_SEED)
        for name, method, routing, extra in cases():
            run_case(f, W, inputs, name, method, routing, extra)
        train_case(f, W, inputs)
    print(f"{out}: {os.path.getsize(out)} bytes")


if __name__ == "__main__":
    main()
