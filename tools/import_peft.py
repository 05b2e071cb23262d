#!/usr/bin/python3
"""Imports a PyTorch checkpoint of VL-T5 with PEFT tensors in the authors' naming (MixPHM's phm_adapter_moe
and phm_rule, and the baselines of MixPHM's code) into mixphm's weight files.

    /usr/bin/python3 tools/import_peft.py BEST.pth OUT_DIR [--method M] [--settings EXPORT.json]
                                          [--set peft.KEY=VALUE ...] [--lora-weights merged|unmerged]
                                          [--drop-lora-bias]

writes, in OUT_DIR:
  weights.h5    the method's trainable tensors, as a run's best.h5 holds them (`mixphm eval CONFIG
                --weights OUT_DIR/weights.h5` scores it)
  backbone.h5   the backbone, as tools/convert_vlt5.py writes it, when the checkpoint has one (a state
                dict saved by the authors' model class has; one written by tools/export_peft.py has not)
  peft.yaml     the config keys the tensors imply: peft.method and the method's keys, model.size and
                model.checkpoint when there is a backbone

The method is told by the module names (docs/interop.md has the table); --method only checks it.  Keys no
tensor shape gives (LoRA's alpha, MixPHM's alpha, the routing function) come from --settings (the JSON
tools/export_peft.py writes) or --set, else their defaults, with a warning.  What the authors' modules
hold besides the trained tensors must say nothing mixphm cannot represent: the repeated PHM rule equal to
the shared one, expert_score_weight uniform, the biases that MixPHM's BitFit and LoRA have and mixphm's
have not equal to zero (--drop-lora-bias drops LoRA's anyway).  Any other tensor, a missing one or one of
another shape is refused with its name, and nothing is written.

LoRA: loralib adds B A into q.weight and v.weight when the model is put into eval mode, and MixPHM's loop
saves BEST.pth right after evaluating, so its backbone is merged; the file cannot tell, so a checkpoint with
both the backbone and LoRA needs --lora-weights (merged: B A alpha / r is subtracted again).
"""
import argparse
import json
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert_vlt5 as convert  # noqa: E402
import peft_interop as P  # noqa: E402

MODULE_KIND = (
    (".phm_adapter_moe.", "mixphm"), (".ExpertSoup.", "adamix"), (".self_attn_phm_adapter.", "compacter"),
    (".phm_adapter.", "compacter++"), (".cross_attn_phm_adapter.", None), (".AdaMoE.", None), (".ada_moe.", None),
)
BIAS = re.compile(r"((SelfAttention|EncDecAttention)\.[qkvo]|DenseReluDense\.w[io])\.bias$|layer_norm\.bias$")


def is_peft_key(name):
    if any(tok in name for tok, _ in MODULE_KIND) or ".adapter." in name:
        return True
    if name.endswith((".lora_A", ".lora_B")) or name in ("phm_rule", "phm_rule_left", "phm_rule_right"):
        return True
    return bool(BIAS.search(name)) or name == "lm_head.bias" or name in (
        P.VIS + "feat_embedding.1.bias", P.VIS + "absolute_vis_pos_embedding.1.bias")


def kind_of(name):
    """The method a key belongs to, "?" for a module mixphm has not, None when it does not say."""
    for tok, kind in MODULE_KIND:
        if tok in name:
            return kind or "?"
    if ".adapter." in name:
        return "houlsby" if re.search(r"\.layer\.0\.adapter\.", name) else "pfeiffer"
    if name.endswith((".lora_A", ".lora_B")):
        return "lora"
    return None


def detect(peft, path):
    kinds = {}
    for n in peft:
        k = kind_of(n)
        if k:
            kinds.setdefault(k, n)
    if "?" in kinds:
        bad = [n for n in peft if kind_of(n) == "?"]
        raise P.Refused(f"{path}: modules mixphm does not have:\n  " +
                        "\n  ".join(f"unexpected: {n} {list(peft[n].shape)}{P.hint(n)}" for n in bad))
    # A Houlsby adapter after the FFN and a Compacter++ one are parts of Houlsby and Compacter.
    if "houlsby" in kinds:
        kinds.pop("pfeiffer", None)
    if "compacter" in kinds:
        kinds.pop("compacter++", None)
    if len(kinds) > 1:
        raise P.Refused(f"{path}: tensors of more than one method: " +
                        ", ".join(f"{k} ({n})" for k, n in sorted(kinds.items())))
    if kinds:
        return next(iter(kinds))
    if any(BIAS.search(n) for n in peft):
        return "bitfit"
    return None


def check_extras(method, peft, path, drop_lora_bias):
    """Checks the authors' extras of `method` (peft_interop.extras) and removes them from `peft`."""
    problems, notes = [], []
    names = [n for n in peft if P.is_extra(method, n)]
    copies = [n for n in names if n.endswith(".phm_rule")]
    if copies and "phm_rule" not in peft:
        peft["phm_rule"] = peft[copies[0]]
    for n in names:
        a = peft[n]
        if n.endswith(".phm_rule"):
            if a.shape != peft["phm_rule"].shape or not np.array_equal(a, peft["phm_rule"]):
                problems.append(f"{n} differs from phm_rule: mixphm has one rule for every projection "
                                "(the scripts' --shared_phm_rule True)")
        elif n.endswith(".expert_score_weight"):
            if a.size and not np.all(a == a.flat[0]):
                problems.append(f"{n} is {a.tolist()}: a weighted average of the experts; mixphm averages "
                                "them uniformly (zero scores)")
        elif method == "lora":
            if np.any(a != 0):
                if not drop_lora_bias:
                    problems.append(f"{n} is not zero: loralib's Linear keeps nn.Linear's bias, which mixphm's "
                                    "LoRA has not (docs/methods.md); --drop-lora-bias drops it, which changes "
                                    "what the model computes")
                else:
                    notes.append(n)
        elif np.any(a != 0):
            problems.append(f"{n} is not zero: MixPHM's BitFit also trains the layer norms' and the LM head's "
                            "biases; mixphm's has the block linears' only (docs/methods.md)")
    if problems:
        raise P.Refused(f"{path}:\n  " + "\n  ".join(problems))
    for n in names:
        del peft[n]
    if notes:
        print(f"import_peft: warning: dropped {len(notes)} non-zero LoRA biases ({notes[0]}, ...)", file=sys.stderr)


def settings_given(args, method):
    """Flat config keys from --settings and --set."""
    given = {}
    if args.settings:
        with open(args.settings) as f:
            s = json.load(f)
        if s.get("method") != method:
            raise P.Refused(f"{args.settings}: its method is {s.get('method')}, the checkpoint's {method}")
        given.update(s.get("config", {}))
    for kv in args.set:
        if "=" not in kv or not kv.startswith("peft."):
            raise P.Refused(f"--set {kv}: expected peft.KEY=VALUE")
        k, v = kv.split("=", 1)
        given[k] = P.parse_value(v)
    return given


def resolve(method, inferred, given):
    """The method's keys: what the tensors say, then what was given, then the defaults."""
    sec = P.SECTION.get(method)
    keys = dict(P.DEFAULTS.get(sec, {}))
    for k in keys:
        if f"peft.{sec}.{k}" in given:
            keys[k] = given[f"peft.{sec}.{k}"]
    for k, v in inferred.items():
        g = given.get(f"peft.{sec}.{k}")
        if g is not None and g != v and not (k.startswith("share_") and inferred.get("experts") == 1):
            raise P.Refused(f"peft.{sec}.{k}: the settings say {g}, the tensors {v}")
        keys[k] = v
    for k in P.NOT_IN_TENSORS.get(sec, ()):
        if f"peft.{sec}.{k}" not in given:
            print(f"import_peft: warning: peft.{sec}.{k} is not in the tensors: the default {keys[k]} is assumed "
                  f"(give --set peft.{sec}.{k}=VALUE or --settings if the run used another)", file=sys.stderr)
    routing = given.get("peft.routing", "none")
    if routing not in P.ROUTINGS or (routing != "none" and method not in P.ROUTED):
        raise P.Refused(f"peft.routing: {routing} is not a routing function of {method}")
    # peft.yaml lists what the checkpoint and the caller said; the rest is the defaults anyway.
    said = set(inferred) | set(P.NOT_IN_TENSORS.get(sec, ())) | {k for k in keys if f"peft.{sec}.{k}" in given}
    return {k: v for k, v in keys.items() if k in said}, routing


def unmerge_lora(bsd, peft, keys):
    """q.weight - (alpha / r) B A for every LoRA site: the frozen weight before loralib merged it."""
    import torch
    scale = float(keys["alpha"]) / int(keys["r"])
    for n in peft:
        if n.endswith(".lora_A"):
            base = n[:-len("lora_A")]
            w = bsd[base + "weight"].to(torch.float64)
            ba = torch.from_numpy(peft[base + "lora_B"].astype(np.float64) @ peft[n].astype(np.float64))
            bsd[base + "weight"] = (w - scale * ba).to(torch.float32)


def run(args):
    sd = convert.load_state_dict(args.checkpoint)
    peft = {n: t.detach().float().numpy().copy() for n, t in sd.items() if is_peft_key(n)}
    bsd = {n: t for n, t in sd.items() if not is_peft_key(n)}
    method = detect(peft, args.checkpoint)
    if method is None and args.method == "full":
        method = "full"
    if method is None:
        raise P.Refused(f"{args.checkpoint}: no PEFT tensors: it is a backbone (tools/convert_vlt5.py converts "
                        "it), or a fully fine-tuned model (--method full)")
    if args.method and args.method != method:
        raise P.Refused(f"{args.checkpoint}: holds {method} tensors, not {args.method}")
    check_extras(method, peft, args.checkpoint, args.drop_lora_bias)
    given = settings_given(args, method)
    dm = None
    if bsd:
        for n in convert.IGNORED:
            bsd.pop(n, None)
        convert.untie(bsd, args.checkpoint)
        dm = convert.dims_of(bsd, args.checkpoint)
        order = convert.check(bsd, dm, args.checkpoint)
    elif method == "full":
        raise P.Refused(f"{args.checkpoint}: --method full needs the backbone's tensors")
    if method == "full":
        keys, routing = {}, "none"
        weights = {n: bsd[n].detach().float().numpy() for n in order}
    else:
        dims, inferred = P.infer(method, {n: a.shape for n, a in peft.items()})
        keys, routing = resolve(method, inferred, given)
        cfg = {f"peft.{P.SECTION[method]}.{k}": v for k, v in keys.items()} if method in P.SECTION else {}
        want = P.layout(method, cfg, dims)
        P.compare({n: a.shape for n, a in peft.items()}, want,
                  f"{args.checkpoint}: the {method} tensors do not make a {method} of mixphm")
        if dm:
            inner = dm["n_heads"] * dm["d_kv"]
            for k, b in (("d_model", dm["d_model"]), ("n_enc_layers", dm["n_enc_layers"]),
                         ("n_dec_layers", dm["n_dec_layers"]), ("inner", inner), ("d_ff", dm["d_ff"])):
                if dims.get(k) and dims[k] != b and (k != "inner" or method in ("bitfit", "lora")):
                    raise P.Refused(f"{args.checkpoint}: the {method} tensors have {k} {dims[k]}, the backbone {b}")
        if method == "lora" and dm:
            if not args.lora_weights:
                raise P.Refused(f"{args.checkpoint}: LoRA with the backbone: whether q.weight and v.weight include "
                                "B A cannot be told from the file (loralib merges them in eval mode, and MixPHM's "
                                "loop saves BEST.pth after evaluating): give --lora-weights merged or unmerged")
            if args.lora_weights == "merged":
                unmerge_lora(bsd, peft, keys)
        weights = {n: peft[n] for n in want}
    os.makedirs(args.out_dir, exist_ok=True)
    out_w = os.path.join(args.out_dir, "weights.h5")
    model = None
    if dm:
        out_b = os.path.join(args.out_dir, "backbone.h5")
        convert.write(out_b, bsd, dm, order)
        # The visual biases a FewVLM backbone may carry stay unused (model.visual_bias false), as in the
        # authors' model, which has none.
        model = dict(P.model_keys(dm), checkpoint=json.dumps(os.path.abspath(out_b)))
    P.write_weights(out_w, weights, dm if method == "full" else None)
    mk = keys if method not in ("full", "bitfit") else {}
    with open(os.path.join(args.out_dir, "peft.yaml"), "w") as f:
        f.write(f"# What {os.path.basename(args.checkpoint)} holds (tools/import_peft.py)\n")
        f.write(P.config_fragment(method, routing, mk, model))
    n = sum(int(np.prod(a.shape)) for a in weights.values())
    print(f"{out_w}: {method}{'' if routing == 'none' else '+' + routing}, {len(weights)} tensors, {n} parameters")
    if dm:
        print(f"{out_b}: the backbone, {len(order)} tensors")
    print(f"score it: mixphm eval CONFIG --weights {out_w} (CONFIG with the keys of "
          f"{os.path.join(args.out_dir, 'peft.yaml')})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="a .pth state dict in the authors' naming")
    ap.add_argument("out_dir")
    ap.add_argument("--method", choices=P.METHODS, help="the method the checkpoint must hold (full: a fully "
                                                         "fine-tuned backbone)")
    ap.add_argument("--settings", help="the JSON of tools/export_peft.py (the keys the tensors do not give)")
    ap.add_argument("--set", action="append", default=[], metavar="peft.KEY=VALUE")
    ap.add_argument("--lora-weights", choices=("merged", "unmerged"),
                    help="whether the checkpoint's q and v weights include LoRA's B A")
    ap.add_argument("--drop-lora-bias", action="store_true", help="drop loralib's q and v biases even when not zero")
    args = ap.parse_args()
    try:
        run(args)
    except (P.Refused, convert.Refused) as e:
        print(f"import_peft: {e}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError, ValueError) as e:
        print(f"import_peft: {args.checkpoint}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
