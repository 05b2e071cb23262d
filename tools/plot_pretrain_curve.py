#!/usr/bin/env python3
"""Plot a pretraining curve (RUN/runs/pretrain/pretrain.json, or release/synthetic-backbone.json):
the mean loss of every epoch against the pairs seen, with gnuplot, as an SVG.

    tools/plot_pretrain_curve.py release/synthetic-backbone.json docs/img/synthetic-backbone-loss.svg
"""
import json
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: plot_pretrain_curve.py CURVE.json OUT.svg")
    curve_path, out = sys.argv[1], sys.argv[2]
    try:
        c = json.load(open(curve_path))
        loss, per_epoch = c["loss"], c["epoch_pairs"]
    except (OSError, ValueError, KeyError) as exc:
        sys.exit(f"{curve_path}: expected a pretraining curve with loss and epoch_pairs ({exc})")
    data = "".join(f"{(i + 1) * per_epoch / c['pairs']:.3f} {v:.6f}\n" for i, v in enumerate(loss))
    script = f"""set terminal svg size 640,360 dynamic font 'sans,11'
set output '{out}'
set xlabel 'passes over the corpus ({c["pairs"]} pairs)'
set ylabel 'mean loss per {per_epoch} pairs'
set grid
set key off
plot '-' with lines lw 2
{data}e
"""
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"gnuplot failed: {exc}")


if __name__ == "__main__":
    main()
