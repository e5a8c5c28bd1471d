/* lm_vectors — see lm_vectors.h. */
#include "harness/lm_vectors.h"

/* The sink's context is the embedding being filled, so no state is shared between calls. */
static void push_token(void *ctx, const char *token, size_t len, const float *vector) {
    bertstyle_embedding_push(ctx, token, len, vector);
}

static int embed_text(void *ctx, const char *text, size_t len, bertstyle_embedding *out,
                      bb_error *err) {
    (void)err;
    const bb_lm_vectors *v = ctx;
    out->skipped += lm_text_encoder_embed(&v->enc, text, len, push_token, out);
    return BB_OK;
}

bertstyle_source bb_lm_vector_source(bb_lm_vectors *v, lm_model *model, lm_bpe *tok, int layer) {
    v->enc = (lm_text_encoder){model, tok, layer};
    return (bertstyle_source){v, model->arch.d_model, "lm", embed_text};
}
