#!/usr/bin/python3
"""Exports a mixphm run's trained tensors as a PyTorch state dict in the authors' names and shapes.

    /usr/bin/python3 tools/export_peft.py RUN/runs/NAME/best.h5 OUT.pth [--json OUT.json]
                                          [--config CONFIG.yaml] [--method M] [--set peft.KEY=VALUE ...]
                                          [--vocab N] [--prefix module.]

OUT.pth loads into MixPHM's VLT5 class (built with the flags OUT.json lists) with
load_state_dict(sd, strict=False): no unexpected keys, and every key of the method's modules present; the
missing keys are the backbone's, which the class has from its own checkpoint.  Besides the trained tensors it
holds what the authors' modules carry and mixphm's do not, set so that they compute mixphm's function
(docs/interop.md): the shared PHM rule under every PHM projection, zero expert scores, zero biases where
their LoRA and BitFit have biases that mixphm's have not.

The method's settings come from the run the file belongs to (RUN/runs/NAME/stamps/train.json, else
RUN/config.yaml and RUN/runs/NAME/train.json), or from --config (a mixphm config, or the peft.yaml of
tools/import_peft.py) and --set; the tensors must be exactly the layout those settings give, or the file is
refused, naming each tensor.  OUT.json (default: OUT.pth with .json) records the method, its mixphm keys,
the model's dimensions, the authors' train.py flags for the same model, and what those cannot express.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert_vlt5 as convert  # noqa: E402
import peft_interop as P  # noqa: E402


def flatten(tree, prefix=""):
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def run_dirs(weights):
    """(RUN, RUN/runs/NAME) when the file is a run's best.h5 or last.h5, else (None, None)."""
    run_dir = os.path.dirname(os.path.abspath(weights))
    runs = os.path.dirname(run_dir)
    if os.path.basename(runs) != "runs":
        return None, None
    return os.path.dirname(runs), run_dir


def run_settings(weights):
    """The flat config of the run `weights` belongs to, and its train.json (or {}); ({}, {}) if none."""
    root, run_dir = run_dirs(weights)
    if not run_dir:
        return {}, {}
    train = {}
    if os.path.exists(os.path.join(run_dir, "train.json")):
        with open(os.path.join(run_dir, "train.json")) as f:
            train = json.load(f)
    stamp = os.path.join(run_dir, "stamps", "train.json")
    if os.path.exists(stamp):  # the run's own settings, one value per key
        with open(stamp) as f:
            text = json.load(f).get("settings", "")
        cfg = {}
        for line in text.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                cfg[k] = P.parse_value(v)
        return cfg, train
    path = os.path.join(root, "config.yaml")
    if not os.path.exists(path):
        return {}, train
    import yaml
    with open(path) as f:
        cfg = flatten(yaml.safe_load(f) or {})
    for k in ("method", "routing"):  # swept keys: the run's own value
        if k in train:
            cfg[f"peft.{k}"] = train[k]
    return cfg, train


def backbone_vocab(weights, cfg):
    """The vocabulary of the run's backbone file (for BitFit's LM-head bias), or None."""
    import h5py
    root, _ = run_dirs(weights)
    cands = [cfg["model.checkpoint"]] if cfg.get("model.checkpoint") else []
    if root:
        cands.append(os.path.join(root, "runs", "pretrain", "backbone.h5"))
    for c in cands:
        if os.path.exists(c):
            with h5py.File(c, "r") as f:
                if "vocab" in f.attrs:
                    return int(f.attrs["vocab"])
    return None


def settings(args):
    cfg, train = run_settings(args.weights)
    if args.config:
        import yaml
        with open(args.config) as f:
            cfg = flatten(yaml.safe_load(f) or {})
    for kv in args.set:
        if "=" not in kv or not kv.startswith("peft."):
            raise P.Refused(f"--set {kv}: expected peft.KEY=VALUE")
        k, v = kv.split("=", 1)
        cfg[k] = P.parse_value(v)
    if args.method:
        cfg["peft.method"] = args.method
    method = cfg.get("peft.method")
    if method not in P.METHODS:
        raise P.Refused(f"{args.weights}: which method it belongs to is not known ({method!r}): give --method, "
                        "or --config with peft.method")
    routing = cfg.get("peft.routing", "none")
    if routing not in P.ROUTINGS:
        raise P.Refused(f"peft.routing {routing!r}: give it one value (--set peft.routing=...)")
    return cfg, method, routing, train


def run(args):
    import torch
    cfg, method, routing, train = settings(args)
    tensors, attrs = P.read_weights(args.weights)
    shapes = {n: a.shape for n, a in tensors.items()}
    vocab = args.vocab
    if method == "full":
        dm = convert.dims_of(dict(tensors), args.weights)
        if dm["visual_bias"]:
            raise P.Refused(f"{args.weights}: has the visual-embedding biases ({', '.join(P.VIS_BIASES)}), which "
                            "MixPHM's model class has not")
        want = convert.expected_layout(dm)
        dims = dict(dm, inner=dm["n_heads"] * dm["d_kv"])
        keys = {}
    else:
        dims, _ = P.infer(method, shapes)
        keys = P.method_keys(method, cfg)
        want = P.layout(method, cfg, dims)
        if method == "bitfit" and vocab is None:
            vocab = backbone_vocab(args.weights, cfg)
    P.compare(shapes, want, f"{args.weights}: not the tensors of {method} with the run's settings "
                            f"({', '.join(f'{k} {v}' for k, v in keys.items()) or 'no keys'})")
    out = dict(tensors)
    out.update(P.extras(method, cfg, dims, tensors, vocab))
    sd = {args.prefix + n: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)) for n, a in out.items()}
    tmp = args.out + ".tmp"
    try:
        torch.save(sd, tmp)
        os.replace(tmp, args.out)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    flags, notes = P.authors_flags(method, keys, routing, dims["d_model"], float(cfg.get("peft.consistency", 0)))
    sec = P.SECTION.get(method)
    info = {
        "format": "mixphm-peft-export", "format_version": 1,
        "method": method, "routing": routing,
        "weights": os.path.abspath(args.weights), "step": attrs.get("step"),
        "run": train.get("run"), "k": train.get("k"), "seed": train.get("seed"),
        "config": dict({"peft.method": method, "peft.routing": routing},
                       **{f"peft.{sec}.{k}": v for k, v in keys.items()}),
        "model": {k: int(v) for k, v in dims.items()},
        "authors_flags": flags,
        "tensors": len(tensors), "parameters": int(sum(a.size for a in tensors.values())),
        "state_dict_keys": len(sd), "key_prefix": args.prefix,
        "notes": notes,
    }
    if vocab is not None:
        info["model"]["vocab"] = int(vocab)
    js = args.json or os.path.splitext(args.out)[0] + ".json"
    with open(js + ".tmp", "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")
    os.replace(js + ".tmp", js)
    print(f"{args.out}: {method}{'' if routing == 'none' else '+' + routing}, {len(tensors)} trained tensors "
          f"({info['parameters']} parameters), {len(sd)} keys in the authors' naming; settings in {js}")
    for n in notes:
        print(f"export_peft: note: {n}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("weights", help="a run's best.h5 or last.h5 (or any mixphm weights file of one method)")
    ap.add_argument("out", help="the .pth to write")
    ap.add_argument("--json", help="where the settings go (default: OUT with .json)")
    ap.add_argument("--config", help="a mixphm config (or import_peft.py's peft.yaml) with the method's settings")
    ap.add_argument("--method", choices=P.METHODS)
    ap.add_argument("--set", action="append", default=[], metavar="peft.KEY=VALUE")
    ap.add_argument("--vocab", type=int, help="bitfit: the vocabulary of the LM head's bias, when the run's "
                                              "backbone file cannot be found")
    ap.add_argument("--prefix", default="", help="put before every key (module. as a DDP model saves it)")
    args = ap.parse_args()
    try:
        run(args)
    except (P.Refused, convert.Refused) as e:
        print(f"export_peft: {e}", file=sys.stderr)
        return 1
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        print(f"export_peft: {args.weights}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
