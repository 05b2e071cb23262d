"""Deterministic fixture weights, computed bit-identically by tests/unit/fixture_weights.h.

Every tensor value is a pure function of (seed, tensor name, index), so the fixtures need not store
the weights (the gradients alone fill the size budget):

    key   = fnv1a64(name) XOR (seed * 0x9E3779B97F4A7C15)          (64-bit wrap-around)
    z_i   = splitmix64_finaliser(key + (i + 1) * 0x9E3779B97F4A7C15)
    u_i   = (z_i >> 40) * 2^-24                                   (exact in float32)
    v_i   = 2 u_i - 1                                             (exact, in [-1, 1))
    norm weights (names ending in layer_norm.weight or _embedding.1.weight): 1 + 0.25 v_i
    biases (ending in .bias):                                      0.125 v_i
    everything else:                                               v_i * sqrt(3 / fan)
all in float32 arithmetic, with fan by the tensor's role (see fan() below), so std = fan^-1/2 as in T5's
initialisation, except the token embedding: std d_model^-1/2 instead of T5's 1, so that the blocks' outputs
rather than the input token decide the next token and greedy outputs vary with the example.
"""
import numpy as np

GAMMA = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for c in s.encode():
        h ^= c
        h = (h * 0x100000001B3) & MASK
    return h


def mix64(z):
    z = z.astype(np.uint64)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def fan(name, dims):
    d, H, dk, dff, F = dims["d_model"], dims["n_heads"], dims["d_kv"], dims["d_ff"], dims["feat_dim"]
    if name.endswith(".q.weight"):
        return d * dk
    if name.endswith((".k.weight", ".v.weight", "wi.weight")):
        return d
    if name.endswith(".o.weight"):
        return H * dk
    if name.endswith("wo.weight"):
        return dff
    if name.endswith("relative_attention_bias.weight"):
        return 4
    if name.endswith("feat_embedding.0.weight"):
        return F
    if name.endswith("absolute_vis_pos_embedding.0.weight"):
        return 5
    if name == "shared.weight":
        return d
    return 1  # img_order_embedding


def fixture_tensor(name, shape, dims, seed):
    n = int(np.prod(shape))
    key = (fnv1a64(name) ^ ((seed * GAMMA) & MASK)) & MASK
    with np.errstate(over="ignore"):
        i = np.arange(1, n + 1, dtype=np.uint64)
        z = mix64(np.uint64(key) + i * np.uint64(GAMMA))
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)
    v = u * np.float32(2) - np.float32(1)
    if name.endswith("layer_norm.weight") or name.endswith("_embedding.1.weight"):
        w = np.float32(1) + np.float32(0.25) * v
    elif name.endswith(".bias"):
        w = np.float32(0.125) * v
    else:
        w = v * np.sqrt(np.float32(3) / np.float32(fan(name, dims)))
    return w.astype(np.float32).reshape(shape)
