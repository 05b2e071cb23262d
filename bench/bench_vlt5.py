#!/usr/bin/python3
"""PyTorch counterpart of bench/bench_vlt5.c: the same VL-T5 (plain torch, the layer functions of
tests/reference/vlt5_reference.py plus dropout and a key/value cache), the same batch, the same two timings:

  * one training step: frozen backbone (no weight gradients), dropout 0.1, loss, backward down to the
    embedded encoder input; with a method (MixPHM or LoRA, tests/reference/peft_reference.py's, with the
    defaults of configs/defaults.yaml) the forward, the answer loss, MixPHM's regularisers and the
    backward into the method's tensors;
  * one greedy decoding batch: encoder once, cross-attention keys/values once, one token per step with a
    self-attention cache, stop when every example has produced EOS or after ANSWER steps (MixPHM with its
    experts averaged, as the C side decodes).

    /usr/bin/python3 bench/bench_vlt5.py [SIZE [BATCH [TEXT [ANSWER [REPEATS [THREADS [METHOD [PRECISION]]]]]]]]
    METHOD none (default), mixphm or lora; PRECISION fp32 (default) or bf16: the same script under
    torch.autocast("cpu", dtype=torch.bfloat16), the one line a user would add.

Linear layers are F.linear (what HF's nn.Linear calls).  The PyTorch methods have no dropout of their own
(MixPHM's inside the adapter, LoRA's on its input: the C side has them) and use fixed experts.  Prints one
JSON object (median and fastest repeat, seconds), like the C program.
"""
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "reference"))
import peft_reference as peft  # noqa: E402
import vlt5_reference as ref  # noqa: E402

torch.set_default_dtype(torch.float32)  # peft_reference sets float64 for its fixtures
SIZES = {"tiny": (64, 4, 16, 128, 2), "t5-small": (512, 8, 64, 2048, 6), "t5-base": (768, 12, 64, 3072, 12)}


def config(size):
    d, h, dk, ff, layers = SIZES[size]
    return dict(d_model=d, n_heads=h, d_kv=dk, d_ff=ff, n_enc_layers=layers, n_dec_layers=layers, vocab=32200,
                feat_dim=2048, n_regions=36, visual_bias=0)


def init_weights(c):
    """T5's initialisation (the values do not change the timings)."""
    d, dk, h, ff = c["d_model"], c["d_kv"], c["n_heads"], c["d_ff"]
    std = {".q.weight": (d * dk) ** -0.5, ".k.weight": d ** -0.5, ".v.weight": d ** -0.5, ".o.weight": (h * dk) ** -0.5,
           "wi.weight": d ** -0.5, "wo.weight": ff ** -0.5, "relative_attention_bias.weight": d ** -0.5}
    W = {}
    for name, shape in ref.param_shapes(c).items():
        if name.endswith("layer_norm.weight") or name.endswith("_embedding.1.weight"):
            W[name] = torch.ones(shape)
        else:
            s = next((v for k, v in std.items() if name.endswith(k)), 1.0)
            W[name] = torch.randn(shape) * s
    return W


# A site is (stack, layer, sublayer) as peft_reference.Method names them; M is the method or None.
def linear(W, M, site, mod, lin, name, x, cond):
    y = F.linear(x, W[name])
    if M is not None:
        delta = M.lin(*site, mod, lin, x, cond)
        if delta is not None:
            y = y + delta
    return y


def out_hook(M, site, h, cond):
    return h if M is None else M.out(*site, h, cond)


def attention(W, M, site, pre, mod, x_q, k, v, additive, c, p, train, cond):
    B, Tq, _ = x_q.shape
    H, dk = c["n_heads"], c["d_kv"]
    q = linear(W, M, site, mod, "q", f"{pre}.{mod}.q.weight", x_q, cond).view(B, Tq, H, dk).transpose(1, 2)
    w = torch.softmax(q @ k.transpose(-1, -2) + additive, dim=-1)
    w = F.dropout(w, p, train)
    o = linear(W, M, site, mod, "o", f"{pre}.{mod}.o.weight", (w @ v).transpose(1, 2).reshape(B, Tq, H * dk), cond)
    return out_hook(M, site, o, cond)


def kv(W, M, site, pre, mod, x, c, cond):
    B, T, _ = x.shape
    H, dk = c["n_heads"], c["d_kv"]
    k = linear(W, M, site, mod, "k", f"{pre}.{mod}.k.weight", x, cond).view(B, T, H, dk).transpose(1, 2)
    v = linear(W, M, site, mod, "v", f"{pre}.{mod}.v.weight", x, cond).view(B, T, H, dk).transpose(1, 2)
    return k, v


def ffn(W, M, site, pre, x, p, train, cond):
    h = F.dropout(torch.relu(linear(W, M, site, None, "wi", pre + ".DenseReluDense.wi.weight", x, cond)), p, train)
    return out_hook(M, site, linear(W, M, site, None, "wo", pre + ".DenseReluDense.wo.weight", h, cond), cond)


def encoder_input(W, text, feats, boxes, c):
    ve = "encoder.visual_embedding."
    area = (boxes[..., 3] - boxes[..., 2]) * (boxes[..., 1] - boxes[..., 0])
    f = ref.rms_norm(F.linear(feats, W[ve + "feat_embedding.0.weight"]), W[ve + "feat_embedding.1.weight"])
    pos = F.linear(torch.cat([boxes, area[..., None]], -1), W[ve + "absolute_vis_pos_embedding.0.weight"])
    pos = ref.rms_norm(pos, W[ve + "absolute_vis_pos_embedding.1.weight"])
    regions = W["shared.weight"][c["vocab"] - 1 - torch.arange(c["n_regions"])]
    vis = f + pos + W[ve + "img_order_embedding.weight"][0] + regions
    return torch.cat([W["shared.weight"][text], vis], dim=1)


def lm_logits(W, h, c):
    return F.linear(h * c["d_model"] ** -0.5, W["shared.weight"])


def encode(W, M, emb, mask, n_text, c, p, train, cond):
    T = emb.shape[1]
    bias = torch.zeros(c["n_heads"], T, T)
    bias[:, :n_text, :n_text] = ref.position_bias(W["encoder.block.0.layer.0.SelfAttention.relative_attention_bias"
                                                    ".weight"], n_text, n_text, True)
    additive = bias[None] + (~mask)[:, None, None, :] * -1e9
    x = F.dropout(emb, p, train)
    for l in range(c["n_enc_layers"]):
        pre = f"encoder.block.{l}.layer."
        h = ref.rms_norm(x, W[pre + "0.layer_norm.weight"])
        site = (0, l, "self")
        k, v = kv(W, M, site, pre + "0", "SelfAttention", h, c, cond)
        x = x + F.dropout(attention(W, M, site, pre + "0", "SelfAttention", h, k, v, additive, c, p, train, cond), p,
                          train)
        x = x + F.dropout(ffn(W, M, (0, l, "ffn"), pre + "1", ref.rms_norm(x, W[pre + "1.layer_norm.weight"]), p, train,
                              cond), p, train)
    return F.dropout(ref.rms_norm(x, W["encoder.final_layer_norm.weight"]), p, train)


def decode_layers(W, M, x, enc_kv, cross_add, self_add, c, p, train, cond, cache=None):
    for l in range(c["n_dec_layers"]):
        pre = f"decoder.block.{l}.layer."
        h = ref.rms_norm(x, W[pre + "0.layer_norm.weight"])
        site = (1, l, "self")
        k, v = kv(W, M, site, pre + "0", "SelfAttention", h, c, cond)
        if cache is not None:
            if l in cache:
                k, v = torch.cat([cache[l][0], k], 2), torch.cat([cache[l][1], v], 2)
            cache[l] = (k, v)
        x = x + F.dropout(attention(W, M, site, pre + "0", "SelfAttention", h, k, v, self_add, c, p, train, cond), p,
                          train)
        h = ref.rms_norm(x, W[pre + "1.layer_norm.weight"])
        x = x + F.dropout(attention(W, M, (1, l, "cross"), pre + "1", "EncDecAttention", h, *enc_kv[l], cross_add, c, p,
                                    train, cond), p, train)
        x = x + F.dropout(ffn(W, M, (1, l, "ffn"), pre + "2", ref.rms_norm(x, W[pre + "2.layer_norm.weight"]), p, train,
                              cond), p, train)
    return F.dropout(ref.rms_norm(x, W["decoder.final_layer_norm.weight"]), p, train)


def cross_kv(W, M, enc_out, c, cond):
    return [kv(W, M, (1, l, "cross"), f"decoder.block.{l}.layer.1", "EncDecAttention", enc_out, c, cond)
            for l in range(c["n_dec_layers"])]


def visual_cond(emb, n_text):
    return emb[:, n_text:].mean(1)  # x_R: the mean visual token of each example


def train_step(W, M, o, text, feats, boxes, labels, weights, c, autocast, p=0.1):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        mask = ref.encoder_mask(text, c)
        emb = encoder_input(W, text, feats, boxes, c).detach()
        if M is None:
            emb.requires_grad_()
        else:
            M.kept = [[], []]
        cond = visual_cond(emb, text.shape[1])
        enc_out = encode(W, M, emb, mask, text.shape[1], c, p, True, cond)
        Ld = labels.shape[1]
        table = W["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        causal = torch.ones(Ld, Ld, dtype=torch.bool).tril()
        self_add = (ref.position_bias(table, Ld, Ld, False) + (~causal) * -1e9)[None]
        x = F.dropout(W["shared.weight"][ref.shift_right(labels)], p, True)
        dec = decode_layers(W, M, x, cross_kv(W, M, enc_out, c, cond), (~mask)[:, None, None, :] * -1e9, self_add, c,
                            p, True, cond)
        loss, _ = ref.vqa_loss(lm_logits(W, dec, c), labels, weights, text.shape[0])
        if M is not None and M.method == "mixphm":
            red, mi = peft.regularisers(M, enc_out, dec, mask, o)
            loss = loss + red + mi
    loss.backward()
    return loss.item()


@torch.no_grad()
def greedy(W, M, text, feats, boxes, c, max_new, autocast):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        mask = ref.encoder_mask(text, c)
        emb = encoder_input(W, text, feats, boxes, c)
        cond = visual_cond(emb, text.shape[1])
        enc_out = encode(W, M, emb, mask, text.shape[1], c, 0.0, False, cond)
        enc_kv, cross_add = cross_kv(W, M, enc_out, c, cond), (~mask)[:, None, None, :] * -1e9
        table = W["decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        B = text.shape[0]
        tok, done, cache, steps = torch.zeros(B, dtype=torch.long), torch.zeros(B, dtype=torch.bool), {}, 0
        for t in range(max_new):
            self_add = ref.position_bias(table, t + 1, t + 1, False)[None, :, -1:, :]
            x = decode_layers(W, M, W["shared.weight"][tok][:, None], enc_kv, cross_add, self_add, c, 0.0, False, cond,
                              cache)
            nxt = lm_logits(W, x, c)[:, -1].argmax(-1)
            tok = torch.where(done, torch.zeros_like(nxt), nxt)
            done |= tok == ref.EOS
            steps = t + 1
            if bool(done.all()):
                break
    return steps


# configs/defaults.yaml's peft.lora and peft.mixphm, in peft_reference.Method's names.
METHOD_OPTIONS = dict(r=8, lora_alpha=1.0, bottleneck=64, phm_dim=4, rank=8, experts=4, share_up=0, share_down=1,
                      alpha=1.0, red_weight=0.2, mi_weight=0.04, red_lambda=3.9e-3)


def make_method(name, c):
    """peft_reference's method on this backbone, its tensors float32 leaves that train."""
    if name == "none":
        return None
    peft.C = c  # the reference sizes its tensors from its module's config
    M = peft.Method(name, "none", METHOD_OPTIONS)
    for k in M.P:
        M.P[k] = M.P[k].detach().float().requires_grad_()
    return M


def main():
    a = sys.argv[1:]
    size = a[0] if a else "t5-base"
    B, Lt, Ld, reps = (int(a[i]) if len(a) > i else dflt for i, dflt in ((1, 16), (2, 20), (3, 10), (4, 5)))
    threads = int(a[5]) if len(a) > 5 else int(os.environ.get("BENCH_THREADS", os.cpu_count() or 1))
    method = a[6] if len(a) > 6 else "none"
    precision = a[7] if len(a) > 7 else "fp32"
    if method not in ("none", "mixphm", "lora") or precision not in ("fp32", "bf16"):
        sys.exit("usage: bench_vlt5.py [SIZE [BATCH [TEXT [ANSWER [REPEATS [THREADS [none|mixphm|lora [fp32|bf16]]]]]]]]")
    autocast = precision == "bf16"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = config(size)
    W = init_weights(c)
    M = make_method(method, c)
    text = torch.zeros(B, Lt, dtype=torch.long)
    labels = torch.full((B, Ld), ref.IGNORE, dtype=torch.long)
    for b in range(B):
        tl, al = Lt - b % 4, Ld - b % 3
        text[b, :tl - 1] = torch.randint(3, 31003, (tl - 1,))
        text[b, tl - 1] = ref.EOS
        labels[b, :al - 1] = torch.randint(3, 31003, (al - 1,))
        labels[b, al - 1] = ref.EOS
    feats = torch.rand(B, 36, c["feat_dim"])
    xy = torch.rand(B, 36, 2) * 0.5
    boxes = torch.cat([xy, xy + 0.3], -1)
    weights = torch.ones(B)
    t_train, t_dec, loss, steps = [], [], 0.0, 0
    for r in range(reps + 1):  # the first run warms up
        t0 = time.perf_counter()
        if M is not None:
            for t in M.P.values():
                t.grad = None
        loss = train_step(W, M, METHOD_OPTIONS, text, feats, boxes, labels, weights, c, autocast)
        if r:
            t_train.append(time.perf_counter() - t0)
    if M is not None:
        M.merged = True  # evaluation: MixPHM's experts averaged
    for r in range(reps + 1):
        t0 = time.perf_counter()
        steps = greedy(W, M, text, feats, boxes, c, Ld, autocast)
        if r:
            t_dec.append(time.perf_counter() - t0)
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "size": size, "method": method,
                      "precision": precision, "batch": B, "text": Lt, "answer": Ld, "threads": torch.get_num_threads(),
                      "train_step_s": round(statistics.median(t_train), 4), "train_step_min_s": round(min(t_train), 4),
                      "decode_s": round(statistics.median(t_dec), 4), "decode_min_s": round(min(t_dec), 4),
                      "decode_steps": steps,
                      "loss": round(loss, 4)}))


if __name__ == "__main__":
    main()
