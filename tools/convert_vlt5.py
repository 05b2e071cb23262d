#!/usr/bin/python3
"""Converts a VL-T5 / FewVLM PyTorch checkpoint (.pth) into mixphm's HDF5 weight format.

    /usr/bin/python3 tools/convert_vlt5.py Epoch30_base.pth vlt5_base.h5

Reads the state dict as MixPHM loads it (docs/vlt5.md, "Converting a PyTorch checkpoint"): a leading
"module." is stripped and "vis_encoder." becomes "encoder.".  The tied copies of the token embedding
(encoder/decoder embed_tokens, lm_head, the visual obj_order_embedding) must equal "shared.weight" and
are written once as "shared.weight".  The two FewVLM visual-embedding biases are kept when present (the
model's model.visual_bias setting decides whether they are used); the unused
decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight is dropped.

The dimensions are read from the shapes; then every name and shape must match VL-T5's layout for those
dimensions (docs/vlt5.md, "Weight files").  Anything missing, unexpected or of another shape is refused
with its name and nothing is written.  The output has one float32 dataset per tensor, named like the
PyTorch key, and the attributes format = "mixphm-weights", format_version = 1 and the dimensions; it is
written to OUT.tmp and renamed when complete.
"""
import argparse
import os
import re
import sys

import h5py
import numpy as np
import torch

FORMAT, VERSION = "mixphm-weights", 1
IGNORED = {"decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight"}
TIED_COPIES = ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight",
               "encoder.visual_embedding.obj_order_embedding.weight")
VIS = "encoder.visual_embedding."
VIS_BIASES = (VIS + "feat_embedding.0.bias", VIS + "absolute_vis_pos_embedding.0.bias")
REL_BIAS = "{}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
# The module names of the authors' PEFT methods (tools/import_peft.py).
PEFT_NAMES = (r"\.(adapter|phm_adapter|self_attn_phm_adapter|ExpertSoup|phm_adapter_moe)\.|\.lora_[AB]$|^phm_rule$|"
              r"\.bias$")


class Refused(Exception):
    pass


def canonical(key):
    if key.startswith("module."):
        key = key[len("module."):]
    if key.startswith("vis_encoder."):
        key = "encoder." + key[len("vis_encoder."):]
    return key


def load_state_dict(path):
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # unpickling raises many kinds
        raise Refused(f"{path}: cannot read it as a PyTorch checkpoint ({type(e).__name__}: {e})")
    if isinstance(obj, dict) and not all(torch.is_tensor(v) for v in obj.values()):
        for k in ("state_dict", "model"):
            if isinstance(obj.get(k), dict):
                obj = obj[k]
                break
    if not isinstance(obj, dict) or not all(torch.is_tensor(v) for v in obj.values()):
        raise Refused(f"{path}: not a state dict of tensors")
    sd = {}
    for key, t in obj.items():
        name = canonical(key)
        if name in sd:
            raise Refused(f"{path}: '{key}' and another key both become '{name}'")
        sd[name] = t
    return sd


def untie(sd, path):
    """Keeps one copy of the tied token embedding, under shared.weight."""
    copies = [n for n in ("shared.weight",) + TIED_COPIES if n in sd]
    if not copies:
        raise Refused(f"{path}: no token embedding (shared.weight or one of its tied copies)")
    ref = sd[copies[0]]
    for n in copies[1:]:
        if sd[n].shape != ref.shape or not torch.equal(sd[n], ref):
            raise Refused(f"{path}: '{n}' should be tied to '{copies[0]}' but differs from it")
    for n in copies:
        del sd[n]
    sd["shared.weight"] = ref


def dims_of(sd, path):
    need = ["shared.weight", REL_BIAS.format("encoder"), "encoder.block.0.layer.0.SelfAttention.q.weight",
            "encoder.block.0.layer.1.DenseReluDense.wi.weight", VIS + "feat_embedding.0.weight"]
    absent = [n for n in need if n not in sd]
    if absent:
        raise Refused(f"{path}: cannot read the model dimensions, missing: {', '.join(absent)}")
    vocab, d = sd["shared.weight"].shape
    heads = sd[REL_BIAS.format("encoder")].shape[1]
    inner = sd["encoder.block.0.layer.0.SelfAttention.q.weight"].shape[0]
    blocks = {s: 1 + max([int(m.group(1)) for k in sd for m in [re.match(s + r"\.block\.(\d+)\.", k)] if m],
                         default=-1) for s in ("encoder", "decoder")}
    biases = [n in sd for n in VIS_BIASES]
    if any(biases) and not all(biases):
        raise Refused(f"{path}: has only one of the two visual-embedding biases ({', '.join(VIS_BIASES)})")
    if inner % heads:
        raise Refused(f"{path}: attention width {inner} is not a multiple of {heads} heads")
    return dict(d_model=d, n_heads=heads, d_kv=inner // heads,
                d_ff=sd["encoder.block.0.layer.1.DenseReluDense.wi.weight"].shape[0],
                n_enc_layers=blocks["encoder"], n_dec_layers=blocks["decoder"], vocab=vocab,
                feat_dim=sd[VIS + "feat_embedding.0.weight"].shape[1],
                rel_buckets=sd[REL_BIAS.format("encoder")].shape[0], rel_max_distance=128,
                visual_bias=int(all(biases)))


def expected_layout(dm):
    """Name -> shape of every tensor of VL-T5 with these dimensions (docs/vlt5.md, "Weight files")."""
    d, inner, ff, h = dm["d_model"], dm["n_heads"] * dm["d_kv"], dm["d_ff"], dm["n_heads"]
    out = {"shared.weight": (dm["vocab"], d),
           VIS + "feat_embedding.0.weight": (d, dm["feat_dim"]), VIS + "feat_embedding.1.weight": (d,),
           VIS + "absolute_vis_pos_embedding.0.weight": (d, 5), VIS + "absolute_vis_pos_embedding.1.weight": (d,),
           VIS + "img_order_embedding.weight": (2, d),
           "encoder.final_layer_norm.weight": (d,), "decoder.final_layer_norm.weight": (d,)}
    if dm["visual_bias"]:
        out.update({b: (d,) for b in VIS_BIASES})
    for stack in ("encoder", "decoder"):
        out[REL_BIAS.format(stack)] = (dm["rel_buckets"], h)
        layers = ("SelfAttention", "FFN") if stack == "encoder" else ("SelfAttention", "EncDecAttention", "FFN")
        for i in range(dm["n_enc_layers" if stack == "encoder" else "n_dec_layers"]):
            for j, kind in enumerate(layers):
                sub = f"{stack}.block.{i}.layer.{j}."
                out[sub + "layer_norm.weight"] = (d,)
                if kind == "FFN":
                    out[sub + "DenseReluDense.wi.weight"] = (ff, d)
                    out[sub + "DenseReluDense.wo.weight"] = (d, ff)
                else:
                    out.update({f"{sub}{kind}.{p}.weight": (inner, d) for p in "qkv"})
                    out[f"{sub}{kind}.o.weight"] = (d, inner)
    return out


def check(sd, dm, path):
    want = expected_layout(dm)
    problems = [f"missing: {n} {list(s)}" for n, s in want.items() if n not in sd]
    problems += [f"unexpected: {n} {list(sd[n].shape)}" for n in sd if n not in want]
    problems += [f"wrong shape: {n} is {list(sd[n].shape)}, expected {list(s)}"
                 for n, s in want.items() if n in sd and tuple(sd[n].shape) != s]
    if problems:
        peft = [n for n in sd if n not in want and re.search(PEFT_NAMES, n)]
        raise Refused(f"{path}: does not match VL-T5 with d_model {dm['d_model']}, {dm['n_heads']} heads, "
                      f"{dm['n_enc_layers']}+{dm['n_dec_layers']} layers, vocabulary {dm['vocab']}:\n  "
                      + "\n  ".join(problems)
                      + (f"\n({len(peft)} of them are PEFT tensors: tools/import_peft.py imports them)" if peft else ""))
    return want


def write(out, sd, dm, order):
    tmp = out + ".tmp"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs.create("format", np.bytes_(FORMAT))
            f.attrs["format_version"] = np.int64(VERSION)
            for k, v in dm.items():
                f.attrs[k] = np.int64(v)
            for name in order:
                x = sd[name].detach().to(torch.float32).numpy()
                # One chunk with a Fletcher32 checksum, as mixphm writes its own weights: a damaged byte fails the read.
                f.create_dataset(name, data=x, chunks=x.shape if x.size else None, fletcher32=bool(x.size))
        fd = os.open(tmp, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="VL-T5 / FewVLM .pth (a state dict)")
    ap.add_argument("out", help="mixphm weights file (.h5)")
    args = ap.parse_args()
    try:
        sd = load_state_dict(args.checkpoint)
        for n in IGNORED:
            sd.pop(n, None)
        untie(sd, args.checkpoint)
        dm = dims_of(sd, args.checkpoint)
        order = check(sd, dm, args.checkpoint)
        write(args.out, sd, dm, order)
    except Refused as e:
        print(f"convert_vlt5: {e}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError) as e:
        print(f"convert_vlt5: {args.checkpoint}: {e}", file=sys.stderr)
        return 1
    n = sum(int(np.prod(sd[k].shape)) for k in order)
    print(f"{args.out}: {len(order)} tensors, {n} parameters (d_model {dm['d_model']}, "
          f"{dm['n_enc_layers']}+{dm['n_dec_layers']} layers, vocabulary {dm['vocab']}, "
          f"visual biases {'kept' if dm['visual_bias'] else 'absent'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
