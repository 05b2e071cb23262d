#!/usr/bin/env bash
# mixphm score: outputs compared byte for byte with the Python reference (tests/reference/), the worked
# vectors of docs/scoring.md under each variant, the refusals of the official variants, bad input.
. "$(dirname "$0")/lib.sh"
D=tests/data/score

# score NAME RESULTS [--variant V]: runs mixphm score on the NAME_questions/annotations set; stdout
# alone goes to $TMP/out.json, stderr to $TMP/err.txt, both to $OUT.
score() {
    local set=$1 results=$2
    shift 2
    "$MIXPHM" score --questions "$D/${set}_questions.json" --annotations "$D/${set}_annotations.json" \
        --results "$results" "$@" >"$TMP/out.json" 2>"$TMP/err.txt"
    RC=$?
    OUT=$(cat "$TMP/out.json" "$TMP/err.txt")
}

# same_as NAME EXPECTED: the last stdout is byte for byte the expected file
same_as() {
    if [ "$RC" = 0 ] && cmp -s "$TMP/out.json" "$1"; then
        t_ok "$2"
    else
        t_fail "$2" "stdout differs from $1: $(diff "$TMP/out.json" "$1" | head -5)"
    fi
}

# refused NAME TEXT...: exit 1, nothing on stdout, every TEXT on stderr
refused() {
    local name=$1
    shift
    if [ -s "$TMP/out.json" ]; then
        t_fail "$name" "stdout is not empty after an error"
        return
    fi
    t_expect "$name" 1 "mixphm score: error:" "$@"
}

# ---- numbers that Python gives ---------------------------------------------------------------------
for v in vlt5 official2016 official; do
    score random "$D/random_results.json" --variant "$v"
    same_as "$D/random.$v.expected.json" "240 questions, variant $v, as the Python reference"
done
score random "$D/random_subset_results.json"
same_as "$D/random_subset.vlt5.expected.json" "vlt5 (the default) scores the 90 predicted questions, in their order"
score ties "$D/ties_results.json"
same_as "$D/ties.vlt5.expected.json" "vlt5 sums in prediction order (59.37 on a rounding tie)"
score ties "$D/ties_results.json" --variant official2016
same_as "$D/ties.official2016.expected.json" "official2016 sums in annotation order (59.38 on the same tie)"

# ---- the worked vectors (docs/scoring.md), one question type per row ----------------------------------
score table24 "$D/table24_results.json"
t_expect "worked vectors, variant A (vlt5)" 0 '"overall": 69.17,' '"row 1": 100.0,' '"row 2": 100.0,' \
    '"row 3": 100.0,' '"row 4": 30.0,' '"row 5": 60.0,' '"row 6": 60.0,' '"row 7": 0.0,' '"row 8": 100.0,' \
    '"row 9": 100.0,' '"row 10": 30.0,' '"row 11": 60.0,' '"row 12": 90.0' '"other": 58.89' '"variant": "vlt5"'
score table24 "$D/table24_results.json" --variant official2016
t_expect "worked vectors, variant A (official2016)" 0 '"overall": 69.17,' '"row 4": 30.0,' '"row 7": 0.0,' \
    '"variant": "official2016"'
score table24 "$D/table24_results.json" --variant official
t_expect "worked vectors, variant B (official)" 0 '"overall": 65.0,' '"row 1": 0.0,' '"row 2": 0.0,' \
    '"row 3": 0.0,' '"row 4": 100.0,' '"row 5": 100.0,' '"row 6": 100.0,' '"row 7": 100.0,' '"row 8": 100.0,' \
    '"row 9": 100.0,' '"row 10": 30.0,' '"row 11": 60.0,' '"row 12": 90.0' '"other": 86.67' '"variant": "official"'

# ---- output shape ----------------------------------------------------------------------------------
score small "$D/small_results.json"
t_expect "the official keys and the variant" 0 '"overall": 100.0,' '"perQuestionType": {' '"perAnswerType": {' \
    '"variant": "vlt5"'
keys=$(grep -oE '^  "[A-Za-z]+"' "$TMP/out.json" | tr -d ' "' | tr '\n' ' ')
[ "$keys" = "overall perQuestionType perAnswerType variant " ] && t_ok "exactly four top-level keys, in order" ||
    t_fail "exactly four top-level keys, in order" "got: $keys"
[ ! -s "$TMP/err.txt" ] && t_ok "nothing on stderr when it works" || t_fail "nothing on stderr when it works" "$(cat "$TMP/err.txt")"
score small "$D/small_results.json" --variant official
t_expect "a question whose answers all agree is not normalised under official" 0 '"overall": 66.67,' '"is the": 0.0,'
score okvqa "$D/okvqa_results.json"
t_expect "OK-VQA files (raw_answer, question_types, category codes)" 0 '"overall": 30.0,' '"one": 60.0,' \
    '"eight": 0.0' '"other": 30.0'

# ---- coverage ----------------------------------------------------------------------------------------
printf '[{"question_id": 2001, "answer": "red"}]\n' >"$TMP/one.json"
score small "$TMP/one.json"
t_expect "vlt5 scores a results file that answers one question" 0 '"overall": 100.0,' '"what color is the": 100.0'
for v in official2016 official; do
    score small "$TMP/one.json" --variant "$v"
    refused "$v refuses missing questions, naming them" "$TMP/one.json" "variant $v" \
        "2 annotated questions have no prediction (1001, 1002)"
done
printf '[{"question_id": 2001, "answer": "red"}, {"question_id": 1001, "answer": "yes"},
  {"question_id": 1002, "answer": "2"}, {"question_id": 77, "answer": "x"}]\n' >"$TMP/extra.json"
for v in official2016 official; do
    score small "$TMP/extra.json" --variant "$v"
    refused "$v refuses an unknown question, naming it" "1 predicted question is not in the annotations (77)"
done
score small "$TMP/extra.json"
refused "vlt5 refuses a predicted id that is not annotated" "1 predicted question id is not in the annotations: 77"
{
    printf '['
    for i in $(seq 1 12); do printf '{"question_id": %d, "answer": "x"}, ' $((5000 + i)); done
    printf '{"question_id": 2001, "answer": "red"}]\n'
} >"$TMP/many.json"
score small "$TMP/many.json" --variant official
refused "many missing and unknown ids: a few named, and how many" \
    "2 annotated questions have no prediction (1001, 1002)" \
    "12 predicted questions are not in the annotations (5001, 5002, 5003, 5004, 5005 and 7 more)"
printf '[]\n' >"$TMP/empty.json"
score small "$TMP/empty.json"
refused "an empty results file has nothing to score" "no question to score"

# ---- bad input ----------------------------------------------------------------------------------------
score small "$TMP/nowhere.json"
refused "a missing results file" "cannot read '$TMP/nowhere.json'" "No such file"
"$MIXPHM" score --questions "$D/small_questions.json" --annotations "$TMP/nowhere.json" --results "$D/small_results.json" \
    >"$TMP/out.json" 2>"$TMP/err.txt"
RC=$?
OUT=$(cat "$TMP/err.txt")
refused "a missing annotations file" "cannot read '$TMP/nowhere.json'"
printf '[{"question_id": 1001, "answer": "yes"},\n {"question_id": 1002 "answer": "2"}]\n' >"$TMP/broken.json"
score small "$TMP/broken.json"
refused "malformed JSON names the file, line and column" "$TMP/broken.json:2:"
printf '{"question_id": 1001, "answer": "yes"}\n' >"$TMP/object.json"
score small "$TMP/object.json"
refused "results that are not an array" "$TMP/object.json: expected a JSON array"
printf '[{"question_id": 1001, "answer": 3}]\n' >"$TMP/number.json"
score small "$TMP/number.json"
refused "an answer that is not a string names the item" "$TMP/number.json: [0] (question_id 1001): \"answer\" must be a string"
printf '[{"question_id": "1001", "answer": "yes"}]\n' >"$TMP/strid.json"
score small "$TMP/strid.json"
refused "a question id that is not an integer" "[0]: \"question_id\" must be an integer"
printf '[{"answer": "yes"}]\n' >"$TMP/noid.json"
score small "$TMP/noid.json"
refused "a missing question id" "\"question_id\" must be an integer (it is missing)"
printf '[{"question_id": 1001, "answer": "yes"}, {"question_id": 1002, "answer": "2"}, {"question_id": 1001, "answer": "no"}]\n' \
    >"$TMP/twice.json"
score small "$TMP/twice.json"
refused "a question answered twice" "question id 1001 is predicted twice ([0] and [2])"

# annotation files with problems: made from the good one
ann() { sed "$1" "$D/small_annotations.json" >"$TMP/${2}_annotations.json"; cp "$D/small_questions.json" "$TMP/${2}_questions.json"; }
score_tmp() { "$MIXPHM" score --questions "$TMP/${1}_questions.json" --annotations "$TMP/${1}_annotations.json" \
    --results "$D/small_results.json" >"$TMP/out.json" 2>"$TMP/err.txt"; RC=$?; OUT=$(cat "$TMP/err.txt"); }
ann 's/"question_id": 1002/"question_id": 1001/' dup
score_tmp dup
refused "an annotation file with a question twice" "question_id 1001 is annotated twice (annotations[0] and annotations[1])"
ann 's/"answer": "3", "answer_confidence": "yes", "answer_id": 5/"answer": "3", "answer_confidence": "yes", "answer_id": 4/' dupans
score_tmp dupans
refused "an answer id used twice" "annotations[1]: question 1002: answer_id 4 is used twice (answers[3] and answers[4])"
ann 's/"answer_type": "number"/"answer_type": 7/' atype
score_tmp atype
refused "an answer_type that is not a string" "annotations[1] (question_id 1002): \"answer_type\" must be a string"
ann 's/"question_id": 2001, "image_id": 2/"question_id": 2001, "image_id": 5/' image
score_tmp image
refused "questions and annotations that disagree on an image" "question_id 2001 has image_id 2, but its annotation says image_id 5"
ann 's/"question_id": 2001/"question_id": 2002/' orphan
score_tmp orphan
refused "an annotation without its question" "$TMP/orphan_questions.json: 1 annotated question is not in the questions file: 2002"
printf '{"questions": []}\n' >"$TMP/noq_questions.json"
cp "$D/small_annotations.json" "$TMP/noq_annotations.json"
score_tmp noq
refused "an empty questions file" "3 annotated questions are not in the questions file: 1001, 1002, 2001"
printf '{"annotation": []}\n' >"$TMP/wrong_annotations.json"
cp "$D/small_questions.json" "$TMP/wrong_questions.json"
score_tmp wrong
refused "an annotations file without \"annotations\"" "expected a JSON object with an array \"annotations\""

# ---- the command line --------------------------------------------------------------------------------
score small "$D/small_results.json" --variant official2021
refused "an unknown variant" "unknown VQA accuracy variant 'official2021' (expected vlt5, official2016 or official)"
t_run "$MIXPHM" score --questions "$D/small_questions.json" --annotations "$D/small_annotations.json"
t_expect "--results is needed (usage error)" 2 "--questions, --annotations and --results are all needed"
t_run "$MIXPHM" score --questions "$D/small_questions.json" --annotations "$D/small_annotations.json" \
    --results "$D/small_results.json" --variant
t_expect "--variant needs a value (usage error)" 2 "--variant needs a value"
t_run "$MIXPHM" score --questions="$D/small_questions.json" --annotations="$D/small_annotations.json" \
    --results="$D/small_results.json" --variant=official
t_expect "--option=value works too" 0 '"overall": 66.67,' '"variant": "official"'

t_finish
