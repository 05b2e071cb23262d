#include "model/peft/methods.h"

#include <stddef.h>

const char *const peft_method_names[PEFT_METHOD_COUNT + 1] = {
    "full", "bitfit", "lora", "houlsby", "pfeiffer", "compacter", "compacter++", "adamix", "mixphm", NULL};

const char *const peft_routing_names[] = {"none", "mul", "add", "proj", "expand", NULL};
