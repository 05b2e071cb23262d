"""What tools/import_peft.py and tools/export_peft.py share: every PEFT method's tensors in mixphm's naming,
and what the authors' model classes hold besides them (docs/interop.md).

mixphm registers each method's tensors under the state-dict names of MixPHM's code (docs/methods.md), so a
trained tensor keeps its name in both directions.  What differs is what the authors' modules carry besides
the trained tensors ("extras"):

  compacter, compacter++, mixphm   every PHM projection also lists the one shared rule, as
                                   PROJECTION.phm_rule, next to the model's top-level phm_rule
  adamix, mixphm                   each mixture of experts has expert_score_weight [E], a frozen zero vector
                                   (uniform weights when the experts are averaged at inference)
  lora                             q and v are nn.Linear with bias=True: q.bias, v.bias (frozen)
  bitfit                           the layer norms and the LM head have biases too (layer_norm.bias,
                                   final_layer_norm.bias, the visual embedding's two norms, lm_head.bias)
  full                             the tied copies of the token embedding

Export writes the extras so that the authors' model computes mixphm's function (zero biases, the rule
repeated, zero scores); import checks that they say nothing mixphm cannot represent, and refuses by name
otherwise.  Everything is numpy here: torch is needed only to read and write .pth files.
"""
import re

import numpy as np

METHODS = ("full", "bitfit", "lora", "houlsby", "pfeiffer", "compacter", "compacter++", "adamix", "mixphm")
ROUTINGS = ("none", "mul", "add", "proj", "expand")
ROUTED = ("lora", "houlsby", "pfeiffer", "mixphm")
# The config section of each method's keys (configs/defaults.yaml).
SECTION = {"lora": "lora", "houlsby": "adapter", "pfeiffer": "adapter", "compacter": "compacter",
           "compacter++": "compacter", "adamix": "adamix", "mixphm": "mixphm"}
# The method keys and their defaults (configs/defaults.yaml); the ones the tensors cannot tell are marked.
DEFAULTS = {
    "lora": {"r": 8, "alpha": 1.0, "dropout": 0.0},
    "adapter": {"bottleneck": 64},
    "compacter": {"bottleneck": 64, "phm_dim": 4, "rank": 1, "phm_init_std": 0.01},
    "adamix": {"bottleneck": 64, "experts": 4, "share_up": True, "share_down": False},
    "mixphm": {"bottleneck": 64, "phm_dim": 4, "rank": 8, "experts": 4, "share_down": True, "share_up": False,
               "dropout": 0.5, "alpha": 1.0, "phm_init_std": 0.01, "regularizer": True, "red_weight": 0.2,
               "mi_weight": 0.04, "red_lambda": 3.9e-3},
}
# Keys that change what a trained model computes but that no tensor shape gives away.
NOT_IN_TENSORS = {"lora": ("alpha",), "mixphm": ("alpha",)}
VIS = "encoder.visual_embedding."
TIED_COPIES = ("encoder.embed_tokens.weight", "decoder.embed_tokens.weight", "lm_head.weight",
               VIS + "obj_order_embedding.weight")
VIS_BIASES = (VIS + "feat_embedding.0.bias", VIS + "absolute_vis_pos_embedding.0.bias")


class Refused(Exception):
    pass


# ---- where the tensors sit ----------------------------------------------------------------------
def site(stack, layer, sub):
    """The state-dict prefix of a sub-layer: encoder blocks have no cross-attention, so their FFN is layer 1."""
    k = {"self": 0, "cross": 1, "ffn": 1 if stack == "encoder" else 2}[sub]
    return f"{stack}.block.{layer}.layer.{k}"


def stacks(dims):
    return (("encoder", dims["n_enc_layers"]), ("decoder", dims["n_dec_layers"]))


def attentions(stack):
    return (("self", "SelfAttention"),) + ((("cross", "EncDecAttention"),) if stack == "decoder" else ())


def adapter_spec(method):
    """Module names, projection names, PHM or dense, experts or not (model/peft/adapter.c)."""
    return {
        "houlsby": dict(module="adapter", attn="adapter", down="adapter_A", up="adapter_B", phm=False, mix=False),
        "pfeiffer": dict(module="adapter", attn=None, down="adapter_A", up="adapter_B", phm=False, mix=False),
        "compacter": dict(module="phm_adapter", attn="self_attn_phm_adapter", down="down_sampler",
                          up="up_sampler", phm=True, mix=False),
        "compacter++": dict(module="phm_adapter", attn=None, down="down_sampler", up="up_sampler", phm=True,
                            mix=False),
        "adamix": dict(module="ExpertSoup", attn=None, down="MoA_A", up="MoA_B", phm=False, mix=True),
        "mixphm": dict(module="phm_adapter_moe", attn=None, down="MoA_A", up="MoA_B", phm=True, mix=True),
    }[method]


def method_keys(method, cfg):
    """The method's settings as a dict of its section's keys, from a flat config dict (defaults filled in)."""
    sec = SECTION.get(method)
    if sec is None:
        return {}
    return {k: cfg.get(f"peft.{sec}.{k}", v) for k, v in DEFAULTS[sec].items()}


def experts(method, mk):
    """(down, up) expert counts."""
    if not adapter_spec(method)["mix"]:
        return 1, 1
    e = int(mk["experts"])
    return (1 if mk["share_down"] else e), (1 if mk["share_up"] else e)


def adapter_sites(method, dims):
    """(prefix, module) of every adapter, in the order model/peft/adapter.c registers them."""
    spec = adapter_spec(method)
    out = []
    for stack, n in stacks(dims):
        for layer in range(n):
            if spec["attn"]:
                out.append((site(stack, layer, "self"), spec["attn"]))
            out.append((site(stack, layer, "ffn"), spec["module"]))
    return out


def projections(method, mk, dims):
    """(base name, in, out) of every expert of every projection, in registration order."""
    spec, d = adapter_spec(method), dims["d_model"]
    b = int(mk["bottleneck"])
    e_down, e_up = experts(method, mk)
    out = []
    for prefix, module in adapter_sites(method, dims):
        for name, E, i, o in ((spec["down"], e_down, d, b), (spec["up"], e_up, b, d)):
            base = f"{prefix}.{module}.{name}"
            for e in range(E):
                out.append((base + (f".deepspeed_experts.{e}" if spec["mix"] else ""), i, o))
    return out


def layout(method, cfg, dims):
    """mixphm name -> shape of the method's trainable tensors (what a run's best.h5 holds), in the order
    the C code registers them.  `full` is the backbone of docs/vlt5.md (convert_vlt5.expected_layout)."""
    d, inner, ff = dims["d_model"], dims.get("inner"), dims.get("d_ff")
    mk = method_keys(method, cfg)
    out = {}
    if method == "bitfit":
        for stack, n in stacks(dims):
            for layer in range(n):
                for sub, mod in attentions(stack):
                    for lin in "qkvo":
                        out[f"{site(stack, layer, sub)}.{mod}.{lin}.bias"] = (inner if lin != "o" else d,)
                out[f"{site(stack, layer, 'ffn')}.DenseReluDense.wi.bias"] = (ff,)
                out[f"{site(stack, layer, 'ffn')}.DenseReluDense.wo.bias"] = (d,)
    elif method == "lora":
        r = int(mk["r"])
        for stack, n in stacks(dims):
            for layer in range(n):
                for sub, mod in attentions(stack):
                    for lin in "qv":
                        out[f"{site(stack, layer, sub)}.{mod}.{lin}.lora_A"] = (r, d)
                        out[f"{site(stack, layer, sub)}.{mod}.{lin}.lora_B"] = (inner, r)
    elif method in SECTION:
        spec = adapter_spec(method)
        if spec["phm"]:
            n = int(mk["phm_dim"])
            out["phm_rule"] = (n, n, n)
        for base, i, o in projections(method, mk, dims):
            if spec["phm"]:
                n, r = int(mk["phm_dim"]), int(mk["rank"])
                if i % n or o % n:
                    raise Refused(f"{base}: {i} -> {o} is not a multiple of phm_dim {n}")
                out[base + ".W_left"] = (n, i // n, r)
                out[base + ".W_right"] = (n, r, o // n)
                out[base + ".b"] = (o,)
            else:
                out[base + ".weight"] = (o, i)
                out[base + ".bias"] = (o,)
    else:
        raise Refused(f"no PEFT layout for method '{method}'")
    return out


# ---- settings from the tensors -------------------------------------------------------------------
def layer_counts(names):
    """Blocks per stack, from the highest block index any name has."""
    out = {}
    for stack in ("encoder", "decoder"):
        idx = [int(m.group(1)) for k in names for m in [re.match(stack + r"\.block\.(\d+)\.", k)] if m]
        out["n_enc_layers" if stack == "encoder" else "n_dec_layers"] = 1 + max(idx, default=-1)
    return out


def first(shapes, pattern):
    """The shape of the first name matching the regular expression, or None."""
    for k, s in shapes.items():
        if re.search(pattern, k):
            return s
    return None


def need(shape, what):
    if shape is None:
        raise Refused(f"cannot tell {what}: no tensor of that kind")
    return shape


def infer(method, shapes):
    """The dimensions and the method keys that the tensors' names and shapes give: (dims, keys)."""
    dims = layer_counts(shapes)
    keys = {}
    if method == "bitfit":
        dims["d_model"] = need(first(shapes, r"SelfAttention\.o\.bias$"), "d_model")[0]
        dims["inner"] = need(first(shapes, r"SelfAttention\.q\.bias$"), "the attention width")[0]
        dims["d_ff"] = need(first(shapes, r"DenseReluDense\.wi\.bias$"), "d_ff")[0]
    elif method == "lora":
        a = need(first(shapes, r"\.lora_A$"), "LoRA's rank")
        dims["d_model"], keys["r"] = a[1], a[0]
        dims["inner"] = need(first(shapes, r"\.lora_B$"), "the attention width")[0]
    elif method in SECTION:
        spec = adapter_spec(method)
        mod = re.escape(spec["module"])
        down = rf"\.{mod}\.{spec['down']}" + (r"\.deepspeed_experts\.0" if spec["mix"] else "")
        if spec["phm"]:
            n = need(shapes.get("phm_rule"), "phm_dim (phm_rule)")[0]
            wl = need(first(shapes, down + r"\.W_left$"), "the PHM down projection")
            wr = need(first(shapes, down + r"\.W_right$"), "the PHM down projection")
            dims["d_model"] = n * wl[1]
            keys.update(phm_dim=n, rank=wl[2], bottleneck=n * wr[2])
        else:
            w = need(first(shapes, down + r"\.weight$"), "the down projection")
            dims["d_model"], keys["bottleneck"] = w[1], w[0]
        if spec["mix"]:
            count = {}
            for p in ("down", "up"):
                pat = re.compile(rf"\.{mod}\.{spec[p]}\.deepspeed_experts\.(\d+)\.")
                count[p] = 1 + max([int(m.group(1)) for k in shapes for m in [pat.search(k)] if m], default=-1)
            e_down, e_up = count["down"], count["up"]
            if e_down > 1 and e_up > 1 and e_down != e_up:
                raise Refused(f"{e_down} down and {e_up} up experts: mixphm has one expert count "
                              f"(peft.{SECTION[method]}.experts) for both")
            keys["experts"] = max(e_down, e_up, 1)
            keys["share_down"] = e_down == 1 and keys["experts"] > 1
            keys["share_up"] = e_up == 1 and keys["experts"] > 1
    return dims, keys


def compare(have, want, where):
    """Refuses, naming every tensor, unless `have` (name -> shape) is exactly `want`."""
    problems = [f"missing: {n} {list(s)}" for n, s in want.items() if n not in have]
    problems += [f"unexpected: {n} {list(have[n])}{hint(n)}" for n in have if n not in want]
    problems += [f"wrong shape: {n} is {list(have[n])}, expected {list(s)}"
                 for n, s in want.items() if n in have and tuple(have[n]) != tuple(s)]
    if problems:
        raise Refused(f"{where}:\n  " + "\n  ".join(problems))


HINTS = (
    (r"\.W$", " (an unfactorised PHM weight: mixphm's PHM projections are W_left W_right, the scripts' "
              "--factorized_phm True)"),
    (r"phm_rule_(left|right)$", " (a factorised PHM rule, --factorized_phm_rule: mixphm has one full rule)"),
    (r"W_lora_fix$", " (--hypercomplex_nonlinearity lora has no counterpart in mixphm)"),
    (r"\.gate\.weight$", " (a learned gate, --add_gate: mixphm draws and averages its experts instead)"),
    (r"cross_attn_phm_adapter", " (an adapter after the cross-attention, --use_adapter_cross_attn: no mixphm "
                                "method has one)"),
    (r"\.(AdaMoE|ada_moe)\.", " (one of the code's other mixtures, not a method mixphm has)"),
    (r"^(transformer\.h\.|gpt\.|roberta\.|vit\.|.*\.c_attn\.)", " (GPT-2, RoBERTa or ViT: the routing paper's "
                                                               "models are not VL-T5)"),
)


def hint(name):
    for pat, text in HINTS:
        if re.search(pat, name):
            return text
    return ""


# ---- the authors' extras --------------------------------------------------------------------------
def layer_norms(dims):
    """Every layer norm's weight name of VL-T5 (BitFit gives each a bias in the authors' code)."""
    out = [VIS + "feat_embedding.1.weight", VIS + "absolute_vis_pos_embedding.1.weight"]
    for stack, n in stacks(dims):
        for layer in range(n):
            for j in range(2 if stack == "encoder" else 3):
                out.append(f"{stack}.block.{layer}.layer.{j}.layer_norm.weight")
        out.append(f"{stack}.final_layer_norm.weight")
    return out


def extras(method, cfg, dims, tensors, vocab=None):
    """Name -> array of what the authors' model holds besides the method's trained tensors, set so that it
    computes what mixphm computes."""
    mk = method_keys(method, cfg)
    out = {}
    if method == "bitfit":
        for w in layer_norms(dims):
            out[w[:-len("weight")] + "bias"] = np.zeros(dims["d_model"], np.float32)
        if vocab is None:
            raise Refused("bitfit: the authors' LM head has a bias over the vocabulary, whose size the weights "
                          "file does not tell: give --vocab N (the backbone's vocabulary)")
        out["lm_head.bias"] = np.zeros(vocab, np.float32)
    elif method == "lora":
        for name in tensors:
            if name.endswith(".lora_A"):
                out[name[:-len("lora_A")] + "bias"] = np.zeros(dims["inner"], np.float32)
    elif method in SECTION:
        spec = adapter_spec(method)
        if spec["phm"]:
            for base, _, _ in projections(method, mk, dims):
                out[base + ".phm_rule"] = tensors["phm_rule"]
        if spec["mix"]:
            e_down, e_up = experts(method, mk)
            for prefix, module in adapter_sites(method, dims):
                out[f"{prefix}.{module}.{spec['down']}.expert_score_weight"] = np.zeros(e_down, np.float32)
                out[f"{prefix}.{module}.{spec['up']}.expert_score_weight"] = np.zeros(e_up, np.float32)
    elif method == "full":
        for n in TIED_COPIES:
            out[n] = tensors["shared.weight"]
    return out


def is_extra(method, name):
    """Whether an authors' key is one of the extras of `method` (checked, then dropped, by import)."""
    if method in ("compacter", "compacter++", "mixphm") and name != "phm_rule" and name.endswith(".phm_rule"):
        return True
    if method in ("adamix", "mixphm") and name.endswith(".expert_score_weight"):
        return True
    if method == "lora" and re.search(r"(SelfAttention|EncDecAttention)\.[qv]\.bias$", name):
        return True
    if method == "bitfit" and (name.endswith("layer_norm.bias") or name == "lm_head.bias" or
                               name in (VIS + "feat_embedding.1.bias", VIS + "absolute_vis_pos_embedding.1.bias")):
        return True
    return False


# ---- config text --------------------------------------------------------------------------------
def config_fragment(method, routing, keys, model=None):
    """A mixphm config (YAML) with the method, its keys and, when known, the model's dimensions."""
    lines = []
    if model:
        lines += ["model:"] + [f"  {k}: {v}" for k, v in model.items()]
    lines += ["peft:", f"  method: {method}", f"  routing: {routing}"]
    if method in SECTION and keys:
        lines.append(f"  {SECTION[method]}:")
        for k, v in keys.items():
            lines.append(f"    {k}: {yaml_scalar(v)}")
    return "\n".join(lines) + "\n"


def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def model_keys(dm):
    """model.* keys for a backbone of these dimensions: a preset's name when it is one, else custom."""
    presets = {"tiny": (64, 4, 16, 128, 2), "t5-small": (512, 8, 64, 2048, 6), "t5-base": (768, 12, 64, 3072, 12)}
    if dm["n_enc_layers"] != dm["n_dec_layers"]:
        raise Refused(f"{dm['n_enc_layers']} encoder and {dm['n_dec_layers']} decoder blocks: mixphm's "
                      "model.n_layers gives both stacks one count")
    t = (dm["d_model"], dm["n_heads"], dm["d_kv"], dm["d_ff"], dm["n_enc_layers"])
    for name, p in presets.items():
        if p == t:
            return {"size": name}
    return {"size": "custom", "d_model": t[0], "n_heads": t[1], "d_kv": t[2], "d_ff": t[3], "n_layers": t[4]}


def parse_value(text):
    """A config value as mixphm's settings lines and --set write it: bool, int, float or string."""
    t = text.strip()
    if t in ("true", "false"):
        return t == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t.strip('"')


# ---- mixphm weights files ----------------------------------------------------------------------
FORMAT, VERSION = "mixphm-weights", 1


def read_weights(path):
    """(name -> float32 array, integer attributes) of a mixphm weights file (docs/vlt5.md, "Weight files")."""
    import h5py
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise Refused(f"{path}: cannot read it as HDF5 ({e})")
    with f:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT:
            raise Refused(f"{path}: not a mixphm weights file (no attribute format = \"{FORMAT}\")")
        if int(f.attrs.get("format_version", -1)) != VERSION:
            raise Refused(f"{path}: weights format version {f.attrs.get('format_version')}, expected {VERSION}")
        arrays = {k: np.asarray(f[k][()], dtype=np.float32) for k in f if isinstance(f[k], h5py.Dataset)}
        attrs = {k: int(v) for k, v in f.attrs.items() if k not in ("format", "format_version")
                 and np.issubdtype(np.asarray(v).dtype, np.integer)}
    return arrays, attrs


def write_weights(path, arrays, attrs=None):
    """Writes PATH.tmp, syncs it and renames it: a reader never sees half a file."""
    import os

    import h5py
    tmp = path + ".tmp"
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs.create("format", np.bytes_(FORMAT))
            f.attrs["format_version"] = np.int64(VERSION)
            for k, v in (attrs or {}).items():
                f.attrs[k] = np.int64(v)
            for name, a in arrays.items():
                x = np.asarray(a, dtype=np.float32)
                # One chunk with a Fletcher32 checksum, as mixphm writes its own weights.
                f.create_dataset(name, data=x, chunks=x.shape if x.size else None, fletcher32=bool(x.size))
        fd = os.open(tmp, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# ---- the authors' command-line flags ------------------------------------------------------------
def authors_flags(method, keys, routing, d_model, consistency=0.0):
    """The flags of MixPHM's train.py (param.py) that build the same model, and notes on what they cannot
    say.  Training-only flags (regulariser weights) are included for completeness."""
    notes = []
    if routing != "none":
        notes.append(f"routing {routing}: the authors' classes have no routing function, so with these weights "
                     "they compute the unrouted method")

    def factor(b):
        if d_model % b:
            notes.append(f"bottleneck {b}: the code's bottleneck is d_model // reduction_factor, which cannot be "
                         f"{b} at d_model {d_model}")
        return d_model // b

    def phm(k):
        return dict(hypercomplex_adapter=True, hypercomplex_division=int(k["phm_dim"]), learn_phm=True,
                    shared_phm_rule=True, factorized_phm=True, phm_rank=int(k["rank"]),
                    reduction_factor=factor(int(k["bottleneck"])), use_adapter_cross_attn=False)
    if method == "mixphm":
        e_down, e_up = experts(method, keys)
        f = dict(apply_phm_moe=True, **phm(keys), use_adapter_self_attn=False, num_experts=int(keys["experts"]),
                 sharing_down=int(e_down == 1), sharing_up=int(e_up == 1), inference_level=3,
                 ada_alpha=float(keys["alpha"]), use_adapter_r2loss=bool(keys["regularizer"]),
                 using_mi_loss=bool(keys["regularizer"]), red_w=float(keys["red_weight"]),
                 align_w=round(float(keys["mi_weight"]) / 0.2, 12))
    elif method in ("compacter", "compacter++"):
        f = dict(apply_compacter=True, **phm(keys), use_adapter_self_attn=method == "compacter")
    elif method == "adamix":
        e_down, e_up = experts(method, keys)
        f = dict(apply_expert_soup=True, adapter_size=int(keys["bottleneck"]), num_experts=int(keys["experts"]),
                 sharing_down=int(e_down == 1), sharing_up=int(e_up == 1), inference_level=3,
                 use_consistency_loss=consistency > 0)
    elif method in ("houlsby", "pfeiffer"):
        f = dict(apply_adapter=True, adapter_type=method, adapter_size=int(keys["bottleneck"]))
    elif method == "lora":
        a = float(keys["alpha"])
        if a != int(a):
            notes.append(f"lora alpha {a}: param.py reads --lora_alpha as an integer")
        f = dict(apply_lora=True, lora_r=int(keys["r"]), lora_alpha=a)
    elif method == "bitfit":
        f = dict(apply_bitfit=True)
        notes.append("the authors' BitFit also trains the layer norms', the LM head's and the relative position "
                     "biases; the export sets the first two to zero and leaves the tables as the backbone has them")
    else:
        f = {}
    return f, notes
