#include "data/prompt.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name, *q_prefix, *q_suffix, *a_prefix;
} prompts[PROMPT_COUNT] = {
    [PROMPT_VLT5] = {"vlt5", "vqa: ", "", ""},
    [PROMPT_FEWVLM] = {"fewvlm", "question: ", " answer: <extra_id_0>", "<extra_id_0> "},
};

static int valid(int kind)
{
    return kind >= 0 && kind < PROMPT_COUNT;
}

const char *prompt_name(int kind)
{
    return valid(kind) ? prompts[kind].name : "?";
}

int prompt_from_name(const char *name)
{
    for (int k = 0; k < PROMPT_COUNT; k++)
        if (strcmp(name, prompts[k].name) == 0)
            return k;
    return -1;
}

const char *prompt_question_prefix(int kind)
{
    return valid(kind) ? prompts[kind].q_prefix : "";
}

const char *prompt_question_suffix(int kind)
{
    return valid(kind) ? prompts[kind].q_suffix : "";
}

const char *prompt_answer_prefix(int kind)
{
    return valid(kind) ? prompts[kind].a_prefix : "";
}

int prompt_question(int kind, const char *question, char *out, size_t n)
{
    return snprintf(out, n, "%s%s%s", prompt_question_prefix(kind), question, prompt_question_suffix(kind));
}
