/* lm_corpus — the LM's pretraining text under a zero-shot split (DESIGN §2, §6).
 *
 * Training text: the titles, user/item summaries and explanations of the split's TRAIN rows
 * only, exactly the "training text sources" of datasets/train_text.h (a title or summary is
 * allowed iff some train row carries it). The leakage check of datasets/ runs on it and a
 * leak is an error. Validation text: the explanations of the VALID rows that are not
 * themselves training texts (nothing of a test row is ever read).
 *
 * Texts are used trimmed of ASCII whitespace at both ends; as token streams each text is
 * "<bos> text <eos>" (lm_corpus_stream), concatenated in corpus order.
 *
 * Ownership: an lm_corpus owns the explanations table, the split and the text lists (whose
 * strings point into the table); lm_corpus_free releases all of it.
 */
#ifndef LM_CORPUS_H
#define LM_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"
#include "datasets/split.h"
#include "datasets/train_text.h"
#include "models/base/bb_error.h"
#include "models/lm/lm_bpe.h"

typedef struct lm_corpus {
    bb_explanations ex;
    bb_split split;
    bb_train_texts sources; /* the allowed training texts */
    const char **train;     /* trimmed views: train[i] has train_len[i] bytes */
    size_t *train_len, n_train;
    const char **valid;
    size_t *valid_len, n_valid;
    bb_leakage_report leakage;
    uint64_t hash; /* of the training texts, for manifests and resume checks */
    size_t train_bytes;
} lm_corpus;

/* Reads DIR/explanations.csv and the split file; split_path NULL makes the default
 * zero-shot split (datasets/split.h) from seed instead. */
int lm_corpus_build(const char *data_dir, const char *split_path, uint64_t seed, lm_corpus *out,
                    bb_error *err);
void lm_corpus_free(lm_corpus *c);

/* "<bos> text <eos>" for every text, appended to out. */
void lm_corpus_stream(lm_bpe *tok, const char *const *texts, const size_t *lens, size_t n,
                      lm_ids *out);

#endif
