/* Bottleneck adapters as output hooks (not an API): Houlsby, Pfeiffer, Compacter(++), AdaMix and
 * MixPHM are one module with different settings,
 *
 *     h_a = alpha * up_e( Dropout( act( route( down_e(h), down_e(x_R) ) ) ) ),     out = h + h_a
 *
 * (route: nn/routing.h, the identity without a routing function; dropout: MixPHM's 0.5, only in
 * training; e: the expert of each projection, drawn per layer and pass in training, the merged one at
 * inference).  Placement, projections and activations per method are in adapter.c's adapter_config.
 * Every site keeps what its backward needs; MixPHM's regulariser (regulariser.c) reads the FFN sites'
 * h and h_a and leaves its gradients with respect to them for the hooks' backward. */
#ifndef MIXPHM_MODEL_PEFT_ADAPTER_H
#define MIXPHM_MODEL_PEFT_ADAPTER_H

#include "model/peft/projection.h"

struct adapter_config {
    const char *module;      /* "adapter", "phm_adapter", "ExpertSoup", "phm_adapter_moe" */
    const char *attn_module; /* the self-attention's module name; NULL: FFN sites only */
    const char *down_name, *up_name; /* "adapter_A"/"adapter_B", "down_sampler"/..., "MoA_A"/"MoA_B" */
    int mixture;             /* expert names (".deepspeed_experts.<e>") */
    int phm;                 /* PHM projections with one global S */
    int bottleneck, phm_dim, rank, e_down, e_up;
    int act;                 /* enum activation */
    float dropout, alpha, phm_init_std;
    float red_weight, mi_weight, red_lambda; /* MixPHM's regulariser; 0, 0: none */
};

/* A site's activations of one forward: the fields of struct adapter_site that adapter_sets.c moves
 * in and out as one set (vlt5_sets_alloc's sets, for the adapters). */
struct adapter_acts {
    int ed, eu, B, T, trained, reg_ready;
    float *x, *zd, *zr, *za, *ha, *xv, *cache_d, *cache_u, *cache_v;
};

struct adapter_site {
    struct vlt5_site site;
    struct proj down, up;
    struct adapter_acts *sets; /* [n_sets] kept sets; sets[cur_set] stale while the site holds it */
    int ed, eu;          /* experts of the last training forward */
    int B, T;            /* rows of the last forward: B * T */
    int trained;         /* the last forward was a training pass (its backward is due) */
    float *x;            /* [rows, d] input h (the sub-layer output) */
    float *zd;           /* [rows, b] down(h): x_t */
    float *zr;           /* [rows, b] routed x_t, the activation's input (= zd without routing) */
    float *za;           /* [rows, b] after activation and dropout: up's input */
    float *ha;           /* [rows, d] h_a (regulariser only) */
    float *xv;           /* [max_batch, b] down(x_R) (routing only) */
    float *cache_d, *cache_u, *cache_v; /* PHM caches of down(h), up(z), down(x_R) */
    float *dreg_h, *dreg_ha; /* [rows, d] the regulariser's gradients (FFN sites of MixPHM); one for every
                                set: a set's peft_reg_backward directly precedes its backward */
    int reg_ready;       /* dreg_* belong to the last training forward */
};

struct adapter {
    struct vlt5_hook hook;
    struct peft *pf;
    struct adapter_config c;
    int hS; /* the global PHM rule, -1 */
    int n_sites;
    struct adapter_site *sites;
    struct adapter_site *ffn[2][VLT5_MAX_LAYERS]; /* FFN site of each stack and layer */
    struct adapter_site *attn[2][VLT5_MAX_LAYERS];
    /* backward scratch, sized for the largest call */
    float *g;            /* [rows, d] */
    float *dza, *dzr, *dzd; /* [rows, b] */
    float *dxv;          /* [max_batch, b] */
    float *phm_scratch;
    int32_t *ids;        /* [max T] dropout row ids */
    struct reg_state *reg; /* regulariser.c */
    int n_sets, cur_set;   /* adapter_sets.c */
};

struct adapter_site *adapter_find(struct adapter *A, const struct vlt5_site *s);

/* regulariser.c: the split API of peft.h for an adapter method with red_weight or mi_weight > 0. */
void adapter_reg_bind(struct adapter *A);
void adapter_reg_free(struct adapter *A);
void adapter_reg_sizes(const struct peft *pf, size_t *stats_len, size_t *pooled_width);
void adapter_reg_local(struct peft *pf, const struct vlt5 *m, float *stats, float *pooled);
double adapter_reg_backward(struct peft *pf, const struct vlt5 *m, const float *stats_sum, const float *pooled_all,
                            long global_batch, uint64_t ex0, float *dpooled_all, double *loss_partial);
void adapter_reg_pooled_grad(struct peft *pf, struct vlt5 *m, const float *dpooled_sum, uint64_t ex0);
size_t adapter_reg_keep_size(const struct peft *pf, int B);
void adapter_reg_keep(const struct peft *pf, const struct vlt5 *m, float *kept);
double adapter_reg_kept_mi(struct peft *pf, const float *kept, const float *stats_sum, const float *pooled_all,
                           long global_batch, uint64_t ex0, float *dpooled_all);
/* adapter_sets.c: peft_sets_alloc, peft_set_select and peft_set_bytes for the adapters. */
int adapter_sets_alloc(struct peft *pf, int n, int B);
void adapter_set_select(struct peft *pf, int i);
size_t adapter_set_bytes(const struct peft *pf, int B);
void adapter_sets_free(struct adapter *A);
/* The positions of example b of the last forward that the regulariser (and the analysis) pools over. */
int adapter_reg_tokens(const struct vlt5 *m, int stack, int b);
/* peft_repr_enable and peft_repr_pool of peft.h for the adapter methods. */
int adapter_repr_enable(struct peft *pf, struct err *e);
void adapter_repr_pool(const struct peft *pf, const struct vlt5 *m, int stack, int layer, float *h, float *ha);

#endif
