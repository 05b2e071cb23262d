#!/usr/bin/env python3
"""Writes the tiny made-up dataset files under tests/data/ that the reader tests use, in the real
formats (docs/data.md, "The files a dataset is read from"): VQA v2 (LXMERT split files, official
annotations and questions, MixPHM's COCO-layout detector files), GQA (string ids, VL-T5-layout detector
file), OK-VQA, and broken variants for the error tests.  Run with Debian's python3 (h5py):
    /usr/bin/python3 tests/data/make_fixtures.py
The outputs are committed; rerunning gives the same files."""
import json
import os
import subprocess

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(7)
DIM = 8


def dump(path, obj):
    path = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def detector(path, images, layout, dim=DIM, box_scale=1.0, bad_shape=None):
    """One group per image: VL-T5 layout (img_id, img_h/img_w) or COCO layout (number, img_hw)."""
    path = os.path.join(HERE, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w", track_order=False) as f:
        for img_id, (h, w) in images:
            name = img_id if layout == "vlt5" else str(int(img_id.split("_")[-1]))
            g = f.create_group(name)
            feats = rng.random((36, dim), dtype=np.float32)
            x1 = rng.uniform(0, w * 0.6, 36).astype(np.float32)
            y1 = rng.uniform(0, h * 0.6, 36).astype(np.float32)
            x2 = (x1 + rng.uniform(2, w * 0.4, 36)).astype(np.float32)
            y2 = (y1 + rng.uniform(2, h * 0.4, 36)).astype(np.float32)
            boxes = np.stack([x1, y1, x2, y2], 1).astype(np.float32) * np.float32(box_scale)
            boxes[0] = [0, 0, w, h]  # a box of the whole image: exactly 1 after division
            if bad_shape == img_id:
                feats = feats[:30]
            g["features"] = feats
            g["boxes"] = boxes
            g["obj_id"] = np.arange(36, dtype=np.int64)
            g["obj_conf"] = np.linspace(1, 0, 36, dtype=np.float32)
            if layout == "vlt5":
                g["img_h"] = np.int64(h)
                g["img_w"] = np.int64(w)
            else:
                g["img_hw"] = np.array([h, w], dtype=np.int64)


def coco(split, n):
    return "COCO_%s2014_%012d" % (split, n)


def score(m):
    return 1 if m >= 4 else [0, 0.3, 0.6, 0.9][m]


def vqa_question(i, image, split):
    texts = ["What color is the bus?", "How many dogs are there?", "Is the man smiling?",
             "What is on the table?", "Is there a cat?", "What sport is this?"]
    answers = [("red", "other"), ("2", "number"), ("yes", "yes/no"), ("plate", "other"),
               ("no", "yes/no"), ("tennis", "other")]
    qtypes = ["what color is the", "how many", "is the", "what is on the", "is there a", "what sport is"]
    t = i % len(texts)
    return {"question_id": image * 1000 + i // len(texts) * 7 + t, "img_id": coco(split, image),
            "sent": texts[t], "question_type": qtypes[t], "answer_type": answers[t][1],
            "label": {answers[t][0]: 1, "blue" if t == 0 else "3": 0.3}}


def vqa():
    train_images = [(coco("train", n), (480, 640)) for n in (9, 25, 42, 64, 72, 81, 92, 109)]
    val_images = [(coco("val", n), (375, 500)) for n in (42, 73, 74, 133)]
    pool = [vqa_question(i, int(train_images[i % 8][0][-12:]), "train") for i in range(24)]
    minival = [vqa_question(i, int(val_images[i % 4][0][-12:]), "val") for i in range(4)]
    nominival = [vqa_question(i + 4, int(val_images[i % 4][0][-12:]), "val") for i in range(3)]
    dump("vqa/train.json", pool)
    dump("vqa/minival.json", minival)
    dump("vqa/nominival.json", nominival)
    test = minival + nominival
    # Official files: the test questions, plus one question of an image nobody asked about.
    variants = {"red": ["red", "Red", "red!"], "2": ["2", "two", "Two"], "yes": ["yes", "Yes", "yes."],
                "plate": ["plate", "a plate", "plates"], "no": ["no", "No", "nope"], "tennis": ["tennis", "Tennis"]}
    anns, qs = [], []
    for e in test + [{"question_id": 999000001, "img_id": coco("val", 999), "sent": "Unused?",
                      "question_type": "what", "answer_type": "other", "label": {"x": 1}}]:
        ans = next(iter(e["label"]))
        v = variants.get(ans, [ans])
        records = [{"answer": v[k % len(v)] if k < 8 else "blue", "answer_confidence": ["yes", "maybe", "no"][k % 3],
                    "answer_id": k + 1} for k in range(10)]
        image_id = int(e["img_id"][-12:])
        anns.append({"question_id": e["question_id"], "image_id": image_id, "question_type": e["question_type"],
                     "answer_type": e["answer_type"], "multiple_choice_answer": ans, "answers": records})
        qs.append({"question_id": e["question_id"], "image_id": image_id, "question": e["sent"]})
    head = {"info": {"description": "made-up test data"}, "license": {}, "data_subtype": "val2014"}
    dump("vqa/v2_mscoco_val2014_annotations.json", dict(head, annotations=list(reversed(anns))))
    dump("vqa/v2_OpenEnded_mscoco_val2014_questions.json", dict(head, task_type="Open-Ended", questions=qs))
    detector("vqa/train_obj36.h5", train_images, "coco")
    detector("vqa/val_obj36.h5", val_images, "coco")
    return pool, test, head, anns, qs


def gqa():
    imgs = [("n%06d" % n, (333, 500)) for n in (161313, 2354786, 3)]
    pool = [{"question_id": "%08d" % (i * 37 + 5), "img_id": imgs[i % 3][0], "sent": "Is the sky blue?" if i % 2 else
             "What is the man holding?", "label": {"yes" if i % 2 else "tennis racket": 1.0}} for i in range(12)]
    test = [{"question_id": "0%07d" % (20000 + i), "img_id": imgs[i % 3][0], "sent": "Which side is the cup on?",
             "label": {"left side of the picture": 1.0}} for i in range(3)]
    dump("gqa/train.json", pool)
    dump("gqa/testdev.json", test)
    detector("gqa/gqa_obj36.h5", imgs, "vlt5")


def okvqa():
    imgs = [(coco("train", n), (427, 640)) for n in (9, 25)]
    vimgs = [(coco("val", n), (375, 500)) for n in (42, 73)]
    pool = [{"question_id": 90000 + i, "img_id": imgs[i % 2][0], "sent": "What breed is this dog?",
             "label": {"beagle": 0.6, "hound": 0.3}} for i in range(8)]
    test = [{"question_id": 5000 + i, "img_id": vimgs[i % 2][0], "sent": "What fruit is this?",
             "label": {"banana": 1}} for i in range(2)]
    dump("okvqa/train.json", pool)
    dump("okvqa/val.json", test)
    anns = [{"question_id": e["question_id"], "image_id": int(e["img_id"][-12:]), "question_type": "eight",
             "answer_type": "other", "confidence": 3,
             "answers": [{"answer_id": k + 1, "raw_answer": "bananas", "answer_confidence": "yes" if k else "no",
                          "answer": "banana"} for k in range(10)]} for e in test]
    dump("okvqa/mscoco_val2014_annotations.json", {"license": {}, "data_subtype": "val2014",
                                                   "question_types": {"eight": "Plants and Animals"},
                                                   "annotations": anns})
    detector("okvqa/train_obj36.h5", imgs, "coco")
    detector("okvqa/val_obj36.h5", vimgs, "coco")


def broken(pool, test, head, anns, qs):
    """Small broken variants: each error test points one config key at one of these."""
    os.makedirs(os.path.join(HERE, "bad"), exist_ok=True)
    with open(os.path.join(HERE, "bad/malformed.json"), "w") as f:
        f.write('[{"question_id": 1, "img_id": "COCO_train2014_000000000009",\n  "sent": "What?" "label": {}}]\n')
    dump("bad/not_a_list.json", {"questions": pool[:2]})
    dump("bad/duplicate_ids.json", pool[:5] + [dict(pool[5], question_id=pool[2]["question_id"])])
    dump("bad/string_id.json", pool[:3] + [dict(pool[3], question_id=str(pool[3]["question_id"]))])
    dump("bad/missing_sent.json", pool[:2] + [{k: v for k, v in pool[2].items() if k != "sent"}])
    dump("bad/bad_score.json", pool[:2] + [dict(pool[2], label={"red": "1"})])
    dump("bad/unknown_image.json", pool[:4] + [dict(pool[4], img_id=coco("train", 31337))])
    dump("bad/annotations_missing_question.json", dict(head, annotations=anns[1:]))
    dump("bad/annotations_no_list.json", dict(head, annotations={"a": 1}))
    bad = json.loads(json.dumps(anns))
    bad[0]["answers"][3]["answer_confidence"] = "perhaps"
    dump("bad/annotations_bad_confidence.json", dict(head, annotations=bad))
    bad = json.loads(json.dumps(qs))
    bad[1]["question"] = "What colour is the bus?"
    dump("bad/questions_other_text.json", dict(head, task_type="Open-Ended", questions=bad))
    train_images = [(coco("train", n), (480, 640)) for n in (9, 25, 42, 64, 72, 81, 92, 109)]
    detector("bad/features_wrong_shape.h5", train_images, "coco", bad_shape=coco("train", 64))
    detector("bad/boxes_outside.h5", train_images, "coco", box_scale=1.7)
    with open(os.path.join(HERE, "bad/not_hdf5.h5"), "w") as f:
        f.write("this is not an HDF5 file\n")


def kshot_fixture():
    """Question ids of the k-shot samples of vqa/train.json, by the reference implementation."""
    ref = os.path.join(HERE, "..", "reference", "kshot_split_reference.py")
    out = []
    for seed in (13, 21, 42, 87, 100):
        r = subprocess.run(["/usr/bin/python3", ref, "--pool", os.path.join(HERE, "vqa/train.json"), "--k", "4",
                            "--seed", str(seed)], capture_output=True, text=True, check=True)
        out.append(json.loads(r.stdout))
    dump("vqa/kshot_k4.json", out)


if __name__ == "__main__":
    pool, test, head, anns, qs = vqa()
    gqa()
    okvqa()
    broken(pool, test, head, anns, qs)
    kshot_fixture()
    print("wrote the fixtures under", HERE)
