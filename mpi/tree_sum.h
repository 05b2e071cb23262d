/* Sums whose rounding does not depend on how their terms are spread over ranks.
 *
 * The terms are n "leaves" (one per chunk of a global batch: a gradient, a block of statistics), each
 * a vector of `len` floats; every rank holds a contiguous run of them, in leaf order, and ranks hold
 * runs in rank order.  The sum is the one of a fixed binary tree over the leaves: node (level l, index
 * i) covers leaves [i 2^l, (i + 1) 2^l) of [0, n) and is its left child plus its right child, or its
 * left child alone when the right one covers no leaf.  Every float addition is therefore the same on
 * any number of ranks, and the result is bit-identical on 1, 2, 3 or 6 ranks.
 *
 * A rank pushes its leaves in order; complete subtrees are summed locally at once, so it keeps at most
 * about 2 log2(n) partial sums whatever n (tree_sum_init sizes them).  tree_sum_finish gathers every
 * rank's partial sums (in slices of at most `slice_floats` floats over all ranks together, so the
 * receive buffer stays that size), and every rank finishes the same tree.  With one rank nothing is
 * sent. */
#ifndef MIXPHM_MPI_TREE_SUM_H
#define MIXPHM_MPI_TREE_SUM_H

#include <mpi.h>
#include <stddef.h>

struct tree_sum {
    size_t cap_len;   /* floats per leaf, at most */
    int cap_nodes;    /* partial sums a rank may hold */
    size_t slice_floats;
    float *node;      /* [cap_nodes, cap_len]: this rank's partial sums, in leaf order */
    int *level, *index; /* [cap_nodes] */
    int top;          /* partial sums held */
    int n_leaves;     /* of the current sum */
    size_t len;       /* of the current sum */
    /* finishing: every rank's partial sums of one slice */
    int *counts, *displs, *fcounts, *fdispls;   /* [size]: partial sums and floats per rank */
    int *all_level, *all_index;                 /* [size * cap_nodes] */
    float *send, *recv, *acc;                   /* [recv_cap], [recv_cap], [cap_nodes, slice] */
    int *acc_level, *acc_index;
    size_t recv_cap;
};

/* The floats' bytes tree_sum_init allocates on each of `size` ranks (the small index arrays aside). */
size_t tree_sum_bytes(int size, int max_leaves, size_t max_len, size_t slice_floats);
/* For sums of at most max_leaves leaves of at most max_len floats over the ranks of `comm`. */
void tree_sum_init(struct tree_sum *s, MPI_Comm comm, int max_leaves, size_t max_len, size_t slice_floats);
void tree_sum_free(struct tree_sum *s);
/* Starts a sum of n_leaves leaves of len floats. */
void tree_sum_begin(struct tree_sum *s, int n_leaves, size_t len);
/* Adds leaf `leaf` (this rank's leaves in increasing order, without gaps). */
void tree_sum_push(struct tree_sum *s, int leaf, const float *x);
/* out [len]: the sum of every rank's leaves, the same bits on every rank. */
void tree_sum_finish(struct tree_sum *s, MPI_Comm comm, float *out);

#endif
