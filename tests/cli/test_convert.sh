#!/usr/bin/env bash
# tools/convert_vlt5.py on synthetic FewVLM-style checkpoints made by tests/reference/vlt5_reference.py:
# a good one converts to the committed fixture's contents; broken ones are refused, naming the tensor,
# and leave no output.  Needs /usr/bin/python3 with torch and h5py; without them it checks nothing and
# says so (0 passed).
. "$(dirname "$0")/lib.sh"
PY=${MIXPHM_TORCH_PYTHON:-/usr/bin/python3}
if ! "$PY" -c 'import torch, h5py' >/dev/null 2>&1; then
    echo "skip - converter tests: $PY cannot import torch and h5py"
    t_finish
fi
REF=tests/reference/vlt5_reference.py
CONVERT=tools/convert_vlt5.py

t_run "$PY" "$REF" make-pths "$TMP"
t_expect "make synthetic checkpoints, a good one and broken ones" 0
t_run "$PY" "$CONVERT" "$TMP/good.pth" "$TMP/good.h5"
t_expect "convert it" 0 "33 tensors" "visual biases kept"
t_run "$PY" - "$TMP/good.h5" tests/reference/fixtures/convert_c.h5 <<'PYEOF'
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
assert sorted(a) == sorted(b), "different tensor names"
for k in a:
    assert a[k].dtype == np.float32 and np.array_equal(a[k][()], b[k][()]), k
assert a.attrs["format"] == b"mixphm-weights" and a.attrs["format_version"] == 1
assert "shared.weight" in a and "lm_head.weight" not in a and "decoder.embed_tokens.weight" not in a
assert "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight" not in a
assert all(a[k].fletcher32 for k in a), "every tensor carries a Fletcher32 checksum"
print("same as the fixture")
PYEOF
t_expect "the output equals the committed fixture, tied copies kept once, every tensor checksummed" 0 "same as the fixture"
[ ! -e "$TMP/good.h5.tmp" ] && t_ok "no temporary file left" || t_fail "no temporary file left" "good.h5.tmp exists"

for kind in missing shape untied unexpected; do
    t_run "$PY" "$CONVERT" "$TMP/$kind.pth" "$TMP/$kind.h5"
    case $kind in
        missing) want="missing: decoder.block.0.layer.2.DenseReluDense.wo.weight [16, 32]" ;;
        shape) want="wrong shape: encoder.block.0.layer.0.SelfAttention.k.weight is [17, 16], expected [16, 16]" ;;
        untied) want="'lm_head.weight' should be tied to 'shared.weight' but differs from it" ;;
        unexpected) want="unexpected: encoder.block.0.layer.1.adapter.weight [4, 4]" ;;
    esac
    t_expect "a checkpoint with a broken tensor ($kind) is refused" 1 "$TMP/$kind.pth" "$want"
    [ ! -e "$TMP/$kind.h5" ] && [ ! -e "$TMP/$kind.h5.tmp" ] && t_ok "$kind: nothing written" ||
        t_fail "$kind: nothing written" "an output exists"
done
printf 'not a checkpoint' >"$TMP/junk.pth"
t_run "$PY" "$CONVERT" "$TMP/junk.pth" "$TMP/junk.h5"
t_expect "an unreadable file is refused" 1 "$TMP/junk.pth"
t_finish
