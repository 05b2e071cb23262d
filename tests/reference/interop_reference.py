#!/usr/bin/python3
"""The authors' model classes as far as their state-dict names and their inference go, written from the
names their checkpoints carry (docs/interop.md), to check tools/export_peft.py and tools/import_peft.py
against them (tests/cli/test_interop.sh).

    /usr/bin/python3 tests/reference/interop_reference.py check TMPDIR
        for every method case of fixtures/peft.h5: the case's tensors (the reference's values) as a mixphm
        weights file -> export_peft.py -> the authors' class built from the exported flags ->
        load_state_dict(strict=False): no unexpected keys, no missing key outside the backbone; the class's
        modules, site by site, give what peft_reference.py's do; its logits are the committed fixture's
        (peft.h5: logits, or logits_eval for the merged experts); export -> import gives the tensors back
        bit for bit.  Prints "ok - ..." / "FAIL - ..." lines.
    /usr/bin/python3 tests/reference/interop_reference.py make-pth WEIGHTS.h5 BACKBONE.h5 FLAGS.json OUT.pth
        a checkpoint as the authors' class saves it under DDP ("module." before every key): the backbone
        and the method's modules filled by name from two mixphm weights files (FLAGS.json: the JSON of
        export_peft.py, for the class's flags), the rule shared by every PHM projection, zero expert scores.
    /usr/bin/python3 tests/reference/interop_reference.py load-check OUT.pth FLAGS.json BACKBONE.h5
        loads an exported state dict into that class: no unexpected key, no missing key of the method.

Eval mode only: the experts are averaged with softmax(expert_score_weight), as the code's inference level
3 does; dropout is off.  Float64, as peft_reference.py.
"""
import contextlib
import importlib
import io
import json
import os
import shutil
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))
import peft_interop as PI  # noqa: E402
import peft_reference as R  # noqa: E402
import vlt5_reference as V  # noqa: E402

ACT = {"swish": F.silu, "relu": torch.relu, "gelu_new": lambda x: F.gelu(x, approximate="tanh"), "gelu": F.gelu}


# ---- the modules -------------------------------------------------------------------------------------
class LayerNorm(nn.Module):
    def __init__(self, d, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        if bias:
            self.bias = nn.Parameter(torch.zeros(d))


class PHMLinear(nn.Module):
    """W_left [n, in/n, r], W_right [n, r, out/n], b; the rule is the model's, registered here too."""

    def __init__(self, i, o, n, r):
        super().__init__()
        self.W_left = nn.Parameter(torch.zeros(n, i // n, r))
        self.W_right = nn.Parameter(torch.zeros(n, r, o // n))
        self.b = nn.Parameter(torch.zeros(o))

    def apply_(self, x, W_left, W_right, b):
        H = sum(torch.kron(self.phm_rule[k], W_left[k] @ W_right[k]) for k in range(W_left.shape[0]))
        return x @ H + b

    def forward(self, x):
        return self.apply_(x, self.W_left, self.W_right, self.b)


class Soup(nn.Module):
    """A mixture: its experts and the frozen scores that weigh them when they are averaged."""

    def __init__(self, make, E):
        super().__init__()
        self.deepspeed_experts = nn.ModuleList([make() for _ in range(E)])
        self.expert_score_weight = nn.Parameter(torch.zeros(E), requires_grad=False)

    def forward(self, x):
        w = torch.softmax(self.expert_score_weight, 0)
        first = self.deepspeed_experts[0]
        names = [n for n, _ in first.named_parameters() if n != "phm_rule"]
        avg = {n: sum(w[e] * dict(ex.named_parameters())[n] for e, ex in enumerate(self.deepspeed_experts))
               for n in names}
        if isinstance(first, PHMLinear):
            return first.apply_(x, avg["W_left"], avg["W_right"], avg["b"])
        return F.linear(x, avg["weight"], avg["bias"])


class DenseAdapter(nn.Module):  # houlsby, pfeiffer
    def __init__(self, d, b, act):
        super().__init__()
        self.adapter_A, self.adapter_B, self.act = nn.Linear(d, b), nn.Linear(b, d), ACT[act]

    def forward(self, x):
        return x + self.adapter_B(self.act(self.adapter_A(x)))


class HyperComplexAdapter(nn.Module):  # compacter
    def __init__(self, d, b, n, r):
        super().__init__()
        self.down_sampler, self.up_sampler = PHMLinear(d, b, n, r), PHMLinear(b, d, n, r)

    def forward(self, x):
        return x + self.up_sampler(ACT["gelu_new"](self.down_sampler(x)))


class ExpertSoup(nn.Module):  # adamix
    def __init__(self, d, b, e_down, e_up):
        super().__init__()
        self.MoA_A, self.MoA_B = Soup(lambda: nn.Linear(d, b), e_down), Soup(lambda: nn.Linear(b, d), e_up)

    def forward(self, x):
        return x + self.MoA_B(ACT["gelu"](self.MoA_A(x)))


class PHMAdapterMoE(nn.Module):  # mixphm
    def __init__(self, d, b, n, r, e_down, e_up, alpha):
        super().__init__()
        self.MoA_A = Soup(lambda: PHMLinear(d, b, n, r), e_down)
        self.MoA_B = Soup(lambda: PHMLinear(b, d, n, r), e_up)
        self.ada_alpha = alpha

    def forward(self, x):
        return x + self.ada_alpha * self.MoA_B(ACT["gelu_new"](self.MoA_A(x)))


class LoRALinear(nn.Linear):  # loralib's Linear: nn.Linear's weight and bias, plus A and B
    def __init__(self, i, o, r, alpha):
        super().__init__(i, o)
        self.lora_A, self.lora_B = nn.Parameter(torch.zeros(r, i)), nn.Parameter(torch.zeros(o, r))
        self.scaling = alpha / r

    def forward(self, x):
        return super().forward(x) + (x @ self.lora_A.T @ self.lora_B.T) * self.scaling


def module(parent, name, m):
    parent.add_module(name, m)
    return m


class AuthorsVLT5(nn.Module):
    """Named as MixPHM's VLT5 class names its state dict, for the method the flags build."""

    def __init__(self, c, flags):
        super().__init__()
        d, inner, ff = c["d_model"], c["n_heads"] * c["d_kv"], c["d_ff"]
        self.flags = flags
        bitfit, lora = flags.get("apply_bitfit", False), flags.get("apply_lora", False)
        self.shared = nn.Embedding(c["vocab"], d)
        self.sites = {}  # (stack, layer, sub) -> the adapter module there; (..., lin) -> a LoRA linear
        for stack, L in (("encoder", c["n_enc_layers"]), ("decoder", c["n_dec_layers"])):
            st = module(self, stack, nn.Module())
            st.embed_tokens = self.shared
            if stack == "encoder":
                ve = module(st, "visual_embedding", nn.Module())
                ve.feat_embedding = nn.Sequential(nn.Linear(c["feat_dim"], d, bias=False), LayerNorm(d, bitfit))
                ve.absolute_vis_pos_embedding = nn.Sequential(nn.Linear(5, d, bias=False), LayerNorm(d, bitfit))
                ve.obj_order_embedding = self.shared
                ve.img_order_embedding = nn.Embedding(2, d)
            st.block = nn.ModuleList()
            for i in range(L):
                blk = nn.Module()
                blk.layer = nn.ModuleList()
                for sub, mod in PI.attentions(stack):
                    lay = nn.Module()
                    att = module(lay, mod, nn.Module())
                    for lin in "qkvo":
                        o_, i_ = (d, inner) if lin == "o" else (inner, d)
                        if lora and lin in "qv":
                            m = LoRALinear(i_, o_, int(flags["lora_r"]), float(flags["lora_alpha"]))
                            self.sites[(stack, i, sub, lin)] = m
                        else:
                            m = nn.Linear(i_, o_, bias=bitfit)
                            if bitfit:
                                self.sites[(stack, i, sub, lin)] = m
                        att.add_module(lin, m)
                    if sub == "self" and i == 0:
                        att.relative_attention_bias = nn.Embedding(32, c["n_heads"])
                    lay.layer_norm = LayerNorm(d, bitfit)
                    if sub == "self":
                        self.attn_adapter(lay, stack, i, d)
                    blk.layer.append(lay)
                lay = nn.Module()
                lay.DenseReluDense = nn.Module()
                lay.DenseReluDense.wi = nn.Linear(d, ff, bias=bitfit)
                lay.DenseReluDense.wo = nn.Linear(ff, d, bias=bitfit)
                if bitfit:
                    self.sites[(stack, i, "ffn", "wi")] = lay.DenseReluDense.wi
                    self.sites[(stack, i, "ffn", "wo")] = lay.DenseReluDense.wo
                lay.layer_norm = LayerNorm(d, bitfit)
                self.ffn_adapter(lay, stack, i, d)
                blk.layer.append(lay)
                st.block.append(blk)
            st.final_layer_norm = LayerNorm(d, bitfit)
        self.lm_head = nn.Linear(d, c["vocab"], bias=bitfit)
        self.lm_head.weight = self.shared.weight
        if flags.get("hypercomplex_adapter"):  # one rule, set on every PHM projection
            n = int(flags["hypercomplex_division"])
            self.phm_rule = nn.Parameter(torch.zeros(n, n, n))
            for m in self.modules():
                if isinstance(m, PHMLinear):
                    m.phm_rule = self.phm_rule

    def bottleneck(self, d):
        f = self.flags
        return int(f["adapter_size"]) if "adapter_size" in f else d // int(f["reduction_factor"])

    def phm_args(self, d):
        f = self.flags
        return d, self.bottleneck(d), int(f["hypercomplex_division"]), int(f["phm_rank"])

    def attn_adapter(self, lay, stack, i, d):
        f = self.flags
        if f.get("apply_adapter") and f["adapter_type"] == "houlsby":
            self.sites[(stack, i, "self")] = module(lay, "adapter", DenseAdapter(d, self.bottleneck(d), "swish"))
        if f.get("apply_compacter") and f.get("use_adapter_self_attn"):
            m = HyperComplexAdapter(*self.phm_args(d))
            self.sites[(stack, i, "self")] = module(lay, "self_attn_phm_adapter", m)

    def ffn_adapter(self, lay, stack, i, d):
        f, m = self.flags, None
        E = int(f.get("num_experts", 1))
        e_down, e_up = (1 if f.get("sharing_down") else E), (1 if f.get("sharing_up") else E)
        if f.get("apply_adapter"):
            m = module(lay, "adapter", DenseAdapter(d, self.bottleneck(d), "swish" if f["adapter_type"] == "houlsby"
                                                    else "relu"))
        if f.get("apply_expert_soup"):
            m = module(lay, "ExpertSoup", ExpertSoup(d, self.bottleneck(d), e_down, e_up))
        if f.get("apply_compacter"):
            m = module(lay, "phm_adapter", HyperComplexAdapter(*self.phm_args(d)))
        if f.get("apply_phm_moe"):
            m = module(lay, "phm_adapter_moe", PHMAdapterMoE(*self.phm_args(d), e_down, e_up, float(f["ada_alpha"])))
        if m is not None:
            self.sites[(stack, i, "ffn")] = m


CASE_DIMS = dict(V.CONFIG_A)


# ---- peft_reference.py's forward, with the authors' modules at the hooks -------------------------------
class AuthorsHooks:
    """Stands where peft_reference.Method does in its forward: the hooks call the authors' modules."""

    def __init__(self, model, W):
        self.model, self.W, self.kept = model, W, [[], []]

    def lin(self, s, l, sub, mod, lin, x, cond):
        m = self.model.sites.get((["encoder", "decoder"][s], l, sub, lin))
        if m is None:
            return None
        return m(x) - x @ m.weight.T  # the hook adds to the frozen product

    def out(self, s, l, sub, h, cond):
        m = self.model.sites.get((["encoder", "decoder"][s], l, sub))
        return h if m is None else m(h)


# ---- helpers --------------------------------------------------------------------------------------------
def backbone_sd(W):
    sd = {n: t for n, t in W.items()}
    for n in PI.TIED_COPIES:
        sd[n] = W["shared.weight"]
    return sd


def case_settings(cfg_row):
    """peft.h5's NAME.config row -> (method, flat mixphm config)."""
    method = R.METHODS[int(cfg_row[0])]
    o = dict(r=int(cfg_row[2]), lora_alpha=float(cfg_row[3]), bottleneck=int(cfg_row[4]), phm_dim=int(cfg_row[5]),
             rank=int(cfg_row[6]), experts=int(cfg_row[7]), share_up=int(cfg_row[8]), share_down=int(cfg_row[9]),
             alpha=float(cfg_row[10]))
    sec = PI.SECTION.get(method)
    keys = {"lora": dict(r=o["r"], alpha=o["lora_alpha"]), "adapter": dict(bottleneck=o["bottleneck"]),
            "compacter": dict(bottleneck=o["bottleneck"], phm_dim=o["phm_dim"], rank=o["rank"]),
            "adamix": dict(bottleneck=o["bottleneck"], experts=o["experts"], share_up=bool(o["share_up"]),
                           share_down=bool(o["share_down"])),
            "mixphm": dict(bottleneck=o["bottleneck"], phm_dim=o["phm_dim"], rank=o["rank"], experts=o["experts"],
                           share_up=bool(o["share_up"]), share_down=bool(o["share_down"]),
                           alpha=o["alpha"])}.get(sec, {})
    return method, o, {f"peft.{sec}.{k}": v for k, v in keys.items()}


def write_config(path, method, cfg):
    with open(path, "w") as f:
        f.write(f"peft:\n  method: {method}\n  routing: none\n")
        sec = PI.SECTION.get(method)
        if sec:
            f.write(f"  {sec}:\n")
            for k, v in cfg.items():
                f.write(f"    {k.split('.')[-1]}: {PI.yaml_scalar(v)}\n")


def tool(name, *args):
    """Runs a tool's main() in this process (importing torch once is most of a tool's time)."""
    mod = importlib.import_module(name[:-len(".py")])
    argv, out = sys.argv, io.StringIO()
    sys.argv = [name, *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            rc = mod.main()
    except SystemExit as e:
        rc = e.code
    finally:
        sys.argv = argv
    return rc, out.getvalue()


RESULTS = []


def report(ok, name, why=""):
    RESULTS.append(ok)
    print(("ok - " if ok else "FAIL - ") + name + ("" if ok or not why else f": {why}"))


def close(a, b, rel):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    err = float(np.max(np.abs(a - b))) if a.size else 0.0
    return a.shape == b.shape and err <= rel * max(1e-30, float(np.max(np.abs(b)))), err


# ---- check ----------------------------------------------------------------------------------------------
CASES = ["bitfit", "lora", "houlsby", "pfeiffer", "compacter", "compacter++", "adamix", "mixphm"]


def check(tmp):
    fx = h5py.File(os.path.join(HERE, "fixtures", "peft.h5"), "r")
    W = V.make_weights(CASE_DIMS, int(fx.attrs["weight_seed"]))
    text, labels = torch.from_numpy(fx["text"][()]).long(), torch.from_numpy(fx["labels"][()]).long()
    feats, boxes = torch.from_numpy(fx["feats"][()]).double(), torch.from_numpy(fx["boxes"][()]).double()
    for case in CASES:
        method, o, cfg = case_settings(fx[case + ".config"][()])
        M = R.Method(method, "none", dict(R.BASE, **o))
        names = bytes(fx[case + ".grad_names"][()]).decode().split("\n")
        dims = dict(d_model=CASE_DIMS["d_model"], inner=CASE_DIMS["n_heads"] * CASE_DIMS["d_kv"],
                    d_ff=CASE_DIMS["d_ff"], n_enc_layers=CASE_DIMS["n_enc_layers"],
                    n_dec_layers=CASE_DIMS["n_dec_layers"])
        lay = list(PI.layout(method, cfg, dims))
        report(lay == names and list(M.P) == names, f"{case}: tools/peft_interop.py's layout is the reference's, "
                                                    f"name by name ({len(names)} tensors)", f"{lay[:3]} vs {names[:3]}")
        h5 = os.path.join(tmp, case + ".h5")
        PI.write_weights(h5, {n: t.detach().numpy().astype(np.float32) for n, t in M.P.items()}, {"step": 1})
        conf = os.path.join(tmp, case + ".yaml")
        write_config(conf, method, cfg)
        pth = os.path.join(tmp, case + ".pth")
        rc, out = tool("export_peft.py", h5, pth, "--config", conf, "--vocab", str(CASE_DIMS["vocab"]))
        report(rc == 0, f"{case}: export", out)
        if rc:
            continue
        with open(os.path.join(tmp, case + ".json")) as f:
            flags = json.load(f)["authors_flags"]
        model = AuthorsVLT5(CASE_DIMS, flags)
        sd = torch.load(pth)
        res = model.load_state_dict(sd, strict=False)
        back = set(backbone_sd(W))
        stray = [k for k in res.missing_keys if k not in back]
        report(not res.unexpected_keys and not stray,
               f"{case}: the export loads into the authors' class with no unexpected key and no missing key of "
               f"the method ({len(sd)} keys)", f"unexpected {res.unexpected_keys[:3]}, missing {stray[:3]}")
        res = model.load_state_dict(backbone_sd(W), strict=False)
        report(not res.unexpected_keys and set(res.missing_keys) <= set(sd),
               f"{case}: with the backbone, every key of the class is given", str(res.missing_keys[:3]))
        model.eval()
        # Site by site: the authors' module against the reference's, on one hidden state.
        M.merged = True
        g = torch.Generator().manual_seed(5)
        worst, ok = 0.0, True
        with torch.no_grad():
            for key, m in model.sites.items():
                s = 0 if key[0] == "encoder" else 1
                if len(key) == 3:
                    h = torch.randn(3, 7, CASE_DIMS["d_model"], generator=g)
                    mod = (M.attn_module if key[2] == "self" else M.module)
                    want = M.adapter(s, key[1], key[2], mod, h, None)
                else:
                    h = torch.randn(3, 7, m.in_features, generator=g)
                    mod = {"self": "SelfAttention", "cross": "EncDecAttention"}.get(key[2])
                    delta = M.lin(s, key[1], key[2], mod, key[3], h, torch.zeros(3, CASE_DIMS["d_model"]))
                    want = h @ m.weight.T + delta
                good, err = close(m(h), want, 1e-12)
                ok, worst = ok and good, max(worst, err)
        report(ok and bool(model.sites), f"{case}: each of the {len(model.sites)} modules gives the reference's output "
                                   f"(max |diff| {worst:.1e})", f"max |diff| {worst:.3e}")
        with torch.no_grad():
            logits = R.forward(W, AuthorsHooks(model, W), text, feats, boxes, labels)[0]
        want = fx[case + (".logits_eval" if method in ("adamix", "mixphm") else ".logits")][()]
        good, err = close(logits.numpy(), want, 2e-6)
        report(good, f"{case}: the authors' class gives the committed logits (peft.h5, max |diff| {err:.1e})",
               f"max |diff| {err:.3e}")
        # export -> import: the same tensors, bit for bit
        imp = os.path.join(tmp, case + "_imported")
        rc, out = tool("import_peft.py", pth, imp, "--settings", os.path.join(tmp, case + ".json"))
        if rc == 0:
            a, _ = PI.read_weights(h5)
            b, _ = PI.read_weights(os.path.join(imp, "weights.h5"))
            same = sorted(a) == sorted(b) and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)
            report(same, f"{case}: export then import gives the tensors back, bit for bit")
        else:
            report(False, f"{case}: import of the export", out)
        if method == "lora":
            lora_checkpoints(tmp, model, W, h5)
    n_ok = sum(RESULTS)
    print(f"{n_ok} passed, {len(RESULTS) - n_ok} failed")
    return 0 if n_ok == len(RESULTS) else 1


def lora_checkpoints(tmp, model, W, h5):
    """LoRA as MixPHM's loop saves it: the backbone with B A merged into q and v (loralib in eval mode),
    and loralib's q and v biases."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.weight += m.scaling * (m.lora_B @ m.lora_A)
    merged = os.path.join(tmp, "lora_merged.pth")
    torch.save({"module." + k: v.float() for k, v in model.state_dict().items()}, merged)
    rc, out = tool("import_peft.py", merged, os.path.join(tmp, "lora_m"), "--set", "peft.lora.alpha=3")
    report(rc == 1 and "--lora-weights merged or unmerged" in out,
           "lora: a checkpoint with the backbone needs --lora-weights", out)
    rc, out = tool("import_peft.py", merged, os.path.join(tmp, "lora_m"), "--set", "peft.lora.alpha=3",
                   "--lora-weights", "merged")
    if rc:
        return report(False, "lora: import of a merged checkpoint", out)
    b, _ = PI.read_weights(os.path.join(tmp, "lora_m", "backbone.h5"))
    err = max(float(np.max(np.abs(b[n] - W[n].numpy()))) for n in W if n.endswith((".q.weight", ".v.weight")))
    same = all(np.array_equal(b[n], W[n].numpy().astype(np.float32)) for n in W
               if not n.endswith((".q.weight", ".v.weight")))
    a, _ = PI.read_weights(h5)
    c, _ = PI.read_weights(os.path.join(tmp, "lora_m", "weights.h5"))
    report(err < 1e-6 and same and all(np.array_equal(a[k], c[k]) for k in a),
           f"lora: --lora-weights merged takes B A out of q and v again (max |diff| {err:.1e}), the rest as it was",
           f"max |diff| {err:.3e}, others same: {same}")
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.bias.normal_()
    biased = os.path.join(tmp, "lora_bias.pth")
    shutil.rmtree(os.path.join(tmp, "lora_b"), ignore_errors=True)
    torch.save(model.state_dict(), biased)
    rc, out = tool("import_peft.py", biased, os.path.join(tmp, "lora_b"), "--lora-weights", "merged")
    report(rc == 1 and "encoder.block.0.layer.0.SelfAttention.q.bias is not zero" in out and
           not os.path.exists(os.path.join(tmp, "lora_b")), "lora: loralib's random q and v biases are refused by "
           "name, nothing written", out)
    rc, out = tool("import_peft.py", biased, os.path.join(tmp, "lora_b"), "--lora-weights", "merged",
                   "--drop-lora-bias")
    report(rc == 0 and "dropped 12 non-zero LoRA biases" in out, "lora: --drop-lora-bias drops them, saying so", out)


# ---- make-pth, load-check ----------------------------------------------------------------------------------
def dims_of_backbone(path):
    with h5py.File(path, "r") as f:
        return {k: int(f.attrs[k]) for k in ("d_model", "n_heads", "d_kv", "d_ff", "n_enc_layers", "n_dec_layers",
                                             "vocab", "feat_dim")}


def make_pth(weights, backbone, flags_json, out):
    with open(flags_json) as f:
        flags = json.load(f)["authors_flags"]
    model = AuthorsVLT5(dims_of_backbone(backbone), flags)
    given = {}
    for path in (backbone, weights):
        a, _ = PI.read_weights(path)
        given.update(a)
    params = model.state_dict(keep_vars=True)  # every name of a shared tensor
    left = [k for k in given if k not in params]
    if left:
        raise SystemExit(f"make-pth: tensors the authors' class has not: {left[:5]}")
    with torch.no_grad():
        for k, a in given.items():
            params[k].copy_(torch.from_numpy(a))
    torch.save({"module." + k: v.float() for k, v in model.state_dict().items()}, out)
    print(f"{out}: {len(model.state_dict())} keys (the authors' class, under DDP)")


def load_check(pth, flags_json, backbone):
    with open(flags_json) as f:
        flags = json.load(f)["authors_flags"]
    model = AuthorsVLT5(dims_of_backbone(backbone), flags)
    sd = torch.load(pth)
    res = model.load_state_dict(sd, strict=False)
    back, _ = PI.read_weights(backbone)
    back = set(back) | set(PI.TIED_COPIES)
    stray = [k for k in res.missing_keys if k not in back]
    if res.unexpected_keys or stray:
        print(f"unexpected keys: {res.unexpected_keys[:5]}; missing keys of the method: {stray[:5]}")
        return 1
    print(f"loaded {len(sd)} keys: no unexpected key, {len(res.missing_keys)} missing (all the backbone's)")
    return 0


def main():
    torch.set_default_dtype(torch.float64)
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "check" and len(sys.argv) == 3:
        return check(sys.argv[2])
    if cmd == "make-pth" and len(sys.argv) == 6:
        make_pth(*sys.argv[2:])
        return 0
    if cmd == "load-check" and len(sys.argv) == 5:
        return load_check(*sys.argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
