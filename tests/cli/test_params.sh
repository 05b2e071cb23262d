#!/usr/bin/env bash
# `mixphm params`: the trainable parameters of the configured methods, as a user runs it.
. "$(dirname "$0")/lib.sh"

t_run "$MIXPHM" params configs/demo.yaml
t_expect "the demo's sweep of methods" 0 "peft.method mixphm at model.size tiny" "peft.method full at model.size tiny" \
    "peft.method lora" "peft.method pfeiffer" "phm_rule" "synthetic benchmark's own"
t_run "$MIXPHM" params configs/demo.yaml --set peft.method=mixphm --set model.size=t5-base --set data.dataset=vqav2
t_expect "MixPHM at t5-base" 0 "trainable 874,048 = 0.389 % of the backbone's 224,538,624"
t_expect_count "one report" 1 "trainable "
t_run "$MIXPHM" params configs/demo.yaml --set peft.method=lora --set peft.lora.r=4 --set model.size=t5-base
t_expect "LoRA rank 4 at t5-base" 0 "trainable 442,368"
t_run "$MIXPHM" params configs/demo.yaml --set peft.method=compacter --set peft.compacter.phm_dim=5
t_expect "a PHM dimension that does not divide the bottleneck" 1 "mixphm params: error:" "bottleneck 64 must be a multiple of phm_dim 5"
t_run "$MIXPHM" params configs/demo.yaml --set peft.adamix.experts=40
t_expect "an out-of-range key" 1 "peft.adamix.experts"
t_run "$MIXPHM" params "$TMP/missing.yaml"
t_expect "a missing config" 1 "$TMP/missing.yaml"
t_finish
