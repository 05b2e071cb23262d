#include "mpi/tree_sum.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

/* Levels of the tree over n leaves: the smallest L with 2^L >= n. */
static int tree_levels(int n)
{
    int L = 0;
    while ((1L << L) < (long)n)
        L++;
    return L;
}

/* Right children waiting for a left sibling on an earlier rank (rising levels), then left children
 * waiting for a right sibling on a later rank (falling levels). */
static int partial_sums_cap(int max_leaves)
{
    return 2 * (tree_levels(max_leaves < 1 ? 1 : max_leaves) + 1) + 1;
}

/* The receive buffer of a slice: at most slice floats of partial sums plus their headers. */
static size_t receive_cap(int size, int cap_nodes, size_t cap_len, size_t slice_floats)
{
    const size_t all = (size_t)size * (size_t)cap_nodes; /* partial sums of every rank, at most */
    return (slice_floats < all * cap_len ? slice_floats : all * cap_len) + all;
}

size_t tree_sum_bytes(int size, int max_leaves, size_t max_len, size_t slice_floats)
{
    const int cap = partial_sums_cap(max_leaves);
    const size_t len = max_len ? max_len : 1, slice = slice_floats ? slice_floats : 1;
    size_t floats = (size_t)cap * len;
    if (size > 1)
        floats += 2 * receive_cap(size, cap, len, slice) + (size_t)cap * (slice < len ? slice : len);
    return floats * sizeof(float);
}

void tree_sum_init(struct tree_sum *s, MPI_Comm comm, int max_leaves, size_t max_len, size_t slice_floats)
{
    memset(s, 0, sizeof *s);
    int size = 1;
    MPI_Comm_size(comm, &size);
    s->cap_len = max_len ? max_len : 1;
    s->cap_nodes = partial_sums_cap(max_leaves);
    s->slice_floats = slice_floats ? slice_floats : 1;
    s->node = xmalloc((size_t)s->cap_nodes * s->cap_len * sizeof *s->node);
    s->level = xmalloc((size_t)s->cap_nodes * sizeof *s->level);
    s->index = xmalloc((size_t)s->cap_nodes * sizeof *s->index);
    s->acc_level = xmalloc((size_t)s->cap_nodes * sizeof *s->acc_level);
    s->acc_index = xmalloc((size_t)s->cap_nodes * sizeof *s->acc_index);
    if (size > 1) {
        const size_t slice = s->slice_floats < s->cap_len ? s->slice_floats : s->cap_len;
        s->recv_cap = receive_cap(size, s->cap_nodes, s->cap_len, s->slice_floats);
        s->counts = xmalloc((size_t)size * sizeof *s->counts);
        s->displs = xmalloc((size_t)size * sizeof *s->displs);
        s->fcounts = xmalloc((size_t)size * sizeof *s->fcounts);
        s->fdispls = xmalloc((size_t)size * sizeof *s->fdispls);
        s->all_level = xmalloc((size_t)size * (size_t)s->cap_nodes * sizeof *s->all_level);
        s->all_index = xmalloc((size_t)size * (size_t)s->cap_nodes * sizeof *s->all_index);
        s->send = xmalloc(s->recv_cap * sizeof *s->send);
        s->recv = xmalloc(s->recv_cap * sizeof *s->recv);
        s->acc = xmalloc((size_t)s->cap_nodes * slice * sizeof *s->acc);
    }
}

void tree_sum_free(struct tree_sum *s)
{
    free(s->node), free(s->level), free(s->index), free(s->acc_level), free(s->acc_index);
    free(s->counts), free(s->displs), free(s->fcounts), free(s->fdispls), free(s->all_level), free(s->all_index);
    free(s->send), free(s->recv), free(s->acc);
    memset(s, 0, sizeof *s);
}

void tree_sum_begin(struct tree_sum *s, int n_leaves, size_t len)
{
    s->n_leaves = n_leaves;
    s->len = len;
    s->top = 0;
}

/* A stack of partial sums (level[k], index[k], values at val + k * stride, len floats each) after a
 * node was pushed on top: merges and promotes while the tree allows.  Returns the new height. */
static int settle(int *level, int *index, float *val, size_t stride, size_t len, int top, int n_leaves)
{
    const int L = tree_levels(n_leaves);
    while (top > 0) {
        const int l = level[top - 1], i = index[top - 1];
        if (l == L)
            break; /* the root */
        if (i % 2 == 1) { /* a right child: merge with its left sibling if that is below it */
            if (top < 2 || level[top - 2] != l || index[top - 2] != i - 1)
                break;
            float *left = val + (size_t)(top - 2) * stride;
            const float *right = val + (size_t)(top - 1) * stride;
            for (size_t k = 0; k < len; k++)
                left[k] += right[k];
            top--;
            level[top - 1] = l + 1;
            index[top - 1] = (i - 1) / 2;
        } else if (((long)(i + 1) << l) >= (long)n_leaves) { /* a left child without a right sibling */
            level[top - 1] = l + 1;
            index[top - 1] = i / 2;
        } else {
            break; /* its right sibling comes later */
        }
    }
    return top;
}

void tree_sum_push(struct tree_sum *s, int leaf, const float *x)
{
    memcpy(s->node + (size_t)s->top * s->cap_len, x, s->len * sizeof *x);
    s->level[s->top] = 0;
    s->index[s->top] = leaf;
    s->top = settle(s->level, s->index, s->node, s->cap_len, s->len, s->top + 1, s->n_leaves);
}

void tree_sum_finish(struct tree_sum *s, MPI_Comm comm, float *out)
{
    int size = 1;
    MPI_Comm_size(comm, &size);
    if (s->n_leaves == 0 || s->len == 0) {
        memset(out, 0, s->len * sizeof *out);
        return;
    }
    if (size == 1) { /* every leaf was here: the stack is the root */
        memcpy(out, s->node, s->len * sizeof *out);
        return;
    }
    int *held = s->counts; /* partial sums per rank */
    MPI_Allgather(&s->top, 1, MPI_INT, held, 1, MPI_INT, comm);
    int total = 0;
    for (int r = 0; r < size; r++)
        s->displs[r] = total, total += held[r];
    MPI_Allgatherv(s->level, s->top, MPI_INT, s->all_level, held, s->displs, MPI_INT, comm);
    MPI_Allgatherv(s->index, s->top, MPI_INT, s->all_index, held, s->displs, MPI_INT, comm);
    size_t slice = s->slice_floats / (size_t)total;
    if (slice < 1)
        slice = 1;
    if (slice > s->len)
        slice = s->len;
    int *fcounts = s->fcounts, *fdispls = s->fdispls;
    for (size_t s0 = 0; s0 < s->len; s0 += slice) {
        const size_t sl = s->len - s0 < slice ? s->len - s0 : slice;
        for (int k = 0; k < s->top; k++)
            memcpy(s->send + (size_t)k * sl, s->node + (size_t)k * s->cap_len + s0, sl * sizeof *s->send);
        for (int r = 0; r < size; r++)
            fcounts[r] = held[r] * (int)sl, fdispls[r] = s->displs[r] * (int)sl;
        MPI_Allgatherv(s->send, s->top * (int)sl, MPI_FLOAT, s->recv, fcounts, fdispls, MPI_FLOAT, comm);
        /* Every rank finishes the same tree from the same partial sums, in leaf order. */
        int top = 0;
        for (int k = 0; k < total; k++) {
            memcpy(s->acc + (size_t)top * sl, s->recv + (size_t)k * sl, sl * sizeof *s->acc);
            s->acc_level[top] = s->all_level[k];
            s->acc_index[top] = s->all_index[k];
            top = settle(s->acc_level, s->acc_index, s->acc, sl, sl, top + 1, s->n_leaves);
        }
        memcpy(out + s0, s->acc, sl * sizeof *out); /* top == 1: the root */
    }
}
