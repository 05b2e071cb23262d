/* How the MPI tests split N rows over the ranks in contiguous blocks (mpi/row_blocks.h): evenly, or
 * unevenly with rank 0 holding none and the last rank about half. */
#ifndef MIXPHM_TESTS_SPLIT_ROWS_H
#define MIXPHM_TESTS_SPLIT_ROWS_H

enum split_mode { SPLIT_EVEN, SPLIT_SKEWED };

/* This rank's first row and row count. */
static inline void split_rows(int n, int size, int rank, enum split_mode mode, int *first, int *count)
{
    int pos = 0;
    *first = *count = 0;
    for (int r = 0; r < size; r++) {
        int c;
        if (mode == SPLIT_EVEN || size == 1)
            c = n / size + (r < n % size);
        else if (r == 0)
            c = 0;
        else if (r == size - 1)
            c = n - pos;
        else
            c = (n / 2) / (size - 1); /* ranks 1 .. size-2 share about half, the last takes the rest */
        if (r == rank) {
            *first = pos;
            *count = c;
        }
        pos += c;
    }
}

#endif
