#!/usr/bin/env bash
# The released synthetic backbone (release/, docs/synthetic.md): the file is the one its hash names,
# its curve and config agree with it, and the first two epochs of the command that rebuilds it
# (`mixphm pretrain release/synthetic-backbone.yaml`, stopped by debug.stop_after_steps) give the
# committed curve's first two points.
. "$(dirname "$0")/lib.sh"

REL=release
OUT=$(cd "$REL" && sha256sum -c synthetic-backbone.sha256 --strict 2>&1)
RC=$?
t_expect "release/synthetic-backbone.h5 is the file its hash names" 0 "synthetic-backbone.h5: OK"
OUT=$(cd "$REL" && sha256sum -c synthetic-backbone-captions.sha256 --strict 2>&1)
RC=$?
t_expect "release/synthetic-backbone-captions.h5 (the first backbone, captions only) is the file its hash names" 0 \
    "synthetic-backbone-captions.h5: OK"

t_run /usr/bin/env python3 - "$REL/synthetic-backbone.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
loss = c["loss"]
assert len(loss) == c["epochs"], (len(loss), c["epochs"])
print("epochs", c["epochs"], "pairs", c["pairs"], "epoch_pairs", c["epoch_pairs"], "params", c["params"])
# Converged: the mean loss of the last tenth of the curve is within 2 % of the tenth's before it.
n = len(loss) // 10
last, before = sum(loss[-n:]) / n, sum(loss[-2 * n:-n]) / n
print("last tenth %.4f, the one before %.4f" % (last, before))
print("converged" if before - last < 0.02 * before else "still falling")
EOF
t_expect "the committed curve: 100 epochs of 10000 pairs, converged" 0 "epochs 100 pairs 75000 epoch_pairs 10000" \
    "params 255168" "converged"

# Two epochs of 10,000 pairs at batch 32: 2 x 313 steps.
t_run "$MIXPHM" pretrain "$REL/synthetic-backbone.yaml" --set run.dir="$TMP/bb" --set debug.stop_after_steps=626 \
    --set log.interval=0
t_expect "the rebuild, stopped after two epochs" 75 "debug.stop_after_steps at step 626: checkpoint written"
t_run h5dump -d /history/loss -y -w 0 -m '%.9g' "$TMP/bb/runs/pretrain/checkpoint.h5"
DUMP=$OUT
t_run /usr/bin/env python3 - "$REL/synthetic-backbone.json" <<EOF
import json, re, sys
committed = json.load(open(sys.argv[1]))["loss"][:2]
body = """$DUMP""".split("DATA {", 1)[1].split("}", 1)[0]
rebuilt = [float(x) for x in re.findall(r"[-+0-9.eE]+", body)]
print("committed", committed, "rebuilt", rebuilt)
# The same arithmetic gives the same numbers on one machine; another CPU's BLAS kernels round
# differently, which moves an epoch's mean loss by far less than 1 %.
ok = len(rebuilt) == 2 and all(abs(a - b) <= 0.01 * abs(a) for a, b in zip(committed, rebuilt))
print("curve reproduced" if ok else "curve differs")
EOF
t_expect "the first two epochs reproduce the committed curve" 0 "curve reproduced"
t_finish
