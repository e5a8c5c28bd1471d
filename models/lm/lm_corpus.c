/* lm_corpus — pretraining and validation text from a dataset and a split (see lm_corpus.h). */
#include "models/lm/lm_corpus.h"

#include <stdlib.h>
#include <string.h>

#include "models/base/bb_io.h"
#include "models/lm/lm_hash.h"

static const char *trim(const char *s, size_t *len) {
    size_t n = strlen(s);
    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\v' || *s == '\f'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r' ||
                 s[n - 1] == '\v' || s[n - 1] == '\f'))
        n--;
    *len = n;
    return s;
}

int lm_corpus_build(const char *data_dir, const char *split_path, uint64_t seed, lm_corpus *out,
                    bb_error *err) {
    memset(out, 0, sizeof *out);
    char *ex_path = bb_path_join(data_dir, "explanations.csv");
    int rc = bb_explanations_load(ex_path, &out->ex, err);
    free(ex_path);
    if (rc != BB_OK) return rc;
    if (split_path)
        rc = bb_split_load(split_path, &out->ex, &out->split, err);
    else
        rc = bb_split_make(&out->ex, BB_SPLIT_DEFAULT_ZERO_SHOT, seed, &out->split, err);
    if (rc != BB_OK) {
        bb_explanations_free(&out->ex);
        return rc;
    }
    bb_train_texts_build(&out->ex, &out->split, &out->sources);
    if (bb_leakage_check(&out->ex, &out->split, &out->leakage, err) != BB_OK) {
        lm_corpus_free(out);
        return bb_fail_prefix(err, "LM pretraining corpus");
    }
    out->train = bb_malloc((out->sources.n + 1) * sizeof *out->train);
    out->train_len = bb_malloc((out->sources.n + 1) * sizeof *out->train_len);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < out->sources.n; i++) {
        size_t n;
        const char *s = trim(out->sources.texts[i], &n);
        if (!n) continue;
        out->train[out->n_train] = s;
        out->train_len[out->n_train++] = n;
        out->train_bytes += n;
        /* Order-sensitive chain: the stream order matters to training. */
        h = lm_hash_bytes(s, n) ^ (h * 0x100000001b3ULL);
    }
    out->hash = h;
    out->valid = bb_malloc((out->ex.n + 1) * sizeof *out->valid);
    out->valid_len = bb_malloc((out->ex.n + 1) * sizeof *out->valid_len);
    lm_strmap seen;
    lm_strmap_init(&seen, 256);
    for (size_t r = 0; r < out->ex.n; r++) {
        if (out->split.part[r] != BB_SPLIT_VALID) continue;
        const char *text = out->ex.rows[r].explanation;
        size_t n;
        const char *s = trim(text, &n);
        if (!n || bb_train_texts_find(&out->sources, text) >= 0) continue;
        int added;
        lm_strmap_upsert(&seen, s, n, 0, &added);
        if (!added) continue;
        out->valid[out->n_valid] = s;
        out->valid_len[out->n_valid++] = n;
    }
    lm_strmap_free(&seen);
    return BB_OK;
}

void lm_corpus_free(lm_corpus *c) {
    free(c->train);
    free(c->train_len);
    free(c->valid);
    free(c->valid_len);
    bb_train_texts_free(&c->sources);
    bb_split_free(&c->split);
    bb_explanations_free(&c->ex);
    memset(c, 0, sizeof *c);
}

void lm_corpus_stream(lm_bpe *tok, const char *const *texts, const size_t *lens, size_t n,
                      lm_ids *out) {
    int32_t bos = lm_bpe_special(tok, LM_BOS), eos = lm_bpe_special(tok, LM_EOS);
    for (size_t i = 0; i < n; i++) {
        lm_ids_push(out, bos);
        lm_bpe_encode(tok, texts[i], lens ? lens[i] : strlen(texts[i]), out);
        lm_ids_push(out, eos);
    }
}
