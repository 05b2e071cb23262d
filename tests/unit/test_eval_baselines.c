/* The eval stage's baselines and answer shares on a hand-made prepared.h5 in memory: the constant
 * answer counts each question's highest-scoring label, the answer-type prior takes the most frequent
 * answer of each question type among the training rows (of all of them for an unseen type), and the
 * shares count empty answers and the most frequent one. */
#include <stdlib.h>
#include <string.h>

#include "stages/eval_baselines.h"
#include "tests/harness.h"

/* Six questions; answers 0 "yes", 1 "no", 2 "red", 3 "2"; types 1 "is there a", 2 "what color is the",
 * 3 "how many".  Labels (answer:score): q0 yes:1; q1 no:1; q2 red:0.6 no:0.3; q3 yes:0.3 no:0.9;
 * q4 red:1; q5 2:1. */
static void make_prepared(struct prepared *p)
{
    memset(p, 0, sizeof *p);
    static const char *const answers[] = {"yes", "no", "red", "2"}, *const types[] = {"", "is there a", "what color is the",
                                                                                     "how many"};
    for (int i = 0; i < 4; i++)
        strtab_add(&p->answers, answers[i]);
    for (int i = 0; i < 4; i++)
        strtab_add(&p->qtypes, types[i]);
    p->n_answers = 4;
    p->n_questions = 6;
    static int64_t start[] = {0, 1, 2, 4, 6, 7, 8};
    static int32_t answer[] = {0, 1, 2, 1, 0, 1, 2, 3};
    static float score[] = {1, 1, 0.6f, 0.3f, 0.3f, 0.9f, 1, 1};
    static int32_t qtype[] = {1, 1, 2, 1, 2, 3};
    p->label_start = start;
    p->label_answer = answer;
    p->label_score = score;
    p->q_qtype = qtype;
}

static void free_prepared(struct prepared *p)
{
    strtab_free(&p->answers);
    strtab_free(&p->qtypes);
}

static void test_constant_answer(struct test_ctx *t)
{
    struct prepared p;
    make_prepared(&p);
    const int32_t all[] = {0, 1, 2, 3, 4, 5};
    /* Top labels: yes, no, red, no, red, 2: "no" and "red" tie at 2, the first answer row wins (no). */
    CHECK_INT(t, most_frequent_answer(&p, all, 6), 1);
    const int32_t some[] = {2, 4, 5};
    CHECK_INT(t, most_frequent_answer(&p, some, 3), 2);
    CHECK_INT(t, most_frequent_answer(&p, all, 0), -1);
    free_prepared(&p);
}

static void test_answer_type_prior(struct test_ctx *t)
{
    struct prepared p;
    make_prepared(&p);
    /* Training rows 0, 1, 3 ("is there a": yes, no, no) and 4 ("what color is the": red): the prior of
     * "is there a" is no, of colour red, and "how many" (unseen) falls back to the most frequent of all
     * (no). */
    const int32_t train[] = {0, 1, 3, 4}, test[] = {0, 2, 5};
    const char *preds[3];
    answer_type_prior(&p, train, 4, test, 3, preds);
    CHECK_STR(t, preds[0], "no");
    CHECK_STR(t, preds[1], "red");
    CHECK_STR(t, preds[2], "no");
    free_prepared(&p);
}

static void test_answer_shares(struct test_ctx *t)
{
    char *preds[] = {"yes", "", "no", "yes", "  ", "yes", "two", "yes"};
    struct answer_shares s;
    answer_shares(preds, 8, &s);
    CHECK_NEAR(t, s.empty_percent, 25.0, 1e-12, 0);
    CHECK_NEAR(t, s.top_percent, 50.0, 1e-12, 0);
    CHECK_STR(t, s.top_answer, "yes");
    char *none[] = {"", ""};
    answer_shares(none, 2, &s);
    CHECK_NEAR(t, s.empty_percent, 100.0, 1e-12, 0);
    CHECK_STR(t, s.top_answer, "");
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"the constant answer: the most frequent top label", test_constant_answer},
        {"the answer-type prior of the training rows", test_answer_type_prior},
        {"shares of empty answers and of the most frequent one", test_answer_shares},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
