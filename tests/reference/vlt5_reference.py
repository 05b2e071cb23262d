#!/usr/bin/python3
"""Independent PyTorch implementation of VL-T5 (as MixPHM uses it) that writes the fixtures the C tests
compare against.  Written from the model's description (docs/vlt5.md), in plain torch without HF
transformers, computing in float64 so that the fixtures carry only the C side's float32 rounding.  Dropout
is off.

    /usr/bin/python3 tests/reference/vlt5_reference.py fixtures     # writes tests/reference/fixtures/*.h5
    /usr/bin/python3 tests/reference/vlt5_reference.py make-pth OUT.pth [--broken KIND]
                                                                    # a synthetic FewVLM-style checkpoint
    /usr/bin/python3 tests/reference/vlt5_reference.py make-pths DIR   # good.pth and one per broken KIND

Fixtures (weights are not stored: fixture_weights.py defines them):
  vlt5_a.h5   d 64, 4 heads, 2+2 layers: inputs with padding and different lengths, encoder and decoder
              outputs, logits, loss, gradients w.r.t. the embedded inputs of both stacks with a frozen
              backbone, greedy decoding; relative position buckets from -300 to 300
  vlt5_b.h5   d 32, 2 heads, 2+2 layers, FewVLM visual biases: loss and the gradient of every parameter
              (full fine-tuning), with a global batch larger than the local one
  adamw.h5    HF AdamW + linear warm-up schedule + clip_grad_norm_ over a few steps
  convert_c.h5  tools/convert_vlt5.py's output for the make-pth checkpoint of config C (1+1 layers)
"""
import argparse
import math
import os
import subprocess
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixture_weights import fixture_tensor  # noqa: E402

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
IGNORE = -100
PAD, EOS = 0, 1

CONFIG_A = dict(d_model=64, n_heads=4, d_kv=16, d_ff=128, n_enc_layers=2, n_dec_layers=2, vocab=80, feat_dim=16,
                n_regions=36, visual_bias=0)
CONFIG_B = dict(d_model=32, n_heads=2, d_kv=16, d_ff=64, n_enc_layers=2, n_dec_layers=2, vocab=48, feat_dim=8,
                n_regions=36, visual_bias=1)
CONFIG_C = dict(d_model=16, n_heads=2, d_kv=8, d_ff=32, n_enc_layers=1, n_dec_layers=1, vocab=48, feat_dim=8,
                n_regions=36, visual_bias=1)


# ---- parameters: names and shapes of docs/vlt5.md, "Weight files" ----------------------------------
def param_shapes(c):
    d, inner, ff = c["d_model"], c["n_heads"] * c["d_kv"], c["d_ff"]
    s = {"shared.weight": (c["vocab"], d)}
    ve = "encoder.visual_embedding."
    s[ve + "feat_embedding.0.weight"] = (d, c["feat_dim"])
    if c["visual_bias"]:
        s[ve + "feat_embedding.0.bias"] = (d,)
    s[ve + "feat_embedding.1.weight"] = (d,)
    s[ve + "absolute_vis_pos_embedding.0.weight"] = (d, 5)
    if c["visual_bias"]:
        s[ve + "absolute_vis_pos_embedding.0.bias"] = (d,)
    s[ve + "absolute_vis_pos_embedding.1.weight"] = (d,)
    s[ve + "img_order_embedding.weight"] = (2, d)

    def attn(prefix, module):
        for p in "qkv":
            s[f"{prefix}.{module}.{p}.weight"] = (inner, d)
        s[f"{prefix}.{module}.o.weight"] = (d, inner)
        s[f"{prefix}.layer_norm.weight"] = (d,)

    def ffn(prefix):
        s[f"{prefix}.DenseReluDense.wi.weight"] = (ff, d)
        s[f"{prefix}.DenseReluDense.wo.weight"] = (d, ff)
        s[f"{prefix}.layer_norm.weight"] = (d,)

    for l in range(c["n_enc_layers"]):
        if l == 0:
            s["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = (32, c["n_heads"])
        attn(f"encoder.block.{l}.layer.0", "SelfAttention")
        ffn(f"encoder.block.{l}.layer.1")
    s["encoder.final_layer_norm.weight"] = (d,)
    for l in range(c["n_dec_layers"]):
        if l == 0:
            s["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] = (32, c["n_heads"])
        attn(f"decoder.block.{l}.layer.0", "SelfAttention")
        attn(f"decoder.block.{l}.layer.1", "EncDecAttention")
        ffn(f"decoder.block.{l}.layer.2")
    s["decoder.final_layer_norm.weight"] = (d,)
    return s


def make_weights(c, seed, requires_grad=False):
    return {n: torch.tensor(fixture_tensor(n, shp, c, seed), dtype=torch.float64, requires_grad=requires_grad)
            for n, shp in param_shapes(c).items()}


# ---- the model ----------------------------------------------------------------------------------------
def rms_norm(x, w, eps=1e-6):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def bucket(rel, bidirectional, num_buckets=32, max_distance=128):
    """Bucket of relative positions (key - query), computed in float32 as T5 does."""
    out = torch.zeros_like(rel)
    n = rel
    if bidirectional:
        num_buckets //= 2
        out = out + (n > 0).long() * num_buckets
        n = n.abs()
    else:
        n = -torch.clamp(n, max=0)
    exact = num_buckets // 2
    nf = n.to(torch.float32)
    large = exact + (torch.log(nf / exact) / math.log(max_distance / exact) * (num_buckets - exact)).to(torch.long)
    large = torch.clamp(large, max=num_buckets - 1)
    return out + torch.where(n < exact, n, large)


def position_bias(table, n_q, n_k, bidirectional):
    rel = torch.arange(n_k)[None, :] - torch.arange(n_q)[:, None]
    return table[bucket(rel, bidirectional)].permute(2, 0, 1)  # [H, n_q, n_k]


def attention(W, prefix, module, x_q, x_kv, additive, c):
    """Multi-head attention with unscaled logits; `additive` [B or 1, H or 1, Tq, Tk] holds bias + mask."""
    B, Tq, _ = x_q.shape
    Tk = x_kv.shape[1]
    H, dk = c["n_heads"], c["d_kv"]
    p = f"{prefix}.{module}."
    q = (x_q @ W[p + "q.weight"].T).view(B, Tq, H, dk).transpose(1, 2)
    k = (x_kv @ W[p + "k.weight"].T).view(B, Tk, H, dk).transpose(1, 2)
    v = (x_kv @ W[p + "v.weight"].T).view(B, Tk, H, dk).transpose(1, 2)
    weights = torch.softmax(q @ k.transpose(-1, -2) + additive, dim=-1)
    ctx = (weights @ v).transpose(1, 2).reshape(B, Tq, H * dk)
    return ctx @ W[p + "o.weight"].T


def ffn(W, prefix, x):
    return torch.relu(x @ W[prefix + ".DenseReluDense.wi.weight"].T) @ W[prefix + ".DenseReluDense.wo.weight"].T


def visual_embedding(W, feats, boxes, c):
    ve = "encoder.visual_embedding."
    area = (boxes[..., 3] - boxes[..., 2]) * (boxes[..., 1] - boxes[..., 0])  # VL-T5's quirk
    pos = torch.cat([boxes, area[..., None]], dim=-1)
    f = feats @ W[ve + "feat_embedding.0.weight"].T
    p = pos @ W[ve + "absolute_vis_pos_embedding.0.weight"].T
    if c["visual_bias"]:
        f = f + W[ve + "feat_embedding.0.bias"]
        p = p + W[ve + "absolute_vis_pos_embedding.0.bias"]
    f = rms_norm(f, W[ve + "feat_embedding.1.weight"])
    p = rms_norm(p, W[ve + "absolute_vis_pos_embedding.1.weight"])
    region_ids = c["vocab"] - 1 - torch.arange(c["n_regions"])
    return f + p + W[ve + "img_order_embedding.weight"][0] + W["shared.weight"][region_ids]


def encoder_input(W, text, feats, boxes, c):
    return torch.cat([W["shared.weight"][text], visual_embedding(W, feats, boxes, c)], dim=1)


def encoder_mask(text, c):
    return torch.cat([text != PAD, torch.ones(text.shape[0], c["n_regions"], dtype=torch.bool)], dim=1)


NEG = -1e9


def encoder(W, emb, mask, n_text, c):
    T = emb.shape[1]
    bias = torch.zeros(c["n_heads"], T, T)
    table = W["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
    bias[:, :n_text, :n_text] = position_bias(table, n_text, n_text, True)
    additive = bias[None] + (~mask)[:, None, None, :] * NEG
    x = emb
    for l in range(c["n_enc_layers"]):
        pre = f"encoder.block.{l}.layer."
        h = rms_norm(x, W[pre + "0.layer_norm.weight"])
        x = x + attention(W, pre + "0", "SelfAttention", h, h, additive, c)
        x = x + ffn(W, pre + "1", rms_norm(x, W[pre + "1.layer_norm.weight"]))
    return rms_norm(x, W["encoder.final_layer_norm.weight"])


def decoder(W, emb, enc_out, enc_mask, c):
    Ld = emb.shape[1]
    table = W["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
    causal = torch.ones(Ld, Ld, dtype=torch.bool).tril()
    self_add = (position_bias(table, Ld, Ld, False) + (~causal) * NEG)[None]
    cross_add = (~enc_mask)[:, None, None, :] * NEG
    x = emb
    for l in range(c["n_dec_layers"]):
        pre = f"decoder.block.{l}.layer."
        h = rms_norm(x, W[pre + "0.layer_norm.weight"])
        x = x + attention(W, pre + "0", "SelfAttention", h, h, self_add, c)
        h = rms_norm(x, W[pre + "1.layer_norm.weight"])
        x = x + attention(W, pre + "1", "EncDecAttention", h, enc_out, cross_add, c)
        x = x + ffn(W, pre + "2", rms_norm(x, W[pre + "2.layer_norm.weight"]))
    return rms_norm(x, W["decoder.final_layer_norm.weight"])


def lm_logits(W, dec_out, c):
    return (dec_out * c["d_model"] ** -0.5) @ W["shared.weight"].T


def shift_right(labels):
    prev = torch.cat([torch.full((labels.shape[0], 1), PAD, dtype=labels.dtype), labels[:, :-1]], dim=1)
    return torch.where(prev == IGNORE, torch.full_like(prev, PAD), prev)


def vqa_loss(logits, labels, weights, global_batch):
    """Per-example mean token CE times the score, summed, over the global batch (docs/vlt5.md)."""
    V = logits.shape[-1]
    tok = torch.nn.functional.cross_entropy(logits.reshape(-1, V), labels.reshape(-1), ignore_index=IGNORE,
                                            reduction="none").view(labels.shape)
    mask = (labels != IGNORE).to(logits.dtype)
    per_example = (tok * mask).sum(1) / mask.sum(1).clamp(min=1) * weights
    return per_example.sum() / global_batch, per_example


def greedy(W, text, feats, boxes, c, max_new=19):
    """Greedy search without a cache: re-runs the decoder on the whole prefix each step."""
    with torch.no_grad():
        mask = encoder_mask(text, c)
        enc_out = encoder(W, encoder_input(W, text, feats, boxes, c), mask, text.shape[1], c)
        B = text.shape[0]
        seq = torch.full((B, 1), PAD, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        lengths = torch.full((B,), max_new, dtype=torch.long)
        margin = float("inf")
        for t in range(max_new):
            z = lm_logits(W, decoder(W, W["shared.weight"][seq], enc_out, mask, c), c)[:, -1]
            top2 = z.topk(2, dim=-1).values
            live = ~done
            if live.any():
                margin = min(margin, float((top2[live, 0] - top2[live, 1]).min()))
            nxt = torch.where(done, torch.full((B,), PAD, dtype=torch.long), z.argmax(-1))
            newly = (~done) & (nxt == EOS)
            lengths[newly] = t + 1
            done = done | newly
            seq = torch.cat([seq, nxt[:, None]], dim=1)
            if bool(done.all()):
                break
        out = torch.zeros(B, max_new, dtype=torch.long)
        out[:, :seq.shape[1] - 1] = seq[:, 1:]
        return out, lengths, margin


# ---- inputs ----------------------------------------------------------------------------------------
def make_inputs(c, text_lens, label_lens, seed):
    g = torch.Generator().manual_seed(seed)
    B, Lt, Ld = len(text_lens), max(text_lens), max(label_lens)
    words = c["vocab"] - 101 - 3 if c["vocab"] > 140 else c["vocab"] - c["n_regions"] - 3
    text = torch.zeros(B, Lt, dtype=torch.long)
    for b, n in enumerate(text_lens):
        text[b, :n - 1] = 3 + torch.randint(0, words, (n - 1,), generator=g)
        text[b, n - 1] = EOS
    labels = torch.full((B, Ld), IGNORE, dtype=torch.long)
    for b, n in enumerate(label_lens):
        labels[b, :n - 1] = 3 + torch.randint(0, words, (n - 1,), generator=g)
        labels[b, n - 1] = EOS
    feats = torch.rand(B, c["n_regions"], c["feat_dim"], generator=g, dtype=torch.float32) * 2
    xy = torch.rand(B, c["n_regions"], 2, generator=g, dtype=torch.float32) * 0.6
    wh = torch.rand(B, c["n_regions"], 2, generator=g, dtype=torch.float32) * 0.4
    boxes = torch.cat([xy, (xy + wh).clamp(max=1.0)], dim=-1)
    return text, feats, boxes, labels


def write_common(f, c, text, feats, boxes, labels, weights, seed, global_batch):
    for k, v in c.items():
        f.attrs[k] = np.int64(v)
    f.attrs["weight_seed"] = np.int64(seed)
    f.attrs["global_batch"] = np.int64(global_batch)
    f["text"] = text.numpy().astype(np.int32)
    f["feats"] = feats.numpy().astype(np.float32)
    f["boxes"] = boxes.numpy().astype(np.float32)
    f["labels"] = labels.numpy().astype(np.int32)
    f["weights"] = weights.numpy().astype(np.float32)


def f32(t):
    return t.detach().numpy().astype(np.float32)


def fixture_a(path):
    c = CONFIG_A
    text, feats, boxes, labels = make_inputs(c, [5, 9, 12], [3, 1, 4], seed=11)
    weights = torch.tensor([1.0, 0.3, 0.6])
    # The first weight seed whose greedy outputs end at different steps (one stops at EOS early) and
    # whose arg-max margins are wide enough for float32 to agree.
    for seed in range(1, 400):
        W = make_weights(c, seed)
        out, lengths, margin = greedy(W, text, feats.double(), boxes.double(), c)
        if margin > 2e-3 and int(lengths.min()) < 19 and len(set(lengths.tolist())) > 1:
            break
    else:
        raise SystemExit("no weight seed gives a usable greedy fixture")
    feats64, boxes64 = feats.double(), boxes.double()
    mask = encoder_mask(text, c)
    enc_emb = encoder_input(W, text, feats64, boxes64, c).detach().requires_grad_()
    dec_emb = W["shared.weight"][shift_right(labels)].detach().requires_grad_()
    enc_out = encoder(W, enc_emb, mask, text.shape[1], c)
    dec_out = decoder(W, dec_emb, enc_out, mask, c)
    logits = lm_logits(W, dec_out, c)
    loss, per_example = vqa_loss(logits, labels, weights, 3)
    loss.backward()
    with h5py.File(path, "w") as f:
        write_common(f, c, text, feats, boxes, labels, weights, seed, 3)
        f["enc_out"], f["dec_out"], f["logits"] = f32(enc_out), f32(dec_out), f32(logits)
        f["loss"], f["example_loss"] = np.array([loss.item()], np.float32), f32(per_example)
        f["d_enc_emb"], f["d_dec_emb"] = f32(enc_emb.grad), f32(dec_emb.grad)
        f["greedy"], f["greedy_len"] = out.numpy().astype(np.int32), lengths.numpy().astype(np.int32)
        f.attrs["greedy_margin"] = margin
        rel = torch.arange(-300, 301)
        f["bucket_bidirectional"] = bucket(rel, True).numpy().astype(np.int32)
        f["bucket_causal"] = bucket(rel, False).numpy().astype(np.int32)
    print(f"{path}: weight seed {seed}, loss {loss.item():.6f}, greedy lengths {lengths.tolist()}, "
          f"margin {margin:.4f}")


def fixture_b(path):
    c, seed, global_batch = CONFIG_B, 5, 5
    text, feats, boxes, labels = make_inputs(c, [7, 3], [2, 3], seed=12)
    weights = torch.tensor([0.9, 0.6])
    W = make_weights(c, seed, requires_grad=True)
    mask = encoder_mask(text, c)
    enc_out = encoder(W, encoder_input(W, text, feats.double(), boxes.double(), c), mask, text.shape[1], c)
    logits = lm_logits(W, decoder(W, W["shared.weight"][shift_right(labels)], enc_out, mask, c), c)
    loss, _ = vqa_loss(logits, labels, weights, global_batch)
    loss.backward()
    with h5py.File(path, "w") as f:
        write_common(f, c, text, feats, boxes, labels, weights, seed, global_batch)
        f["loss"] = np.array([loss.item()], np.float32)
        for name, w in W.items():
            f["grad." + name] = f32(w.grad)
    print(f"{path}: loss {loss.item():.6f}, {len(W)} parameter gradients")


# ---- AdamW as HF transformers.AdamW, schedule as get_linear_schedule_with_warmup ------------------------
def hf_adamw_step(params, names, state, lr, weight_decay, betas=(0.9, 0.999), eps=1e-6):
    for p, name in zip(params, names):
        st = state.setdefault(name, {"step": 0, "m": torch.zeros_like(p), "v": torch.zeros_like(p)})
        st["step"] += 1
        g = p.grad
        st["m"].mul_(betas[0]).add_(g, alpha=1.0 - betas[0])
        st["v"].mul_(betas[1]).addcmul_(g, g, value=1.0 - betas[1])
        step_size = lr * math.sqrt(1.0 - betas[1] ** st["step"]) / (1.0 - betas[0] ** st["step"])
        p.data.addcdiv_(st["m"], st["v"].sqrt().add_(eps), value=-step_size)
        wd = 0.0 if ("bias" in name or "LayerNorm.weight" in name) else weight_decay
        if wd > 0:
            p.data.add_(p.data, alpha=-lr * wd)


def fixture_adamw(path):
    torch.set_default_dtype(torch.float32)
    shapes = {"a.weight": (3, 4), "b.bias": (5,), "c.LayerNorm.weight": (4,)}
    dims = dict(d_model=1, n_heads=1, d_kv=1, d_ff=1, feat_dim=1)
    params = [torch.tensor(fixture_tensor(n, s, dims, 3), requires_grad=True) for n, s in shapes.items()]
    names = list(shapes)
    base_lr, wd, total, warmup, clip = 5e-3, 0.01, 8, 2, 5.0
    sched = lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup))  # noqa
    state, history, norms = {}, {n: [] for n in names}, []
    for step in range(total):
        for i, (p, n) in enumerate(zip(params, names)):
            # gradients large enough that clipping acts on some steps
            p.grad = torch.tensor(fixture_tensor(n, shapes[n], dims, 100 + step)) * (1.0 + 3.0 * (step % 3))
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, clip)))
        hf_adamw_step(params, names, state, base_lr * sched(step), wd)
        for p, n in zip(params, names):
            history[n].append(p.detach().numpy().copy())
    with h5py.File(path, "w") as f:
        f.attrs["lr"], f.attrs["weight_decay"], f.attrs["clip"] = base_lr, wd, clip
        f.attrs["total"], f.attrs["warmup"] = np.int64(total), np.int64(warmup)
        f["grad_norm"] = np.array(norms, np.float32)
        for n in names:
            f["after." + n] = np.stack(history[n]).astype(np.float32)
    torch.set_default_dtype(torch.float64)
    print(f"{path}: {total} steps, gradient norms {[round(x, 3) for x in norms]}")


# ---- a synthetic FewVLM checkpoint for the converter -------------------------------------------------
BROKEN = ["missing", "shape", "untied", "unexpected"]
TIED = ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight",
        "encoder.visual_embedding.obj_order_embedding.weight"]


def make_pth(path, broken=None, c=CONFIG_C, seed=7):
    """A state dict named as FewVLM saves it under DDP: 'module.' prefix, the encoder as 'vis_encoder',
    the tied copies of the embedding, the two visual biases, and the unused old cross-attention bias."""
    W = {n: torch.tensor(fixture_tensor(n, s, c, seed), dtype=torch.float32) for n, s in param_shapes(c).items()}
    for n in TIED:
        W[n] = W["shared.weight"]
    W["decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"] = torch.zeros(32, c["n_heads"])
    if broken == "missing":
        del W["decoder.block.0.layer.2.DenseReluDense.wo.weight"]
    elif broken == "shape":
        W["encoder.block.0.layer.0.SelfAttention.k.weight"] = torch.zeros(c["d_model"] + 1, c["d_model"])
    elif broken == "untied":
        W["lm_head.weight"] = W["shared.weight"] + 1.0
    elif broken == "unexpected":
        W["encoder.block.0.layer.1.adapter.weight"] = torch.zeros(4, 4)
    elif broken is not None:
        raise SystemExit(f"unknown --broken {broken}")
    sd = {}
    for n, t in W.items():
        n = ("vis_encoder." + n[len("encoder."):]) if n.startswith("encoder.") else n
        sd["module." + n] = t
    torch.save(sd, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    fx = sub.add_parser("fixtures")
    fx.add_argument("--out", default=os.path.join(HERE, "fixtures"))
    mp = sub.add_parser("make-pth")
    mp.add_argument("out")
    mp.add_argument("--broken", choices=BROKEN)
    sub.add_parser("make-pths").add_argument("dir")
    args = ap.parse_args()
    if args.cmd == "make-pth":
        make_pth(args.out, args.broken)
        return
    if args.cmd == "make-pths":
        make_pth(os.path.join(args.dir, "good.pth"))
        for kind in BROKEN:
            make_pth(os.path.join(args.dir, kind + ".pth"), kind)
        return
    os.makedirs(args.out, exist_ok=True)
    fixture_a(os.path.join(args.out, "vlt5_a.h5"))
    fixture_b(os.path.join(args.out, "vlt5_b.h5"))
    fixture_adamw(os.path.join(args.out, "adamw.h5"))
    pth = os.path.join(args.out, "convert_c.pth.tmp")
    make_pth(pth)
    try:
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "convert_vlt5.py"), pth,
                        os.path.join(args.out, "convert_c.h5")], check=True)
    finally:
        os.remove(pth)


if __name__ == "__main__":
    main()
