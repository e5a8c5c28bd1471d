/* lm_vectors — the frozen LM as the BERTScore-style token-vector source (DESIGN §6, §8):
 * the hidden state of every BPE token of a text at a chosen layer (n_layers = the last,
 * after the final LayerNorm; 0 = the input embeddings). It lives in harness/ because
 * metrics/ never includes the LM (DESIGN §1): the harness hands the metric its vectors.
 *
 *   bb_lm_vectors v;
 *   bertstyle_source src = bb_lm_vector_source(&v, model, tok, layer);
 *   opt.vectors = &src;   // v, model and tok must outlive the scoring call
 */
#ifndef BB_LM_VECTORS_H
#define BB_LM_VECTORS_H

#include "metrics/bertscore_style.h"
#include "models/lm/lm_encode.h"

typedef struct bb_lm_vectors {
    lm_text_encoder enc;
} bb_lm_vectors;

bertstyle_source bb_lm_vector_source(bb_lm_vectors *v, lm_model *model, lm_bpe *tok, int layer);

#endif
