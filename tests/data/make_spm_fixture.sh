#!/usr/bin/env bash
# Regenerates the tiny SentencePiece test model (tiny_spm.model, T5's special ids: <pad> 0, </s> 1,
# <unk> 2, no <s>) and the ids that spm_encode gives for spm_sentences.txt (spm_expected.txt), which
# test_tokenizer compares with the C shim.  Needs Debian's `sentencepiece` package (spm_train).
set -euo pipefail
cd "$(dirname "$0")"
corpus=$(mktemp)
trap 'rm -f "$corpus"' EXIT
# A small VQA-like corpus, generated so that the model is the same on every run.
for c in red green blue yellow purple cyan brown gray white black; do
    for o in bus dog cat car shirt table sign man woman plate; do
        echo "vqa: What color is the $o? $c"
        echo "vqa: Is the $o $c? yes"
        echo "vqa: How many ${o}s are there? 2"
        echo "vqa: Is there a $c $o in the picture? no"
        echo "vqa: What is the $c $o made of? metal"
    done
done >"$corpus"
spm_train --input="$corpus" --model_prefix=tiny_spm --vocab_size=160 --model_type=unigram \
    --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 --character_coverage=1.0 \
    --normalization_rule_name=identity --num_threads=1 --minloglevel=2 --hard_vocab_limit=false >/dev/null
rm -f tiny_spm.vocab
spm_encode --model=tiny_spm.model --output_format=id <spm_sentences.txt >spm_expected.txt
echo "wrote tiny_spm.model and spm_expected.txt" >&2
