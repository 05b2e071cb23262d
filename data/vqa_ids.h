/* Question ids and a hash index over them.  VQA v2 and OK-VQA ids are integers; GQA's are strings
 * with leading zeros that must be kept ("07333408"), so an id is one or the other, never both: the
 * integer 5 and the string "5" are different ids. */
#ifndef MIXPHM_DATA_VQA_IDS_H
#define MIXPHM_DATA_VQA_IDS_H

#include <stddef.h>

#define VQA_ID_TEXT 64
#define VQA_ID_NONE ((size_t)-1)

struct vqa_id {
    const char *str; /* the string id, or NULL for an integer id */
    long long num;   /* the integer id (when str is NULL) */
};

int vqa_id_equal(const struct vqa_id *a, const struct vqa_id *b);
/* "123" for an integer id, "\"07333408\"" (quoted, cut to fit) for a string one. */
void vqa_id_format(const struct vqa_id *id, char out[VQA_ID_TEXT]);

/* Maps ids to positions.  It keeps pointers to the ids it is given: they must outlive it. */
struct vqa_id_index {
    const struct vqa_id **keys; /* [cap], NULL when free */
    size_t *values;             /* [cap] */
    size_t cap, n;
};

void vqa_id_index_init(struct vqa_id_index *ix, size_t expected);
/* Adds id -> value and returns VQA_ID_NONE, or returns the value already there (and adds nothing). */
size_t vqa_id_index_put(struct vqa_id_index *ix, const struct vqa_id *id, size_t value);
/* The value of id, or VQA_ID_NONE. */
size_t vqa_id_index_get(const struct vqa_id_index *ix, const struct vqa_id *id);
void vqa_id_index_free(struct vqa_id_index *ix);
/* Initialises ix with n ids (the first at `first`, each next one `stride` bytes further, as in an array
 * of records) mapped to their positions.  Returns VQA_ID_NONE, or the position of the first id that
 * repeats an earlier one, whose position goes to *earlier (ix must be freed either way). */
size_t vqa_id_index_build(struct vqa_id_index *ix, const struct vqa_id *first, size_t n, size_t stride,
                          size_t *earlier);

#endif
