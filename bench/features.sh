#!/usr/bin/env bash
# Benchmark of the features stage: images/s and write bandwidth of features.h5 under mpirun -np 1 and 2,
# next to dd writing the same amount to the same disk.  Run by `make bench-features`; record the table
# it prints, with the command, in docs/benchmarks.md ("## Features stage").
#   BENCH_DIR=build/bench   where the run folder goes (the disk being measured)
#   BENCH_IMAGES=2000       synthetic images (36 regions x BENCH_DIM floats each)
#   BENCH_DIM=2048          feature size (Faster R-CNN's)
#   BENCH_NPS="1 2"         rank counts
#   BENCH_REPEAT=3          runs per row; the table shows the median (the disk of a shared machine is noisy)
#   MPIRUN=mpirun           with the environment of the Makefile's MPIRUN_ENV
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${BENCH_DIR:-build/bench}
IMAGES=${BENCH_IMAGES:-2000}
DIM=${BENCH_DIM:-2048}
NPS=${BENCH_NPS:-1 2}
REPEAT=${BENCH_REPEAT:-3}
MPIRUN=${MPIRUN:-mpirun}
mkdir -p "$DIR"
RUN="$DIR/features-run"
train=$((IMAGES * 3 / 4))
test=$((IMAGES - train))
sets=(--set "run.dir=\"$RUN\"" --set "data.synthetic.train_images=$train" --set "data.synthetic.test_images=$test"
      --set "data.synthetic.pool_questions=$((train * 2))" --set "data.synthetic.test_questions=$test"
      --set "data.synthetic.pretrain_pairs=0" --set "data.synthetic.feature_dim=$DIM" --set "data.sizes=[16]"
      --set "data.seeds=[13]")
echo "features benchmark: $IMAGES synthetic images x 36 x $DIM in $DIR ($(df -h "$DIR" | awk 'NR==2 {print $1}'))" >&2
./mixphm prepare configs/defaults.yaml "${sets[@]}" >/dev/null 2>&1
detector_mb=$(($(stat -c %s "$RUN/synthetic/detector.h5") / 1048576))

# Seconds of the last features run, from its stamp.
seconds() { sed -n 's/.*"seconds": *\([0-9.e+-]*\).*/\1/p' "$RUN/stamps/features.json"; }
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

printf '| storage | ranks | images/s | features.h5 MB | write MB/s |\n|---|---|---|---|---|\n'
# (MB are MiB throughout; the stage's time includes reading the detector file and the final fsync)
for storage in "float32, fletcher32:" "float32, no filters:--set features.fletcher32=false" \
    "float16, fletcher32:--set features.dtype=float16" "float32, deflate 1:--set features.deflate=1"; do
    name=${storage%%:*}
    # shellcheck disable=SC2206
    extra=(${storage#*:})
    for np in $NPS; do
        s=$(for _ in $(seq "$REPEAT"); do
            "$MPIRUN" -np "$np" ./mixphm features configs/defaults.yaml "${sets[@]}" "${extra[@]}" --force \
                >/dev/null 2>"$DIR/features.log" || { cat "$DIR/features.log" >&2; exit 1; }
            seconds
        done | median)
        mb=$(awk -v b="$(stat -c %s "$RUN/features.h5")" 'BEGIN {printf "%.0f", b / 1048576}')
        awk -v n="$IMAGES" -v s="$s" -v mb="$mb" -v name="$name" -v np="$np" \
            'BEGIN {printf "| %s | %d | %.0f | %d | %.0f |\n", name, np, n / s, mb, mb / s}'
    done
done
# dd to the same disk, the same amount as the float32 features.h5, flushed like the stage's rename.
mb=$((IMAGES * 36 * DIM * 4 / 1048576))
dd_mbs=$(for _ in $(seq "$REPEAT"); do
    dd if=/dev/zero of="$DIR/dd.tmp" bs=1M count="$mb" conv=fdatasync 2>&1 | tail -1 |
        awk -v mb="$mb" '{for (i = 1; i <= NF; i++) if ($i == "s,") print mb / $(i - 1)}'
done | median)
rm -f "$DIR/dd.tmp"
echo
printf 'dd if=/dev/zero bs=1M count=%d conv=fdatasync to the same disk: %.0f MB/s (median of %d)\n' "$mb" "$dd_mbs" "$REPEAT"
echo "(the detector file read by the stage: $detector_mb MB, in the page cache after prepare wrote it)"
