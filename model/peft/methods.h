/* The PEFT methods and routing functions by number: the one list that the configuration's
 * peft.method and peft.routing values, the sweep and the methods themselves share. */
#ifndef MIXPHM_MODEL_PEFT_METHODS_H
#define MIXPHM_MODEL_PEFT_METHODS_H

enum peft_method {
    PEFT_FULL,
    PEFT_BITFIT,
    PEFT_LORA,
    PEFT_HOULSBY,
    PEFT_PFEIFFER,
    PEFT_COMPACTER,
    PEFT_COMPACTERPP,
    PEFT_ADAMIX,
    PEFT_MIXPHM,
    PEFT_METHOD_COUNT
};

/* Their names as the configuration spells them, NULL-terminated (model/peft/methods.c). */
extern const char *const peft_method_names[PEFT_METHOD_COUNT + 1];

/* The routing functions of docs/methods.md inside a low-rank bottleneck. */
enum peft_routing { ROUTING_NONE, ROUTING_MUL, ROUTING_ADD, ROUTING_PROJ, ROUTING_EXPAND };

extern const char *const peft_routing_names[];

/* The methods with a low-rank bottleneck that a routing function can act on. */
static inline int peft_method_supports_routing(int method)
{
    return method == PEFT_LORA || method == PEFT_HOULSBY || method == PEFT_PFEIFFER || method == PEFT_MIXPHM;
}

#endif
