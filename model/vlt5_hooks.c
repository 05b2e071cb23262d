/* The PEFT hook table of a model: one slot per linear and per sub-layer output of every block
 * (model/vlt5_hooks.h); an empty slot costs the forward one NULL test. */
#include "model/vlt5_internal.h"

static size_t site_index(int stack, int layer, int sublayer)
{
    return ((size_t)stack * VLT5_MAX_LAYERS + (size_t)layer) * VLT5_N_SUBLAYERS + (size_t)sublayer;
}

void vlt5_set_linear_hook(struct vlt5 *m, const struct vlt5_site *s, struct vlt5_hook *h)
{
    m->linear_hooks[site_index(s->stack, s->layer, s->sublayer) * VLT5_N_LINEARS + (size_t)s->linear] = h;
}

void vlt5_set_output_hook(struct vlt5 *m, const struct vlt5_site *s, struct vlt5_hook *h)
{
    m->output_hooks[site_index(s->stack, s->layer, s->sublayer)] = h;
}

struct vlt5_hook *vlt5_linear_hook(const struct vlt5 *m, int stack, int layer, int sublayer, int linear)
{
    return m->linear_hooks[site_index(stack, layer, sublayer) * VLT5_N_LINEARS + (size_t)linear];
}

struct vlt5_hook *vlt5_output_hook(const struct vlt5 *m, int stack, int layer, int sublayer)
{
    return m->output_hooks[site_index(stack, layer, sublayer)];
}
