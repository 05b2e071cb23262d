/* The tokenizers: SentencePiece through the C shim (against spm_encode's ids for a tiny model,
 * tests/data/make_spm_fixture.sh), the synthetic word-level tokenizer, truncation, T5's id layout,
 * decoding, and model files that do not load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/mem.h"
#include "data/tokenizer.h"
#include "tests/harness.h"

#define SPM_MODEL "tests/data/tiny_spm.model"

static void test_spm_matches_spm_encode(struct test_ctx *t)
{
    struct tokenizer tok;
    struct err e;
    CHECKF(t, tokenizer_load_file(&tok, TOK_SENTENCEPIECE, SPM_MODEL, &e) == 0, "%s", e.msg);
    FILE *fs = fopen("tests/data/spm_sentences.txt", "r"), *fx = fopen("tests/data/spm_expected.txt", "r");
    CHECK(t, fs && fx);
    char line[1024], want[4096];
    int lines = 0;
    while (fs && fx && fgets(line, sizeof line, fs) && fgets(want, sizeof want, fx)) {
        line[strcspn(line, "\n")] = '\0';
        int32_t *ids;
        int n;
        CHECK_INT(t, tokenizer_encode(&tok, line, 0, &ids, &n, &e), 0);
        char got[4096] = "";
        for (int i = 0; i < n - 1; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%d", i ? " " : "", ids[i]);
        want[strcspn(want, "\n")] = '\0';
        CHECK_STR(t, got, want);
        CHECK_INT(t, ids[n - 1], TOK_EOS);
        /* Truncation keeps max_len - 1 pieces and then </s>. */
        int32_t *cut;
        int nc;
        CHECK_INT(t, tokenizer_encode(&tok, line, QUESTION_MAX_TOKENS, &cut, &nc, &e), 0);
        CHECK_INT(t, nc, n < QUESTION_MAX_TOKENS ? n : QUESTION_MAX_TOKENS);
        CHECK(t, memcmp(cut, ids, (size_t)(nc - 1) * sizeof *ids) == 0);
        CHECK_INT(t, cut[nc - 1], TOK_EOS);
        free(cut);
        free(ids);
        lines++;
    }
    CHECK_INT(t, lines, 8);
    if (fs)
        fclose(fs);
    if (fx)
        fclose(fx);
    /* T5's layout: sentinels after the pieces, in descending order. */
    CHECK_INT(t, tok.vocab_size, tok.n_base + 200);
    CHECK_INT(t, tokenizer_extra_id(&tok, 0), tok.vocab_size - 101);
    CHECK_INT(t, tokenizer_vis_extra_id(&tok, 0), tok.vocab_size - 1);
    CHECK_INT(t, tokenizer_vis_extra_id(&tok, 35), tok.vocab_size - 36);
    tokenizer_free(&tok);
}

static void test_spm_decode(struct test_ctx *t)
{
    struct tokenizer tok;
    struct err e;
    CHECK_INT(t, tokenizer_load_file(&tok, TOK_SENTENCEPIECE, SPM_MODEL, &e), 0);
    int32_t *ids;
    int n;
    CHECK_INT(t, tokenizer_encode(&tok, "What color is the bus?", 0, &ids, &n, &e), 0);
    /* Padding, </s> and sentinels are skipped. */
    int32_t *more = xmalloc((size_t)(n + 3) * sizeof *more);
    memcpy(more, ids, (size_t)n * sizeof *ids);
    more[n] = TOK_PAD;
    more[n + 1] = tokenizer_extra_id(&tok, 3);
    more[n + 2] = tokenizer_vis_extra_id(&tok, 7);
    char *text = tokenizer_decode(&tok, more, n + 3);
    CHECK_STR(t, text, "What color is the bus?");
    free(text);
    free(more);
    free(ids);
    tokenizer_free(&tok);
}

/* Sentinel literals in SentencePiece text (the fewvlm prompt) become their ids, as in HF's T5 tokenizer:
 * the text is split at them, the spaces next to them dropped, and each piece encoded alone. */
static void test_spm_sentinels(struct test_ctx *t)
{
    struct tokenizer tok;
    struct err e;
    CHECK_INT(t, tokenizer_load_file(&tok, TOK_SENTENCEPIECE, SPM_MODEL, &e), 0);
    int32_t *q, *whole, *a, *word;
    int nq, nw, na, nword;
    CHECK_INT(t, tokenizer_encode(&tok, "question: What color is the bus? answer:", 0, &q, &nq, &e), 0);
    CHECK_INT(t, tokenizer_encode(&tok, "question: What color is the bus? answer: <extra_id_0>", 0, &whole, &nw, &e), 0);
    CHECK_INT(t, nw, nq + 1);
    CHECK(t, memcmp(whole, q, (size_t)(nq - 1) * sizeof *q) == 0);
    CHECK_INT(t, whole[nq - 1], tokenizer_extra_id(&tok, 0));
    CHECK_INT(t, whole[nq], TOK_EOS);
    CHECK_INT(t, tokenizer_encode(&tok, "red", 0, &word, &nword, &e), 0);
    CHECK_INT(t, tokenizer_encode(&tok, "<extra_id_0> red", 0, &a, &na, &e), 0);
    CHECK_INT(t, na, nword + 1);
    CHECK_INT(t, a[0], tokenizer_extra_id(&tok, 0));
    CHECK(t, memcmp(a + 1, word, (size_t)nword * sizeof *a) == 0);
    char *text = tokenizer_decode(&tok, a, na);
    CHECK_STR(t, text, "red");
    free(text);
    free(q), free(whole), free(a), free(word);
    /* Text with no sentinel is encoded as before, malformed literals included. */
    CHECK_INT(t, tokenizer_encode(&tok, "a <extra_id_x> b", 0, &a, &na, &e), 0);
    for (int i = 0; i < na; i++)
        CHECK(t, a[i] < tok.n_base);
    free(a);
    tokenizer_free(&tok);
}

static const char words[] = "<pad>\n</s>\n<unk>\nvqa\n:\nwhat\ncolor\nis\nthe\nlarge\ncube\n?\nred\nn't\n'\n";

static void test_words(struct test_ctx *t)
{
    struct tokenizer tok;
    struct err e;
    CHECKF(t, tokenizer_load_bytes(&tok, TOK_WORDS, words, strlen(words), "vocab.txt", &e) == 0, "%s", e.msg);
    CHECK_INT(t, tok.n_base, 15);
    CHECK_INT(t, tok.vocab_size, 215);
    int32_t *ids;
    int n;
    CHECK_INT(t, tokenizer_encode(&tok, "vqa: What COLOR is the Large  cube?", 0, &ids, &n, &e), 0);
    int32_t want[] = {3, 4, 5, 6, 7, 8, 9, 10, 11, TOK_EOS};
    CHECK_INT(t, n, 10);
    for (int i = 0; i < n && i < 10; i++)
        CHECK_INT(t, ids[i], want[i]);
    free(ids);
    /* Unknown words are <unk>; sentinel literals are their ids; truncation keeps </s>. */
    CHECK_INT(t, tokenizer_encode(&tok, "a red<extra_id_0> cube <vis_extra_id_2>!", 0, &ids, &n, &e), 0);
    int32_t want2[] = {TOK_UNK, 12, 214 - 100, 10, 212, TOK_UNK, TOK_EOS};
    CHECK_INT(t, n, 7);
    for (int i = 0; i < n && i < 7; i++)
        CHECK_INT(t, ids[i], want2[i]);
    free(ids);
    CHECK_INT(t, tokenizer_encode(&tok, "red red red red", 3, &ids, &n, &e), 0);
    CHECK_INT(t, n, 3);
    CHECK_INT(t, ids[2], TOK_EOS);
    free(ids);
    int32_t dec[] = {12, 10, 11, TOK_EOS, TOK_PAD};
    char *text = tokenizer_decode(&tok, dec, 5);
    CHECK_STR(t, text, "red cube?");
    free(text);
    tokenizer_free(&tok);
}

static void expect_load_error(struct test_ctx *t, int kind, const char *bytes, const char *frag)
{
    struct tokenizer tok;
    struct err e;
    CHECK_INT(t, tokenizer_load_bytes(&tok, kind, bytes, strlen(bytes), "model.bin", &e), -1);
    CHECK_CONTAINS(t, e.msg, "model.bin");
    CHECK_CONTAINS(t, e.msg, frag);
}

static void test_bad_models(struct test_ctx *t)
{
    expect_load_error(t, TOK_SENTENCEPIECE, "this is not a protobuf", "not a SentencePiece model that loads");
    expect_load_error(t, TOK_WORDS, "<pad>\n</s>\nword\n", "expected <unk>");
    expect_load_error(t, TOK_WORDS, "<pad>\n</s>\n<unk>\nred\nred\n", "'red' appears twice");
    expect_load_error(t, TOK_WORDS, "<pad>\n</s>\n<unk>\nRed\n", "upper-case");
    expect_load_error(t, TOK_WORDS, "<pad>\n</s>\n<unk>\n\nred\n", "empty line");
    struct tokenizer tok;
    struct err e;
    CHECK_INT(t, tokenizer_load_file(&tok, TOK_SENTENCEPIECE, "tests/data/no-such.model", &e), -1);
    CHECK_CONTAINS(t, e.msg, "tests/data/no-such.model");
    /* A words file is not a SentencePiece model. */
    char path[600];
    test_write_file(t, "vocab.txt", words, path, sizeof path);
    CHECK_INT(t, tokenizer_load_file(&tok, TOK_SENTENCEPIECE, path, &e), -1);
    CHECK_CONTAINS(t, e.msg, path);
}

int main(int argc, char **argv)
{
    static const struct test tests[] = {
        {"sentinel literals in SentencePiece text", test_spm_sentinels},
        {"sentencepiece ids match spm_encode", test_spm_matches_spm_encode},
        {"sentencepiece decode", test_spm_decode},
        {"word-level tokenizer", test_words},
        {"models that do not load", test_bad_models},
    };
    return test_main(tests, TEST_COUNT(tests), argc, argv);
}
