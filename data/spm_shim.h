/* A C interface to libsentencepiece (whose API is C++): load a model from its serialized bytes, encode
 * text to piece ids, decode ids to text.  data/spm_shim.cc is the only C++ in mixphm; everything else
 * reaches SentencePiece through these functions (data/tokenizer.h wraps them further). */
#ifndef MIXPHM_DATA_SPM_SHIM_H
#define MIXPHM_DATA_SPM_SHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct spm;

/* Loads a model from the bytes of a .model file.  NULL on failure, with SentencePiece's reason in
 * `why` (`why_len` bytes). */
struct spm *spm_load(const void *model, size_t n, char *why, size_t why_len);
void spm_free(struct spm *m);
/* Number of pieces in the model (32000 for t5-base's spiece.model). */
int spm_piece_count(const struct spm *m);
/* Id of a piece, or -1 when the model does not have it. */
int spm_piece_id(const struct spm *m, const char *piece);
/* Encodes `text` into *ids (malloc'd, *n entries, no end-of-sequence id).  0, or -1 with `why`. */
int spm_encode(const struct spm *m, const char *text, int **ids, int *n, char *why, size_t why_len);
/* Decodes piece ids to text (malloc'd, NUL-terminated).  0, or -1 with `why`. */
int spm_decode(const struct spm *m, const int *ids, int n, char **text, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
