#!/usr/bin/env python3
"""Reference VQA evaluation in Python, written from docs/scoring.md ("The rules") in the style of the
original tools (GT-Vision-Lab vqaEval.py, VL-T5/MixPHM evaluate_raw, GQAEvaluator), so that Python's own
`re` and `str` decide every corner case.  It writes the fixtures under tests/data/score/ that the C tests
compare with, bit for bit:

  normalize_vectors.json   W, P, D, D(P(.)), GQA normaliser, str.lower, str.strip, str.split on inputs
                           made to hit every rule (hand-picked ones, then random ones from a tricky alphabet)
  accuracy_vectors.json    per-question accuracy under variants A and B (float.hex), answers and
                           predictions drawn so that the two variants and every m = 0..10 occur
  label_vectors.json       soft-label lookup, GQA question score, dev score and GQA accuracy
  random_*.json            a 240-question annotations/questions/results set, and the expected output of
                           `mixphm score` for each variant (random_*.expected.json)
  ties_*.json              16 questions whose overall accuracy sits on a rounding tie (see below)

Run it from the repository root with Debian's python3 (3.11; nothing else is needed):

    /usr/bin/python3 tests/reference/vqa_eval_reference.py

The output is deterministic; CI uses the committed files and never runs this script.

Python version matters: since Python 3.12, sum() of floats is compensated (Neumaier), which changes the
last bits of the aggregated sums and, on a rounding tie, the printed accuracy.  The tools ran on Python
<= 3.11, whose sum() adds left to right; this script refuses to run on a newer Python.
"""
import json
import os
import random
import re
import sys

assert sys.version_info[:2] <= (3, 11), "sum() of floats changed in Python 3.12 (see the docstring)"

OUT = "tests/data/score"

# ---- normalisation (docs/scoring.md, "Normalisation: W, P and D") ------------------------------------

CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've", "couldnt": "couldn't",
    "couldn'tve": "couldn't've", "couldnt've": "couldn't've", "didnt": "didn't", "doesnt": "doesn't",
    "dont": "don't", "hadnt": "hadn't", "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't",
    "havent": "haven't", "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's",
    "howd": "how'd", "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't", "mightnt've": "mightn't've",
    "mightn'tve": "mightn't've", "mightve": "might've", "mustnt": "mustn't", "mustve": "must've",
    "neednt": "needn't", "notve": "not've", "oclock": "o'clock", "oughtnt": "oughtn't",
    "ow's'at": "'ow's'at", "'ows'at": "'ow's'at", "'ow'sat": "'ow's'at", "shant": "shan't",
    "shed've": "she'd've", "she'dve": "she'd've", "she's": "she's", "shouldve": "should've",
    "shouldnt": "shouldn't", "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd", "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've", "therere": "there're",
    "theres": "there's", "theyd": "they'd", "theyd've": "they'd've", "they'dve": "they'd've",
    "theyll": "they'll", "theyre": "they're", "theyve": "they've", "twas": "'twas", "wasnt": "wasn't",
    "wed've": "we'd've", "we'dve": "we'd've", "weve": "we've", "werent": "weren't", "whatll": "what'll",
    "whatre": "what're", "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've", "whyll": "why'll",
    "whyre": "why're", "whys": "why's", "wont": "won't", "wouldve": "would've", "wouldnt": "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll",
    "y'allll": "y'all'll", "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll", "youre": "you're",
    "youve": "you've",
}
assert len(CONTRACTIONS) == 120
MANUAL_MAP = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
              "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
ARTICLES = ["a", "an", "the"]
PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
COMMA_STRIP = re.compile(r"(\d)(\,)(\d)")
PUNCT = [";", r"/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@", "`", ",",
         "?", "!"]


def W(s):
    return s.replace("\n", " ").replace("\t", " ").strip()


def P(in_text):
    out_text = in_text
    for p in PUNCT:
        if (p + " " in in_text or " " + p in in_text) or (re.search(COMMA_STRIP, in_text) is not None):
            out_text = out_text.replace(p, "")
        else:
            out_text = out_text.replace(p, " ")
    # re.UNICODE (= 32) lands in the count argument, as in the tools
    return PERIOD_STRIP.sub("", out_text, re.UNICODE)


def D(in_text):
    out = []
    for word in in_text.lower().split():
        word = MANUAL_MAP.get(word, word)
        if word not in ARTICLES:
            out.append(word)
    return " ".join(CONTRACTIONS.get(w, w) for w in out)


def gqa_normalize(s):
    s = P(s)
    return " ".join(w for w in s.lower().split() if w not in ARTICLES)


# ---- per-question accuracy (docs/scoring.md, "Per-question accuracy", "Variants A and B") ------------

def match_accuracy(records, res):
    gt_acc = []
    for rec in records:
        others = [item for item in records if item != rec]
        matching = [item for item in others if item["answer"] == res]
        gt_acc.append(min(1, float(len(matching)) / 3))
    return float(sum(gt_acc)) / len(gt_acc)


def accuracy_a(answers, pred):
    """Variant A (VL-T5/MixPHM evaluate_raw; the official tool until 2021-03)."""
    records = [dict(a) for a in answers]
    res = D(P(W(pred)))
    if len(set(r["answer"] for r in records)) > 1:
        for r in records:
            r["answer"] = P(r["answer"])
    return match_accuracy(records, res)


def accuracy_b(answers, pred):
    """Variant B (the official tool since 2021-03-11)."""
    records = [dict(a) for a in answers]
    for r in records:
        r["answer"] = W(r["answer"])
    res = W(pred)
    if len(set(r["answer"] for r in records)) > 1:
        for r in records:
            r["answer"] = D(P(r["answer"]))
        res = D(P(res))
    return match_accuracy(records, res)


# ---- whole evaluation (docs/scoring.md, "Aggregation and rounding") ----------------------------------

def evaluate(annotations, results, variant):
    gts = {a["question_id"]: a for a in annotations}
    res = {r["question_id"]: r["answer"] for r in results}
    if variant == "vlt5":
        order = [r["question_id"] for r in results]
    else:
        assert set(res) == set(gts), "the official tool refuses this results file"
        order = [a["question_id"] for a in annotations]
    acc_fn = accuracy_b if variant == "official" else accuracy_a
    acc_qa, acc_qtype, acc_atype = [], {}, {}
    for qid in order:
        gt = gts[qid]
        acc = acc_fn(gt["answers"], res[qid])
        acc_qa.append(acc)
        acc_qtype.setdefault(gt["question_type"], []).append(acc)
        acc_atype.setdefault(gt["answer_type"], []).append(acc)
    pct = lambda accs: round(100 * float(sum(accs)) / len(accs), 2)
    return {"overall": pct(acc_qa),
            "perQuestionType": {k: pct(v) for k, v in acc_qtype.items()},
            "perAnswerType": {k: pct(v) for k, v in acc_atype.items()},
            "variant": variant}


# ---- soft labels (docs/scoring.md, "The dev metric (model selection)", "GQA") ------------------------

def dev_score(labels, preds):
    score = 0.
    for label, pred in zip(labels, preds):
        if pred in label:
            score += label[pred]
    return float(f"{score / len(preds) * 100:.2f}")


def gqa_accuracy(labels, preds):
    score = 0.
    for label, pred in zip(labels, preds):
        a = gqa_normalize(pred)
        if a in label:
            score += label[a]
    return score / len(preds) * 100


# ---- fixtures ----------------------------------------------------------------------------------------

HAND_INPUTS = [
    # the examples of docs/scoring.md
    "yes!", "Yes.", "t-shirt", "1,000", "1,000-2", "left, right", "hi (there)", "a/b", "5,a", "Two Dogs",
    "none", "dont", "Im", "10:30", "50%", "it's", "x" + "." * 40, "x" + "." * 32, "x" + "." * 33,
    # whitespace: W, strip and split with Python's spaces
    " \t yes \n", "\x1cyes\x1f", "\u00a0yes\u00a0", "yes\u3000no", "a\u2003b", "\u0085x\u2028y\u2029",
    "\x0b\x0cz\r", "\u200bzero width\u200b", "\u180eold space",
    # punctuation decisions taken on the original string
    "a- b", "a -b", "a-b", "x,y", "1,a", "a,1", "1,2,3", "3 ,4", "(1,2)", "\u0661,\u0662", "1,\u0662",
    "a;b/c[d]e\"f{g}h(i)j=k+l\\m_n-o>p<q@r`s,t?u!", "a ;b/c", "[x] y", "what?!", "a ? b", "\\\\", "__",
    # periods
    "2.", "3.5", ".5", "u.s.a.", "1.a", "..5", "a..b", "1.\u0663", "1.\u00b2", "x." + "." * 31 + "5",
    "." * 33, ". ." * 20,
    # digits, articles, contractions
    "none of the above", "the the a an", "an apple", "The End", "one two three four five six seven eight nine ten",
    "zero", "Ten", "TWO", "a none", "youre", "Ive", "I'dve", "Id've", "somebody'd", "y'all'dve", "ow's'at",
    "'ows'at", "let's", "she's", "won't", "wont", "dont-know", "it'dve", "oclock",
    # lower-casing beyond ASCII
    "ÄÖÜ", "ÉCOLE", "ΣΟΦΟΣ", "ΟΔΟΣ Σ", "Σ", "AΣ", "AΣb", "A\u0301Σ", "AΣ\u0301", "A\u00adΣ.", "İstanbul",
    "ẞ", "Ж Ё Ї", "ǅ", "\u2126\u212a\u212b", "\u2167", "\U00010400", "ΑΣ'Σ", "Σ1", "1Σ",
]

ALPHABET = (list("abxyzAXYZ0129 .,;/[]\"{}()=+\\_-><@`?!':#$%&*^|~") +
            ["\n", "\t", "\r", "\x0b", "\x1c", "\x1f", "\u00a0", "\u2003", "\u3000", "\u0085", "\u200b",
             "\u0660", "\u0966", "\uff11", "\u00b2", "\u2460", "Σ", "σ", "İ", "ẞ", "Ä", "É", "Ω", "Ж", "Ё",
             "\u0301", "\u00ad", "\u2126", "\u212a", "\U00010400", "ǅ", "\u2167", "Ⓐ"])
WORDS = ["none", "zero", "two", "Ten", "the", "THE", "a", "An", "dont", "Im", "somebody'd", "yall", "1,000",
         "u.s.a.", "t-shirt", "yes", "no", "dog", "3.5"]


def random_text(rng):
    parts = []
    for _ in range(rng.randint(0, 9)):
        r = rng.random()
        if r < 0.55:
            parts.append(rng.choice(ALPHABET))
        elif r < 0.85:
            parts.append(rng.choice(WORDS))
        else:
            parts.append(" ")
    return "".join(parts)


def normalize_vectors(rng):
    inputs = HAND_INPUTS + [random_text(rng) for _ in range(700)]
    inputs += [k for k in CONTRACTIONS] + [k for k in MANUAL_MAP]
    seen, out = set(), []
    for s in inputs:
        if s in seen:
            continue
        seen.add(s)
        out.append({"in": s, "W": W(s), "P": P(s), "D": D(s), "PD": D(P(s)), "gqa": gqa_normalize(s),
                    "lower": s.lower(), "strip": s.strip(), "split": s.split()})
    return out


ANSWER_POOL = ["yes", "Yes", "yes!", " yes", "yes\t", "no", "No.", "two", "2", "3", "a dog", "dog", "Dog.",
               "t-shirt", "t shirt", "1,000", "1000", "none", "0", "Red", "red", "blue", "ΣΟΦΟΣ", "σοφος",
               "σοφοσ", "İ", "i\u0307", "\u00a0yes", "yes\u3000", "dont", "don't", "u.s.a.", "usa", "hi (there)"]


def answer_records(texts):
    return [{"answer": t, "answer_confidence": "yes", "answer_id": i + 1} for i, t in enumerate(texts)]


def accuracy_vectors(rng):
    cases = []
    # m = 0..10 matches at random places, several times each: the last bit depends on the places
    for m in range(11):
        for _ in range(6):
            texts = ["other"] * 10
            for pos in rng.sample(range(10), m):
                texts[pos] = "yes"
            cases.append((texts, "yes"))
    for _ in range(500):
        pool = rng.sample(ANSWER_POOL, rng.randint(1, 4))
        n = 10 if rng.random() < 0.9 else rng.randint(1, 12)
        texts = [rng.choice(pool) for _ in range(n)]
        pred = rng.choice(ANSWER_POOL + [random_text(rng)])
        cases.append((texts, pred))
    out = []
    for texts, pred in cases:
        recs = answer_records(texts)
        out.append({"answers": texts, "prediction": pred,
                     "A": accuracy_a(recs, pred).hex(), "B": accuracy_b(recs, pred).hex()})
    return out


def label_vectors(rng):
    labels, preds = [], []
    for _ in range(60):
        keys = rng.sample(ANSWER_POOL + ["t-shirt", "at the camera", "pipe"], rng.randint(1, 4))
        labels.append({k: rng.choice([1.0, 0.9, 0.6, 0.3, 0.1]) for k in keys})
        preds.append(rng.choice(keys + ["The Pipe.", "pipe!", "a t-shirt", "camera", "a dog."]))
    return {"labels": labels, "predictions": preds,
            "lookup": [l.get(p, 0) for l, p in zip(labels, preds)],
            "gqa": [l.get(gqa_normalize(p), 0) for l, p in zip(labels, preds)],
            "dev_score": dev_score(labels, preds), "gqa_accuracy": gqa_accuracy(labels, preds).hex()}


QTYPES = ["what color is the", "how many", "is the", "none of the above", "what is", "τι χρώμα",
          'a "quoted" \\ type\n']
ATYPES = {"what color is the": "other", "how many": "number", "is the": "yes/no", "none of the above": "other",
          "what is": "other", "τι χρώμα": "other", 'a "quoted" \\ type\n': "other"}


def random_dataset(rng, n):
    questions, annotations, results = [], [], []
    for k in range(n):
        qid, image = 100000 + 7 * k, 1000 + k // 3
        qtype = rng.choice(QTYPES)
        pool = rng.sample(ANSWER_POOL, rng.randint(1, 3))
        texts = [rng.choice(pool) for _ in range(10)]
        questions.append({"question_id": qid, "image_id": image, "question": "Question %d?" % k})
        annotations.append({"question_id": qid, "image_id": image, "question_type": qtype,
                            "answer_type": ATYPES[qtype], "multiple_choice_answer": texts[0],
                            "answers": answer_records(texts)})
        guess = rng.choice(texts) if rng.random() < 0.7 else rng.choice(ANSWER_POOL)
        results.append({"question_id": qid, "answer": guess})
    return questions, annotations, results


def ties_dataset():
    """16 questions whose accuracies put 100*S/n next to a rounding tie (59.375), so that the order of
    the left-to-right sum decides the printed number: in annotation order S gives 59.38, in the results'
    order 59.37 (and an exact or compensated sum, 59.38).  vlt5 sums in prediction order, official2016
    in annotation order.  Each accuracy is made by placing matching answers: the same number of matches
    gives different last bits at different places."""
    in_results_order = [0.5999999999999999, 0.9, 0.6, 0.3, 0.8999999999999998, 0.6000000000000001,
                        0.5999999999999999, 0.0, 1.0, 0.6000000000000001, 0.0, 0.6, 0.5999999999999999, 0.3,
                        0.9, 1.0]
    placements = {}
    for mask in range(1 << 10):
        texts = ["yes" if mask >> i & 1 else "no" for i in range(10)]
        placements.setdefault(accuracy_a(answer_records(texts), "yes"), texts)
    questions, annotations, results = [], [], []
    for k, acc in enumerate(in_results_order):
        results.append({"question_id": k + 1, "answer": "yes"})
    for k in sorted(range(16), key=lambda k: in_results_order[k]):  # the annotations sorted by accuracy
        texts = placements[in_results_order[k]]
        questions.append({"question_id": k + 1, "image_id": 1, "question": "Is it?"})
        annotations.append({"question_id": k + 1, "image_id": 1, "question_type": "is it",
                            "answer_type": "yes/no", "multiple_choice_answer": "yes",
                            "answers": answer_records(texts)})
    assert evaluate(annotations, results, "vlt5")["overall"] == 59.37
    assert evaluate(annotations, results, "official2016")["overall"] == 59.38
    import math
    assert round(100 * math.fsum(in_results_order) / 16, 2) == 59.38
    return questions, annotations, results


def dump(name, obj, expected_output=False):
    """Fixtures: ASCII JSON, one list item per line.  Expected outputs: as `mixphm score` prints them."""
    if expected_output:
        text = json.dumps(obj, ensure_ascii=False, indent=2)
    else:
        items = obj if isinstance(obj, list) else obj.get("questions", obj.get("annotations"))
        if items is None:
            text = json.dumps(obj, separators=(",", ":"))
        else:
            body = "[\n" + ",\n".join(json.dumps(x, separators=(",", ":")) for x in items) + "\n]"
            if isinstance(obj, list):
                text = body
            else:
                key = "questions" if "questions" in obj else "annotations"
                head = {k: v for k, v in obj.items() if k != key}
                text = json.dumps(head, separators=(",", ":"))[:-1] + ',"%s":' % key + body + "}"
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write(text + "\n")


def write_set(prefix, questions, annotations, results, variants):
    dump(prefix + "_questions.json", {"info": {}, "task_type": "Open-Ended", "data_type": "mscoco",
                                      "data_subtype": "val2014", "questions": questions})
    dump(prefix + "_annotations.json", {"info": {}, "data_type": "mscoco", "data_subtype": "val2014",
                                        "annotations": annotations})
    dump(prefix + "_results.json", results)
    for v in variants:
        dump("%s.%s.expected.json" % (prefix, v), evaluate(annotations, results, v), expected_output=True)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = random.Random(20230601)
    dump("normalize_vectors.json", normalize_vectors(rng))
    dump("accuracy_vectors.json", accuracy_vectors(rng))
    dump("label_vectors.json", label_vectors(rng))
    questions, annotations, results = random_dataset(rng, 240)
    shuffled = results[:]
    rng.shuffle(shuffled)
    write_set("random", questions, annotations, shuffled, ["vlt5", "official2016", "official"])
    subset = rng.sample(results, 90)  # vlt5 scores what was predicted, in prediction order
    dump("random_subset_results.json", subset)
    dump("random_subset.vlt5.expected.json", evaluate(annotations, subset, "vlt5"), expected_output=True)
    write_set("ties", *ties_dataset(), ["vlt5", "official2016"])


if __name__ == "__main__":
    main()
