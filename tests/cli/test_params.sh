#!/usr/bin/env bash
# `mixphm params`: the trainable parameters of the configured methods, as a user runs it.
. "$(dirname "$0")/lib.sh"

# A sweep on the tiny model with the VL-T5 vocabulary (no model.checkpoint).
cat >"$TMP/p.yaml" <<EOF
run:
  dir: "$TMP/run"
model:
  size: tiny
peft:
  method: [mixphm, full, lora, pfeiffer]
EOF
P="$TMP/p.yaml"
t_run "$MIXPHM" params "$P"
t_expect "a sweep of methods" 0 "peft.method mixphm at model.size tiny" "peft.method full at model.size tiny" \
    "peft.method lora" "peft.method pfeiffer" "phm_rule" "synthetic benchmark's own"
t_run "$MIXPHM" params "$P" --set peft.method=mixphm --set model.size=t5-base --set data.dataset=vqav2
t_expect "MixPHM at t5-base" 0 "trainable 874,048 = 0.389 % of the backbone's 224,538,624"
t_expect_count "one report" 1 "trainable "
t_run "$MIXPHM" params "$P" --set peft.method=lora --set peft.lora.r=4 --set model.size=t5-base
t_expect "LoRA rank 4 at t5-base" 0 "trainable 442,368"
t_run "$MIXPHM" params "$P" --set peft.method=compacter --set peft.compacter.phm_dim=5
t_expect "a PHM dimension that does not divide the bottleneck" 1 "mixphm params: error:" "bottleneck 64 must be a multiple of phm_dim 5"
t_run "$MIXPHM" params "$P" --set peft.adamix.experts=40
t_expect "an out-of-range key" 1 "peft.adamix.experts"
# peft.width_reference 768: t5-base's widths scaled to d_model 64 (bottleneck 64 -> 5, to a multiple of
# phm_dim 4 for MixPHM and Compacter; MixPHM's rank 8 -> 1; LoRA's r 8 -> 1).
D64="--set model.size=custom --set model.d_model=64 --set model.n_heads=2 --set model.d_kv=32 --set model.d_ff=256 --set model.n_layers=2 --set peft.width_reference=768"
t_run "$MIXPHM" params "$P" $D64 --set peft.method=mixphm
t_expect "MixPHM's widths scaled to d_model 64" 0 "trainable 2,464 = " \
    "MoA_A.deepspeed_experts.*.W_left          2 tensors           128"
t_run "$MIXPHM" params "$P" $D64 --set peft.method=lora
t_expect "LoRA's rank scaled to 1" 0 "SelfAttention.q.lora_A                                    2 tensors           128"
t_run "$MIXPHM" params "$P" $D64 --set peft.method=pfeiffer
t_expect "Pfeiffer's bottleneck scaled to 5" 0 "trainable 2,836 = "
t_run "$MIXPHM" params "$P" $D64 --set peft.method=pfeiffer --set peft.width_reference=0
t_expect "widths as written" 0 "trainable 33,280 = "
# The demo and the paper sweep: the released backbone's own vocabulary (316 words with the language
# corpus's) and widths scaled to d_model 64.
t_run "$MIXPHM" params configs/demo.yaml
t_expect "the demo from the released backbone" 0 "peft.method mixphm at model.size custom (d_model 64, 2 + 2 layers, vocabulary 316)" \
    "trainable 2,464 = 0.966 % of the backbone's 255,168" "peft.method lora" "peft.method pfeiffer"
t_run "$MIXPHM" params configs/paper-synthetic.yaml --set peft.method=mixphm
t_expect "the paper sweep from the released backbone" 0 "vocabulary 316)" "trainable 2,464 = 0.966 % of the backbone's 255,168"
t_run "$MIXPHM" params "$TMP/missing.yaml"
t_expect "a missing config" 1 "$TMP/missing.yaml"
t_finish
