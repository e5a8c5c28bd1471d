/* explain_schema — config schemas of PETER, NRT and retrieval. See explain_schema.h. */
#include "baselines/explain_schema.h"

#include <stddef.h>

const bb_cfg_key bb_peter_config_keys[] = {
    BB_CFG_INT_KEY(bb_peter_config, d_model, 2, 4096, "model width (even, divisible by n_heads)"),
    BB_CFG_INT_KEY(bb_peter_config, n_heads, 1, 64, "attention heads"),
    BB_CFG_INT_KEY(bb_peter_config, n_layers, 1, BB_PETER_MAX_LAYERS, "transformer layers"),
    BB_CFG_INT_KEY(bb_peter_config, d_ff, 1, 65536, "feed-forward width"),
    BB_CFG_DOUBLE_KEY(bb_peter_config, dropout, 0, 0.95, "dropout probability"),
    BB_CFG_DOUBLE_KEY(bb_peter_config, context_weight, 0, 1000, "context-prediction loss weight"),
    BB_CFG_DOUBLE_KEY(bb_peter_config, text_weight, 1e-9, 1000, "explanation NLL weight"),
    BB_CFG_INT_KEY(bb_peter_config, max_words, 1, 1000000, "vocabulary words (train only)"),
    BB_CFG_INT_KEY(bb_peter_config, max_len, 1, 1024, "words per explanation (cut and cap)"),
    BB_CFG_DOUBLE_KEY(bb_peter_config, lr, 1e-9, 10, "Adam learning rate"),
    BB_CFG_DOUBLE_KEY(bb_peter_config, weight_decay, 0, 10, "AdamW decoupled weight decay"),
    BB_CFG_DOUBLE_KEY(bb_peter_config, clip, 0, 1e6, "gradient-norm clip (0 = off)"),
    BB_CFG_INT_KEY(bb_peter_config, batch, 1, 65536, "explanations per step"),
    BB_CFG_INT_KEY(bb_peter_config, max_epochs, 1, 100000, "epochs at most"),
    BB_CFG_INT_KEY(bb_peter_config, patience, 1, 100000, "epochs without a lower valid NLL"),
    BB_CFG_INT_KEY(bb_peter_config, gen_batch, 1, 65536, "pairs decoded together"),
    {0},
};

const bb_cfg_key bb_nrt_config_keys[] = {
    BB_CFG_INT_KEY(bb_nrt_config, emb_dim, 1, 4096, "user, item and word embedding width"),
    BB_CFG_INT_KEY(bb_nrt_config, hidden, 1, 4096, "GRU state and MLP width"),
    BB_CFG_INT_KEY(bb_nrt_config, mlp_layers, 1, 8, "sigmoid layers of the interaction head"),
    BB_CFG_INT_KEY(bb_nrt_config, negatives, 0, 1000, "sampled negatives per positive pair"),
    BB_CFG_DOUBLE_KEY(bb_nrt_config, lambda_r, 0, 1000, "interaction loss weight"),
    BB_CFG_DOUBLE_KEY(bb_nrt_config, lambda_text, 1e-9, 1000, "explanation NLL weight"),
    BB_CFG_INT_KEY(bb_nrt_config, max_words, 1, 1000000, "vocabulary words (train only)"),
    BB_CFG_INT_KEY(bb_nrt_config, max_len, 1, 1024, "words per explanation (cut and cap)"),
    BB_CFG_DOUBLE_KEY(bb_nrt_config, lr, 1e-9, 10, "Adam learning rate"),
    BB_CFG_DOUBLE_KEY(bb_nrt_config, weight_decay, 0, 10, "AdamW decoupled weight decay"),
    BB_CFG_DOUBLE_KEY(bb_nrt_config, clip, 0, 1e6, "gradient-norm clip (0 = off)"),
    BB_CFG_INT_KEY(bb_nrt_config, batch, 1, 65536, "explanations per step"),
    BB_CFG_INT_KEY(bb_nrt_config, max_epochs, 1, 100000, "epochs at most"),
    BB_CFG_INT_KEY(bb_nrt_config, patience, 1, 100000, "epochs without a lower valid NLL"),
    BB_CFG_INT_KEY(bb_nrt_config, gen_batch, 1, 65536, "pairs decoded together"),
    {0},
};

const bb_cfg_key bb_retrieval_config_keys[] = {
    BB_CFG_ENUM_KEY(bb_retrieval_config, variant, "item|user",
                    "copy from the most similar item, or from the nearest user"),
    {0},
};
