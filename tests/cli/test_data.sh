#!/usr/bin/env bash
# The prepare and features stages as a user runs them: the made-up datasets of tests/data, bad input
# (each error names the file and the item and leaves no output under its final name), features.h5
# identical under mpirun -np 1, 2 and 4 and readable by h5dump and h5py, a new seed that does not
# recompute features, and the demo up to features under mpirun -np 2.
. "$(dirname "$0")/lib.sh"

# prepare with one setting changed must fail with exit 1, print every TEXT, and leave no prepared.h5.
expect_prepare_error() {
    local name=$1 set=$2
    shift 2
    local dir="$TMP/bad-$T_PASSED-$T_FAILED"
    t_run "$MIXPHM" prepare tests/data/vqa.yaml --set "run.dir=\"$dir\"" --set "$set"
    t_expect "$name" 1 "$@"
    if [ -e "$dir/prepared.h5" ] || [ -e "$dir/prepared.h5.tmp" ]; then
        t_fail "$name: no prepared.h5 left" "$(ls "$dir")"
    fi
}

expect_prepare_error "a missing pool file" 'data.vqav2.pool="vqa/nothing.json"' \
    "tests/data/vqa/nothing.json" "No such file"
expect_prepare_error "malformed JSON" 'data.vqav2.pool="bad/malformed.json"' \
    "tests/data/bad/malformed.json:2:" "malformed JSON"
expect_prepare_error "a split file that is not a list" 'data.vqav2.test="bad/not_a_list.json"' \
    "bad/not_a_list.json: the file (a list of question entries) should be an array, got an object"
expect_prepare_error "a duplicate question id" 'data.vqav2.pool="bad/duplicate_ids.json"' \
    "bad/duplicate_ids.json entry 5: question id 42002 appears twice"
expect_prepare_error "a missing field" 'data.vqav2.pool="bad/missing_sent.json"' \
    "bad/missing_sent.json: entry 2 (question_id 42002): no question text"
expect_prepare_error "an image id the detector file lacks" 'data.vqav2.pool="bad/unknown_image.json"' \
    "image 'COCO_train2014_000000031337'" "vqa/train_obj36.h5" "is not in the file"
expect_prepare_error "a test question without annotations" \
    'data.vqav2.annotations="bad/annotations_missing_question.json"' "test question 42000" "has no record"
expect_prepare_error "a tokenizer that does not load" 'data.tokenizer="vqa/train.json"' \
    "tests/data/vqa/train.json: not a SentencePiece model that loads"
expect_prepare_error "a missing tokenizer" 'data.tokenizer="nothing.model"' "tests/data/nothing.model"
expect_prepare_error "a detector file that is not HDF5" 'data.vqav2.test_features="bad/not_hdf5.h5"' \
    "bad/not_hdf5.h5' is not an HDF5 file"
expect_prepare_error "k larger than half the pool" 'data.sizes=[4, 13]' \
    "data.sizes: vqav2: k = 13 needs 26 pool questions" "the pool has 24"

# features: a wrong feature shape or a box outside its image stops every rank; no features.h5.
for case in "features_wrong_shape.h5:'features' should be [36, 8]" "boxes_outside.h5:outside [0, 1]"; do
    file=${case%%:*}
    dir="$TMP/bad-features-$file"
    t_run env "$MPIRUN" -np 2 "$MIXPHM" run tests/data/vqa.yaml --set "run.dir=\"$dir\"" \
        --set "data.vqav2.pool_features=\"bad/$file\"" --until features
    t_expect "features stops on bad/$file" 1 "bad/$file: image 'COCO_train2014_000000000" "${case#*:}"
    t_expect_count "bad/$file is reported once" 1 "bad/$file: image"
    [ -e "$dir/features.h5" ] || [ -e "$dir/features.h5.tmp" ] && t_fail "no features.h5 after bad/$file" "$(ls "$dir")"
done
t_run "$MIXPHM" run tests/data/vqa.yaml --set "run.dir=\"$TMP/proj\"" --set features.project=true --until features
t_expect "features.project is refused, naming the key" 1 "features.project: true needs model.checkpoint"

# The same features.h5 from 1, 2 and 4 ranks, for each dataset and storage (GQA's 3 images leave a
# rank idle under -np 4).
F16="--set features.dtype=float16 --set features.deflate=6 --set features.chunk_images=1"
for ds_opts in "vqa:" "vqa:$F16" "gqa:$F16" "okvqa:"; do
    ds=${ds_opts%%:*}
    opts=${ds_opts#*:}
    label="$ds${opts:+ (float16, deflate)}"
    ref_dir=""
    for np in 1 2 4; do
        dir="$TMP/$ds-np$np${opts:+-f16}"
        # shellcheck disable=SC2086
        t_run env "$MPIRUN" -np $np "$MIXPHM" run tests/data/$ds.yaml --set "run.dir=\"$dir\"" $opts --until features
        if [ "$RC" != 0 ]; then
            t_fail "$label features under -np $np" "exit $RC"
            continue
        fi
        if [ -z "$ref_dir" ]; then
            ref_dir=$dir
            h5dump "$dir/features.h5" >"$dir/features.dump" 2>&1 && t_ok "h5dump reads $label features.h5" ||
                t_fail "h5dump reads $label features.h5" "$(tail -5 "$dir/features.dump")"
            grep -q '"collective"' "$dir/features.dump" && t_ok "$label: every transfer was collective" ||
                t_fail "$label: every transfer was collective" "$(grep -A8 transfer "$dir/features.dump")"
            continue
        fi
        for f in prepared.h5 features.h5; do
            cmp -s "$ref_dir/$f" "$dir/$f" && t_ok "$label: $f under -np $np is byte-identical to -np 1" ||
                t_fail "$label: $f under -np $np is byte-identical to -np 1" "$(cmp "$ref_dir/$f" "$dir/$f")"
        done
    done
done

# h5py reads features.h5, and its boxes are NumPy's normalisation of the detector's (docs/data.md).
if /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    t_run /usr/bin/python3 - "$TMP/vqa-np2/features.h5" "$TMP/gqa-np2-f16/features.h5" <<'PY'
import sys
import h5py
import numpy as np
checked = 0
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        feats, boxes, ids = f["features"], f["boxes"], [x.decode() for x in f["image_ids"][()]]
        assert feats.shape[:2] == (len(ids), 36) and boxes.shape == (len(ids), 36, 4), (feats.shape, boxes.shape)
        assert feats.fletcher32, "no Fletcher32 checksums"
        for i, img in enumerate(ids):
            det = ("tests/data/gqa/gqa_obj36.h5" if "gqa" in path else
                   "tests/data/vqa/%s_obj36.h5" % ("val" if "_val" in img else "train"))
            with h5py.File(det, "r") as d:
                g = d[img if img in d else str(int(img.split("_")[-1]))]
                h, w = (g["img_h"][()], g["img_w"][()]) if "img_h" in g else tuple(g["img_hw"][()])
                b = g["boxes"][()]
                b[:, (0, 2)] /= w
                b[:, (1, 3)] /= h
                assert np.array_equal(np.clip(b, 0, 1), boxes[i]), (path, img)
                want = g["features"][()].astype(feats.dtype)
                assert np.array_equal(want, feats[i]), (path, img)
                checked += 1
print("h5py checked", checked, "images")
PY
    t_expect "h5py reads features.h5 (float32 and float16) and agrees with NumPy" 0 "h5py checked"
else
    echo "ok - h5py reads features.h5 (SKIPPED: /usr/bin/python3 cannot import h5py; apt-get install python3-h5py)"
    T_PASSED=$((T_PASSED + 1))
fi

# A new seed reruns prepare but not features: it reads only prepare's image list.
dir="$TMP/vqa-np1"
t_run "$MIXPHM" run tests/data/vqa.yaml --set "run.dir=\"$dir\"" --set 'data.seeds=[13, 42, 87]' --until features
t_expect "a new seed reruns prepare only" 0 "prepare: running (config changed: data.seeds" \
    "features: up to date (its inputs were rerun with the same content), skipped"
t_run "$MIXPHM" run tests/data/vqa.yaml --set "run.dir=\"$dir\"" --set 'data.seeds=[13, 42, 87]' \
    --set 'data.vqav2.test="vqa/nominival.json"' --until features
t_expect "other images rerun features" 0 "features: running (prepare.images was rerun after it)"
t_run "$MIXPHM" status "$dir"
t_expect "status shows features done" 0 "features"

# The demo up to features, as the issue asks, under mpirun -np 2.
t_run env "$MPIRUN" -np 2 "$MIXPHM" run configs/demo.yaml --set "run.dir=\"$TMP/demo\"" --until features
t_expect "the demo runs up to features under mpirun -np 2" 0 "prepare: done" "features: every transfer was collective" \
    "features: done"
[ -f "$TMP/demo/features.h5" ] && [ -f "$TMP/demo/prepared.h5" ] && [ -f "$TMP/demo/synthetic/detector.h5" ] &&
    t_ok "the demo wrote prepared.h5, the synthetic files and features.h5" ||
    t_fail "the demo wrote prepared.h5, the synthetic files and features.h5" "$(ls -R "$TMP/demo")"

t_finish
