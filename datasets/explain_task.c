/* explain_task — see explain_task.h. */
#include "datasets/explain_task.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"

void bb_explain_output_init(bb_explain_output *out, const bb_split *split) {
    memset(out, 0, sizeof *out);
    out->n = split->n_test;
    out->row = bb_calloc(out->n ? out->n : 1, sizeof *out->row);
    out->generated = bb_calloc(out->n ? out->n : 1, sizeof *out->generated);
    size_t k = 0;
    for (size_t r = 0; r < split->n && k < out->n; r++)
        if (split->part[r] == BB_SPLIT_TEST) out->row[k++] = r;
    out->best_epoch = -1;
}

void bb_explain_output_free(bb_explain_output *out) {
    if (!out->generated) return;
    for (size_t i = 0; i < out->n; i++) free(out->generated[i]);
    free(out->generated);
    free(out->row);
    memset(out, 0, sizeof *out);
}
