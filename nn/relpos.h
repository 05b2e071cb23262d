/* T5's bucketed relative position bias.
 *
 * relative_position = key position - query position.  Bidirectional (encoder): half the buckets for
 * keys after the query; causal (decoder): only keys at or before the query count, later ones get
 * bucket 0 (they are masked anyway).  Distances below half of the remaining buckets get one bucket
 * each; larger ones share logarithmically sized buckets up to max_distance:
 *     bucket = max_exact + trunc( log(n / max_exact) / log(max_distance / max_exact) * (nb - max_exact) )
 * computed in float32 exactly as HF T5's _relative_position_bucket does (the truncation makes the
 * precision matter at the bucket edges).  The bias of head h is table[bucket, h], table [nb, H]. */
#ifndef MIXPHM_NN_RELPOS_H
#define MIXPHM_NN_RELPOS_H

#define T5_REL_BUCKETS 32
#define T5_REL_MAX_DISTANCE 128

int relpos_bucket(int relative_position, int bidirectional, int num_buckets, int max_distance);

/* bias [H, Tq, Tk]: for i < nq, j < nk, bias[h, i, j] = table[bucket(j - (q0 + i)), h]; every other
 * entry is 0 (the encoder biases only text-text pairs: nq = nk = text length). */
void relpos_bias_forward(float *bias, const float *table, int H, int Tq, int Tk, int nq, int nk, int q0,
                         int bidirectional, int num_buckets, int max_distance);
/* dtable [nb, H] += the sum of dbias [H, Tq, Tk] over the entries that used each bucket. */
void relpos_bias_backward(float *dtable, const float *dbias, int H, int Tq, int Tk, int nq, int nk, int q0,
                          int bidirectional, int num_buckets, int max_distance);

#endif
